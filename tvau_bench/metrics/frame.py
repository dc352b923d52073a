"""Frame-level AUC as the UBnormal reference script computes it (``scripts/compute_auc_score.py``).

- micro AUC: ``roc_auc_score`` over all frames of all videos concatenated (videos in sorted name order);
- macro AUC, default convention ``reference-padded``: per video ``roc_auc_score([0]+labels+[1], [0]+scores+[1])``,
  plain mean over all videos (normal-only videos included). The padding makes the result depend on the score
  scale; scores are expected in [0, 1) and a warning says when they are not;
- macro AUC, convention ``unpadded``: per-video AUC without padding, single-class videos skipped (and listed);
- optional temporal smoothing ``gaussian_filter1d(scores, sigma, mode="constant")`` (the reference's commented
  line) applied per video before both averages, named with its sigma in the result. Off by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from ..errors import TvauError
from .io import warn

CONVENTIONS = ("reference-padded", "unpadded")


@dataclass(frozen=True)
class FrameAucResult:
    """Micro and macro frame AUC with the convention and smoothing that produced them."""

    micro_auc: float
    macro_auc: float
    convention: str
    smoothing: str
    num_videos: int
    num_frames: int
    per_video: dict[str, float] = field(repr=False)
    skipped_videos: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result (per-video AUCs included)."""
        return {
            "micro_auc": self.micro_auc,
            "macro_auc": self.macro_auc,
            "convention": self.convention,
            "smoothing": self.smoothing,
            "num_videos": self.num_videos,
            "num_frames": self.num_frames,
            "skipped_videos": list(self.skipped_videos),
            "per_video_auc": dict(self.per_video),
        }


def smooth_scores(scores: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian temporal smoothing as in the reference's commented line (``mode="constant"``)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.asarray(scores, dtype=np.float64), float(sigma), mode="constant")


def smoothing_name(sigma: float | None) -> str:
    """The name recorded next to every AUC: ``none`` or ``gaussian_filter1d(sigma=S, mode=constant)``."""
    return "none" if sigma is None else f"gaussian_filter1d(sigma={float(sigma):g}, mode=constant)"


def video_auc(labels: np.ndarray, scores: np.ndarray, *, padded: bool = True) -> float | None:
    """One video's AUC; padded adds a normal frame scored 0 and an abnormal one scored 1. ``None`` if undefined."""
    y = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    if padded:
        y = np.concatenate(([0], y, [1]))
        s = np.concatenate(([0.0], s, [1.0]))
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, s))


def frame_auc(
    labels: Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    *,
    convention: str = "reference-padded",
    smoothing_sigma: float | None = None,
) -> FrameAucResult:
    """Micro and macro frame AUC over the videos of ``labels`` (``scores`` must hold the same videos, same lengths)."""
    if convention not in CONVENTIONS:
        raise TvauError(
            f"unknown AUC convention {convention!r}", field="convention", fix=f"use one of {CONVENTIONS}"
        )
    if smoothing_sigma is not None and not (float(smoothing_sigma) > 0):
        raise TvauError(f"smoothing sigma must be > 0, not {smoothing_sigma}", field="smoothing_sigma")
    missing = sorted(set(labels) ^ set(scores))
    if missing:
        side = "scores" if missing[0] in labels else "labels"
        raise TvauError(
            f"video {missing[0]!r} has no {side}", fix="give labels and scores for the same videos"
        )
    videos = sorted(labels)
    if not videos:
        raise TvauError("no videos to score")
    ys, ss = [], []
    for v in videos:
        y = np.asarray(labels[v]).reshape(-1)
        s = np.asarray(scores[v], dtype=np.float64).reshape(-1)
        if len(y) != len(s):
            raise TvauError(
                f"video {v!r}: {len(y)} labels but {len(s)} scores", fix="write one score per frame"
            )
        if not np.isfinite(s).all():
            raise TvauError(f"video {v!r}: a score is not finite")
        if smoothing_sigma is not None:
            s = smooth_scores(s, smoothing_sigma)
        ys.append(y)
        ss.append(s)
    all_y, all_s = np.concatenate(ys), np.concatenate(ss)
    if len(np.unique(all_y)) < 2:
        raise TvauError(
            "micro AUC is undefined: every frame has the same label", fix="score a test set with both"
        )
    micro = float(roc_auc_score(all_y, all_s))

    padded = convention == "reference-padded"
    if padded and all_s.size and (all_s.min() < 0 or all_s.max() >= 1):
        warn("frame scores outside [0, 1): the padded macro AUC depends on the score scale")
    per_video: dict[str, float] = {}
    skipped: list[str] = []
    for v, y, s in zip(videos, ys, ss, strict=True):
        a = video_auc(y, s, padded=padded)
        if a is None:
            skipped.append(v)
        else:
            per_video[v] = a
    if not per_video:
        raise TvauError(
            "macro AUC is undefined: every video has a single class", fix="use --convention reference-padded"
        )
    macro = float(np.mean([per_video[v] for v in videos if v in per_video]))
    return FrameAucResult(
        micro_auc=micro,
        macro_auc=macro,
        convention=convention,
        smoothing=smoothing_name(smoothing_sigma),
        num_videos=len(videos),
        num_frames=len(all_y),
        per_video=per_video,
        skipped_videos=tuple(skipped),
    )
