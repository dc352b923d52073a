"""The reader contract every source layout implements (UBnormal, ShanghaiTech, and the synthetic output of both).

Conventions used across the package:
- frames are 0-based; intervals ``(start, end)`` are inclusive at both ends;
- images are OpenCV BGR ``uint8`` arrays of shape (H, W, 3); masks are ``bool`` (H, W);
- a *box* is ``(x_min, y_min, x_max, y_max)`` in inclusive pixel coordinates (the mask's extreme pixels);
  the reference RBDC/TBDC track rows instead use ``x_max = x + w`` (see :func:`reference_track_rows`);
- splits are named ``train``, ``validation`` and ``test`` whatever the source calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import TvauError

Box = tuple[int, int, int, int]
Interval = tuple[int, int]
SPLITS = ("train", "validation", "test")


def check_split(split: str) -> None:
    """TvauError unless ``split`` is one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise TvauError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLITS)}")


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

    source: str  # the SourceSpec.name of its source, e.g. "ubnormal"
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


@dataclass(frozen=True)
class SourceSpec:
    """Everything the package knows about one source dataset, declared by its module as ``SPEC``.

    ``sources.registry.SOURCES`` lists them; layout detection, the dataset card and the leaderboard read them
    from there, so a source's name, family code, licence and citation are written once.
    """

    name: str  # layout name and the `source` value of video records, e.g. "ubnormal"
    family: str  # leaderboard family code, e.g. "UB": dataset names holding ``name`` fill its columns
    title: str  # short display name ("ShanghaiTech"): chart panels, captions, "{title}-FG" card names
    full_title: str  # the card's name for it ("ShanghaiTech Campus")
    url: str  # where its authors distribute it
    licence: str  # the card's sentence on the source's terms
    citation: str  # BibTeX of the source dataset's paper(s)
    video_path_note: str  # the card's sentence on what ``video_path`` is relative to
    limitation: str  # the card's bullet on what the source's annotations cannot tell
    split_note: str  # the card's remark on the source's splits ("" for none)
    detect: Callable[[Path], bool]  # whether an existing folder holds this layout
    marker: str  # what ``detect`` looks for, e.g. "training/, testing/"
    absent: str  # the same, said as missing: "no training/ or testing/"
    root_hint: str  # what a root of this layout holds, e.g. "holding training/ and testing/"
    open: Callable[[str | Path], Source]  # the reader of a root (its ``report`` is the layout report)
