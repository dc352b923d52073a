"""Per-video object scans shared by the readers: box tables and the reference track script's rows.

Both layouts answer ``object_boxes`` and ``reference_tracks`` the same way once they can say which objects a
frame holds; only that per-frame lookup (id maps for UBnormal, linked components for ShanghaiTech) differs.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Collection, Iterable, Sequence

import numpy as np

from .base import Box, TrackRow
from .masks import reference_box


def box_table(frames: Iterable[int], boxes_at: Callable[[int], dict[int, Box]]) -> dict[int, np.ndarray]:
    """``{object_id: int32 array of rows (frame, x0, y0, x1, y1)}`` from one call of ``boxes_at`` per frame.

    Numpy rows keep it at 20 bytes per object-frame, so a source can hold it for every video it has touched.
    Rows follow the order of ``frames``.
    """
    rows: dict[int, list[tuple[int, ...]]] = collections.defaultdict(list)
    for frame in frames:
        for oid, box in boxes_at(frame).items():
            rows[oid].append((frame, *box))
    return {oid: np.asarray(r, dtype=np.int32).reshape(-1, 5) for oid, r in rows.items()}


def table_boxes(table: dict[int, np.ndarray], object_id: int) -> dict[int, Box]:
    """``{frame: inclusive box}`` of one object of a :func:`box_table` (empty when the object is not there)."""
    rows = table.get(object_id)
    return {} if rows is None else {int(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def reference_track_rows(
    tracks: Sequence[tuple[int, Iterable[int]]],
    masks_at: Callable[[int, Collection[int]], dict[int, np.ndarray]],
) -> tuple[list[TrackRow], list[tuple[int, int]]]:
    """Track rows as ``create_tracks_for_tbdc_rbdc.py`` draws them (:func:`~.masks.reference_box`).

    ``tracks`` is ``(object_id, frames)`` per track, the track id being its position. ``masks_at(frame, ids)``
    gives the masks of (at least) ``ids`` in ``frame``; each frame is asked once. Returns the rows and the
    ``(object_id, frame)`` pairs skipped because the object has no mask there (absent from the dict or empty).
    """
    spans = [(oid, list(frames)) for oid, frames in tracks]
    wanted: dict[int, set[int]] = collections.defaultdict(set)  # frame -> object ids
    for oid, frames in spans:
        for frame in frames:
            wanted[frame].add(oid)
    boxes: dict[tuple[int, int], tuple[int, int, int, int] | None] = {}
    for frame in sorted(wanted):
        masks = masks_at(frame, wanted[frame])
        for oid in wanted[frame]:
            boxes[frame, oid] = reference_box(masks[oid]) if oid in masks else None
    out: list[TrackRow] = []
    skipped: list[tuple[int, int]] = []
    for track_id, (oid, frames) in enumerate(spans):
        for frame in frames:
            box = boxes[frame, oid]
            if box is None:
                skipped.append((oid, frame))
                continue
            out.append(TrackRow(track_id, frame, *box))
    return out, skipped
