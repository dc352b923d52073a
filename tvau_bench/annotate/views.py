"""Images sent to annotators: marked frames (stage 1) and target-focused views (stage 2), JPEG-encoded.

Stage-2 views suppress the background outside the target's mask (darkened or blurred), crop around it with a
margin and outline it, as the paper's anomaly-focused refinement does. Every view comes with its mask in view
coordinates so a model-free annotator can read the same pixels a VLM is shown.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..sources.masks import mask_box

OUTLINE_BGR = (0, 255, 0)  # pure green: no palette colour is this saturated, so it is easy to tell apart
LABEL_BGR = (255, 255, 255)


def resize_max(img: np.ndarray, max_side: int, *, nearest: bool = False) -> np.ndarray:
    """Scale so the longer side is at most ``max_side`` (never enlarges)."""
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def encode_jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    """Baseline JPEG bytes of a BGR image (deterministic for a given OpenCV build)."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV only fails on empty images
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def _outline(img: np.ndarray, mask: np.ndarray, thickness: int) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, OUTLINE_BGR, thickness)


def marked_frame(frame: np.ndarray, masks: dict[int, np.ndarray], *, thickness: int = 2) -> np.ndarray:
    """The frame with every target outlined and labelled with its number (set-of-marks prompting)."""
    out = frame.copy()
    for _, m in sorted(masks.items()):
        _outline(out, m, thickness)
    for oid, m in sorted(masks.items()):
        box = mask_box(m)
        if box is None:
            continue
        org = (box[0], max(10, box[1] - 3))
        cv2.putText(out, str(oid), org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, str(oid), org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, LABEL_BGR, 1, cv2.LINE_AA)
    return out


def suppress_background(
    frame: np.ndarray, mask: np.ndarray, *, mode: str = "darken", darken: float = 0.3, blur_px: int = 21
) -> np.ndarray:
    """Background outside ``mask`` darkened (kept at ``darken`` brightness) or blurred; the target untouched."""
    m = np.asarray(mask, dtype=bool)
    if mode == "blur":
        k = blur_px | 1
        back = cv2.GaussianBlur(frame, (k, k), 0)
    else:
        back = (frame.astype(np.float32) * darken).round().astype(np.uint8)
    out = back.copy()
    out[m] = frame[m]
    return out


def target_view(
    frame: np.ndarray,
    mask: np.ndarray,
    *,
    margin: float = 0.25,
    side: int = 224,
    mode: str = "darken",
    darken: float = 0.3,
    blur_px: int = 21,
    outline: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A crop around the target (``margin`` × box size on each side), background suppressed, scaled so the longer
    side is ``side`` px, outlined. Returns ``(view BGR, view mask bool)``."""
    m = np.asarray(mask, dtype=bool)
    box = mask_box(m)
    if box is None:
        raise ValueError("target_view() needs a non-empty mask")
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    mx, my = round(margin * bw) + 1, round(margin * bh) + 1
    h, w = m.shape
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx + 1), min(h, y1 + my + 1)
    img = suppress_background(frame, m, mode=mode, darken=darken, blur_px=blur_px)[cy0:cy1, cx0:cx1]
    vm = m[cy0:cy1, cx0:cx1]
    scale = side / max(img.shape[:2])
    size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
    interp = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    img = cv2.resize(img, size, interpolation=interp)
    vm = cv2.resize(vm.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    if outline:
        _outline(img, vm, max(1, side // 112))
    return img, vm


def track_view(
    frame: np.ndarray,
    mask: np.ndarray,
    *,
    mode: str = "darken",
    darken: float = 0.3,
    blur_px: int = 21,
    outline: bool = True,
    thickness: int = 2,
) -> np.ndarray:
    """The whole frame with the background suppressed and the target outlined (where it is, for motion)."""
    img = suppress_background(frame, mask, mode=mode, darken=darken, blur_px=blur_px)
    if outline:
        _outline(img, np.asarray(mask, dtype=bool), thickness)
    return img
