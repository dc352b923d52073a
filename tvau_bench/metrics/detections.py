"""Pixel heatmaps to scored boxes (for RBDC/TBDC) and frame scores (for frame AUC), by an explicit rule.

The rule (``METRICS.md``; not defined by the reference scripts), applied to each frame's ``H x W`` heatmap:
for every threshold level, the pixels with ``value >= level`` are split into 8-connected components
(``cv2.connectedComponentsWithStats``); components smaller than ``min_area`` pixels are dropped; each remaining
component gives one box = its bounds and score = the heatmap's maximum inside the component; optionally a greedy
non-maximum suppression (score descending, inclusive IoU > ``nms_iou`` suppressed) removes overlapping boxes.

Box convention: ``box="reference"`` (default) writes ``x_max = x + w``, ``y_max = y + h``, the convention of the
ground-truth tracks the UBnormal reference script writes, so detections and tracks are compared like with
like; ``box="inclusive"`` writes the extreme pixels (``x + w - 1``).

Frame score = ``max`` of the frame's heatmap (``frame_pooling="mean"`` is the named alternative).
The rule's parameters are written as ``detection_rule.json`` next to every output folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._io import write_json
from ..errors import TvauError
from .io import write_detections_file, write_values_file

RULE_FILE = "detection_rule.json"
BOX_CONVENTIONS = ("reference", "inclusive")
POOLINGS = ("max", "mean")


@dataclass(frozen=True)
class DetectionRule:
    """Parameters of the heatmap-to-detection rule; recorded next to every output."""

    thresholds: tuple[float, ...] = (0.5,)
    connectivity: int = 8
    min_area: int = 1
    box: str = "reference"
    nms_iou: float | None = None
    frame_pooling: str = "max"

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if not self.thresholds or not all(np.isfinite(self.thresholds)):
            raise TvauError("the rule needs at least one finite threshold level", field="thresholds")
        if self.connectivity not in (4, 8):
            raise TvauError(f"connectivity must be 4 or 8, not {self.connectivity}", field="connectivity")
        if self.min_area < 1:
            raise TvauError(f"min_area must be >= 1, not {self.min_area}", field="min_area")
        if self.box not in BOX_CONVENTIONS:
            raise TvauError(
                f"unknown box convention {self.box!r}", field="box", fix=f"use one of {BOX_CONVENTIONS}"
            )
        if self.nms_iou is not None and not 0 <= self.nms_iou <= 1:
            raise TvauError(f"nms_iou must lie in [0, 1], not {self.nms_iou}", field="nms_iou")
        if self.frame_pooling not in POOLINGS:
            raise TvauError(
                f"unknown pooling {self.frame_pooling!r}", field="frame_pooling", fix=f"use {POOLINGS}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters, with the meaning of each written out."""
        d = asdict(self)
        d["thresholds"] = list(self.thresholds)
        d["pixel_rule"] = "value >= threshold"
        d["box_meaning"] = (
            "x_max = x + w (reference tracks)" if self.box == "reference" else "inclusive extreme pixels"
        )
        d["score"] = "max of the heatmap inside the component"
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DetectionRule:
        """Read back a rule written by :meth:`to_dict` (descriptive keys are ignored)."""
        keys = {"thresholds", "connectivity", "min_area", "box", "nms_iou", "frame_pooling"}
        return cls(**{k: v for k, v in d.items() if k in keys})


def _check_heatmap(hm: np.ndarray, video: str, frame: int) -> np.ndarray:
    a = np.asarray(hm)
    if a.ndim != 2 or a.dtype.kind not in "biuf":
        raise TvauError(
            f"video {video!r} frame {frame}: heatmap must be a 2-D numeric array, got {a.shape} {a.dtype}"
        )
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise TvauError(f"video {video!r} frame {frame}: heatmap holds NaN or infinite values")
    return a


def nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS on ``(n, 5)`` rows ``x0,y0,x1,y1,score`` (inclusive IoU > ``iou`` suppressed)."""
    order = np.argsort(-boxes[:, 4], kind="stable")
    keep: list[int] = []
    for i in order:
        if keep:
            k = boxes[keep, :4]
            b = boxes[i, :4]
            xa, ya = np.maximum(k[:, 0], b[0]), np.maximum(k[:, 1], b[1])
            xb, yb = np.minimum(k[:, 2], b[2]), np.minimum(k[:, 3], b[3])
            inter = np.maximum(0.0, xb - xa + 1) * np.maximum(0.0, yb - ya + 1)
            area_k = (k[:, 2] - k[:, 0] + 1) * (k[:, 3] - k[:, 1] + 1)
            area_b = (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
            if np.any(inter / (area_k + area_b - inter) > iou):
                continue
        keep.append(int(i))
    return np.asarray(sorted(keep), dtype=np.int64)


def detect_frame(heatmap: np.ndarray, rule: DetectionRule) -> np.ndarray:
    """Scored boxes of one frame: ``(n, 5)`` rows ``x_min,y_min,x_max,y_max,score`` (threshold, then label order)."""
    from scipy.ndimage import maximum

    hm = np.asarray(heatmap, dtype=np.float64)
    out = []
    extra = 0 if rule.box == "reference" else -1
    for level in rule.thresholds:
        binary = np.ascontiguousarray(hm >= level, dtype=np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=rule.connectivity)
        if n <= 1:
            continue
        ids = np.arange(1, n)
        ids = ids[stats[1:, cv2.CC_STAT_AREA] >= rule.min_area]
        if not len(ids):
            continue
        peak = np.asarray(maximum(hm, labels, index=ids), dtype=np.float64)
        st = stats[ids].astype(np.float64)
        x, y = st[:, cv2.CC_STAT_LEFT], st[:, cv2.CC_STAT_TOP]
        w, h = st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT]
        out.append(np.stack([x, y, x + w + extra, y + h + extra, peak], axis=1))
    boxes = np.concatenate(out) if out else np.zeros((0, 5))
    if rule.nms_iou is not None and len(boxes) > 1:
        boxes = boxes[nms(boxes, rule.nms_iou)]
    return boxes


def frame_score(heatmap: np.ndarray, rule: DetectionRule) -> float:
    """The frame's anomaly score by the rule's pooling (``max`` by default)."""
    hm = np.asarray(heatmap, dtype=np.float64)
    return float(hm.max() if rule.frame_pooling == "max" else hm.mean())


def detect_video(
    heatmaps: Iterable[np.ndarray], rule: DetectionRule, *, video: str = "?"
) -> tuple[np.ndarray, np.ndarray]:
    """Stream a video's heatmaps (one ``H x W`` array per frame, frames 0, 1, ...).

    Returns detections ``(n, 6)`` rows ``frame_id,x_min,y_min,x_max,y_max,score`` and frame scores ``(T,)``.
    """
    dets: list[np.ndarray] = []
    scores: list[float] = []
    for t, hm in enumerate(heatmaps):
        a = _check_heatmap(hm, video, t)
        b = detect_frame(a, rule)
        if len(b):
            dets.append(np.concatenate([np.full((len(b), 1), float(t)), b], axis=1))
        scores.append(frame_score(a, rule))
    rows = np.concatenate(dets) if dets else np.zeros((0, 6))
    return rows, np.asarray(scores, dtype=np.float64)


def write_rule(directory: str | Path, rule: DetectionRule) -> Path:
    """Write ``detection_rule.json`` in ``directory``."""
    path = Path(directory) / RULE_FILE
    write_json(path, rule.to_dict())
    return path


def export_heatmaps(
    videos: Mapping[str, Iterable[np.ndarray]] | Iterable[tuple[str, Iterable[np.ndarray]]],
    out_dir: str | Path,
    rule: DetectionRule,
) -> dict[str, int]:
    """Write ``out_dir/detections/{video}.txt`` and ``out_dir/scores/{video}.txt`` for each video's heatmaps.

    Heatmaps are consumed one frame at a time; ``detection_rule.json`` is written in both folders.
    Returns counts: videos, frames, detections.
    """
    out = Path(out_dir)
    det_dir, score_dir = out / "detections", out / "scores"
    det_dir.mkdir(parents=True, exist_ok=True)
    score_dir.mkdir(parents=True, exist_ok=True)
    write_rule(det_dir, rule)
    write_rule(score_dir, rule)
    items = videos.items() if isinstance(videos, Mapping) else videos
    counts = {"videos": 0, "frames": 0, "detections": 0}
    for name, heatmaps in items:
        rows, scores = detect_video(heatmaps, rule, video=name)
        write_detections_file(det_dir / f"{name}.txt", rows)
        write_values_file(score_dir / f"{name}.txt", scores)
        counts["videos"] += 1
        counts["frames"] += len(scores)
        counts["detections"] += len(rows)
    return counts
