"""Mask utilities: boxes, the reference track script's box, connected components, COCO RLE.

All functions are pure and accept any array whose non-zero pixels are the mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from .base import Box


def _u8(mask: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(mask) != 0, dtype=np.uint8)


def mask_box(mask: np.ndarray) -> Box | None:
    """Inclusive ``(x_min, y_min, x_max, y_max)`` of the mask's extreme pixels, or ``None`` when empty."""
    m = np.asarray(mask) != 0
    cols = np.flatnonzero(m.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(m.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def reference_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box the UBnormal reference track script writes: ``(x, y, x + w, y + h)`` of the largest contour.

    Contours come from ``cv2.findContours(RETR_TREE)``; "largest" is the greatest ``cv2.contourArea`` (the
    first one on ties, as Python's ``max`` picks). Returns ``None`` when the mask is empty. Note the exclusive
    right/bottom edge and that other parts of a split object are ignored: this reproduces the script, it is
    not :func:`mask_box`.
    """
    m = _u8(mask)
    contours, _ = cv2.findContours(m, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(largest)
    return int(x), int(y), int(x + w), int(y + h)


def connected_components(mask: np.ndarray, connectivity: int = 8) -> list[np.ndarray]:
    """The connected components of a mask as ``bool`` masks, in OpenCV's label order (raster scan)."""
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, not {connectivity}")
    n, labels = cv2.connectedComponents(_u8(mask), connectivity=connectivity)
    return [labels == k for k in range(1, n)]


def rle_encode(mask: np.ndarray) -> dict:
    """COCO RLE of a mask: ``{"size": [h, w], "counts": str}`` (compressed counts, JSON-ready)."""
    m = np.asfortranarray(_u8(mask))
    rle = coco_mask.encode(m)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def rle_decode(rle: dict) -> np.ndarray:
    """``bool`` (H, W) mask from a COCO RLE whose ``counts`` is a str or bytes."""
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return coco_mask.decode({"size": list(rle["size"]), "counts": counts}).astype(bool)


def masks_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (0.0 when both are empty)."""
    a = np.asarray(a) != 0
    b = np.asarray(b) != 0
    union = np.count_nonzero(a | b)
    return 0.0 if union == 0 else np.count_nonzero(a & b) / union
