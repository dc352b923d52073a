"""The reader contract every source layout implements (UBnormal, ShanghaiTech, and the synthetic output of both).

Conventions used across the package:
- frames are 0-based; intervals ``(start, end)`` are inclusive at both ends;
- images are OpenCV BGR ``uint8`` arrays of shape (H, W, 3); masks are ``bool`` (H, W);
- a *box* is ``(x_min, y_min, x_max, y_max)`` in inclusive pixel coordinates (the mask's extreme pixels);
  the reference RBDC/TBDC track rows instead use ``x_max = x + w`` (see :func:`reference_track_rows`);
- splits are named ``train``, ``validation`` and ``test`` whatever the source calls them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

Box = tuple[int, int, int, int]
Interval = tuple[int, int]
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class SourceObject:
    """One target of a video: an object id of the id maps (UBnormal) or a linked mask component (ShanghaiTech)."""

    object_id: int
    category: str  # "person", "car", ...; "unknown" where the source has no class
    abnormal_intervals: tuple[Interval, ...] = ()
    first_frame: int = -1  # first frame the object is visible; -1 when not computed
    last_frame: int = -1

    @property
    def is_abnormal(self) -> bool:
        return bool(self.abnormal_intervals)


@dataclass(frozen=True)
class TrackRow:
    """One row of a reference ground-truth tracks file: ``track_id,frame_id,x_min,y_min,x_max,y_max``."""

    track_id: int
    frame: int
    x_min: int
    y_min: int
    x_max: int
    y_max: int


@dataclass
class LayoutReport:
    """What ``sources info`` prints: counts per split and every layout problem found."""

    layout: str
    root: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@runtime_checkable
class SourceVideo(Protocol):
    """One source video with its labels; every accessor is lazy and cheap to call twice."""

    source: str  # "ubnormal" | "shanghaitech"
    video_id: str
    split: str
    scene: str
    video_path: str  # relative to the source root (mp4 file or frames folder)

    @property
    def num_frames(self) -> int: ...
    @property
    def fps(self) -> float: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...

    def frames(self, indices: Sequence[int] | None = None) -> Iterator[np.ndarray]:
        """BGR frames, all or the given indices (in the given order)."""
        ...

    def frame_labels(self) -> np.ndarray:
        """(T,) uint8, 1 where the frame is abnormal."""
        ...

    def abnormal_intervals(self) -> list[Interval]:
        """Merged inclusive abnormal frame intervals of the video."""
        ...

    def objects(self) -> list[SourceObject]:
        """Every target with its category and abnormal intervals, sorted by object id."""
        ...

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        """``{object_id: bool mask}`` of the objects visible in ``frame``."""
        ...

    def object_boxes(self, object_id: int) -> dict[int, Box]:
        """``{frame: inclusive box}`` of one object over the frames where it is visible."""
        ...

    def reference_tracks(self) -> list[TrackRow]:
        """Ground-truth tracks exactly as the reference RBDC/TBDC track script writes them."""
        ...


@runtime_checkable
class Source(Protocol):
    """A dataset root in one layout."""

    layout: str
    root: str

    def splits(self) -> list[str]: ...
    def videos(self, split: str) -> list[SourceVideo]: ...
    def video(self, video_id: str) -> SourceVideo: ...
    def report(self) -> LayoutReport: ...
