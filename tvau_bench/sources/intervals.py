"""Inclusive frame intervals ``(start, end)``: merging, and conversion to and from per-frame labels."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .base import Interval


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of inclusive intervals; touching intervals ((0, 4), (5, 9)) merge."""
    out: list[list[int]] = []
    for s, e in sorted((int(s), int(e)) for s, e in intervals):
        if out and s <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def labels_from_intervals(intervals: Iterable[Interval], num_frames: int) -> np.ndarray:
    """(num_frames,) uint8 labels, 1 inside any interval (intervals are clipped to the video)."""
    labels = np.zeros(num_frames, dtype=np.uint8)
    for s, e in intervals:
        labels[max(s, 0) : min(e, num_frames - 1) + 1] = 1
    return labels


def intervals_from_labels(labels: np.ndarray) -> list[Interval]:
    """Inclusive runs of non-zero labels."""
    return intervals_from_frames(np.flatnonzero(np.asarray(labels) > 0).tolist())


def intervals_from_frames(frames: Iterable[int]) -> list[Interval]:
    """Inclusive runs of consecutive frames."""
    return merge_intervals((f, f) for f in frames)
