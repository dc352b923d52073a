"""Which frames are looked at: uniform samples over videos, target spans and clips (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def uniform(start: int, end: int, n: int) -> list[int]:
    """``n`` frames spread evenly over ``start..end`` (inclusive, both ends included when n > 1), deduplicated."""
    if end < start or n <= 0:
        return []
    if n == 1:
        return [(start + end) // 2]
    return sorted({int(v) for v in np.round(np.linspace(start, end, n)).astype(int)})


def uniform_from(frames: Sequence[int], n: int) -> list[int]:
    """``n`` evenly spaced members of a sorted frame list (all of them when there are fewer)."""
    if len(frames) <= n:
        return list(frames)
    return [int(frames[i]) for i in uniform(0, len(frames) - 1, n)]


def stage1_frames(
    num_frames: int,
    spans: Iterable[Sequence[int]],
    *,
    per_video: int,
    per_target: int,
    max_frames: int,
) -> list[int]:
    """Frames for stage 1: ``per_video`` uniform frames, plus frames so each target (given as its sorted list of
    visible frames) is seen at least ``per_target`` times; at most ``max_frames`` in all (targets first served in
    the order given)."""
    chosen = set(uniform(0, num_frames - 1, per_video))
    for visible in spans:
        if not visible:
            continue
        have = sum(1 for f in visible if f in chosen)
        if have >= per_target:
            continue
        for f in uniform_from(visible, per_target):
            if len(chosen) >= max_frames:
                break
            chosen.add(f)
    return sorted(chosen)


def within(frames: Sequence[int], intervals: Iterable[Sequence[int]]) -> list[int]:
    """The members of ``frames`` inside any inclusive interval."""
    ivs = list(intervals)
    return [f for f in frames if any(s <= f <= e for s, e in ivs)]
