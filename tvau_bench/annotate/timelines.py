"""Per-target timelines: the mask geometry of every frame, and the annotators' per-frame observations joined on
the mask identity (object id for UBnormal, linked component for ShanghaiTech)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..sources.base import SourceVideo
from ..sources.masks import mask_box, rle_encode
from .vocab import normalise_category

Ties = Literal["first", "smallest"]  # how :func:`majority` breaks a tie


@dataclass
class GeoTrack:
    """Where one target is in each frame it is visible (frames increasing); centres are box centres."""

    object_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    centres: list[tuple[float, float]] = field(default_factory=list)
    areas: list[int] = field(default_factory=list)
    rles: list[dict] = field(default_factory=list)

    def index(self, frame: int) -> int | None:
        """Position of ``frame`` in :attr:`frames` (binary search), or None when not visible there."""
        i = int(np.searchsorted(self.frames, frame))
        return i if i < len(self.frames) and self.frames[i] == frame else None

    def between(self, start: int, end: int) -> GeoTrack:
        """The part inside ``start..end`` (inclusive)."""
        lo = int(np.searchsorted(self.frames, start))
        hi = int(np.searchsorted(self.frames, end, side="right"))
        return GeoTrack(
            self.object_id,
            self.frames[lo:hi],
            self.boxes[lo:hi],
            self.centres[lo:hi],
            self.areas[lo:hi],
            self.rles[lo:hi],
        )

    def size(self) -> float:
        """Median longer box side (pixels): the unit of speeds."""
        if not self.boxes:
            return 1.0
        b = np.asarray(self.boxes, dtype=float)
        return float(max(1.0, np.median(np.maximum(b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1))))

    def speeds(self, fps: float, half_window_s: float = 0.2) -> dict[int, float]:
        """Speed (target sizes per second) around each visible frame, from centres ``±half_window_s`` apart."""
        if len(self.frames) < 2:
            return dict.fromkeys(self.frames, 0.0)
        f = np.asarray(self.frames, dtype=float)
        c = np.asarray(self.centres, dtype=float)
        k = max(1.0, half_window_s * (fps or 25.0))
        lo = np.interp(np.maximum(f - k, f[0]), f, np.arange(len(f)))
        hi = np.interp(np.minimum(f + k, f[-1]), f, np.arange(len(f)))
        out = {}
        size = self.size()
        for i, frame in enumerate(self.frames):
            a, b = int(np.floor(lo[i])), int(np.ceil(hi[i]))
            dt = (f[b] - f[a]) / (fps or 25.0)
            out[frame] = 0.0 if dt <= 0 else float(np.hypot(*(c[b] - c[a]))) / dt / size
        return out


def geometry_pass(
    video: SourceVideo, keep_masks: Iterable[int] = (), *, with_rle: bool = True
) -> tuple[dict[int, GeoTrack], dict[int, dict[int, np.ndarray]]]:
    """Read every frame's masks once: per-target geometry, plus the masks of the frames in ``keep_masks``."""
    keep = set(keep_masks)
    tracks: dict[int, GeoTrack] = {}
    kept: dict[int, dict[int, np.ndarray]] = {}
    for frame in range(video.num_frames):
        masks = video.object_masks(frame)
        if frame in keep:
            kept[frame] = masks
        for oid, m in masks.items():
            box = mask_box(m)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            t = tracks.setdefault(oid, GeoTrack(oid))
            t.frames.append(frame)
            t.boxes.append(box)
            # Box centres (not mask centroids): the same centre the tracks config lets anyone recompute.
            t.centres.append(((x0 + x1) / 2.0, (y0 + y1) / 2.0))
            t.areas.append(int(np.count_nonzero(m[y0 : y1 + 1, x0 : x1 + 1])))
            if with_rle:
                t.rles.append(rle_encode(m))
    return dict(sorted(tracks.items())), kept


@dataclass(frozen=True)
class Observation:
    """What one annotator answer says about one target (stage 1: one frame; stage 2: the focused views)."""

    frame: int  # -1 for a stage-2 answer over several views
    stage: str
    category: str
    top: str | None
    bottom: str | None
    body: str | None
    upper_clothing: str | None
    lower_clothing: str | None
    carried: tuple[str, ...]
    position: str | None
    action: str


def answer_observation(answer: dict, *, frame: int, stage: str, position: str | None) -> Observation:
    """The observation of one schema-valid target description (a stage-1 target or a stage-2 answer)."""
    return Observation(
        frame=frame,
        stage=stage,
        category=normalise_category(answer["category"]),
        top=answer["top_colour"],
        bottom=answer["bottom_colour"],
        body=answer["body_colour"],
        upper_clothing=answer["upper_clothing"],
        lower_clothing=answer["lower_clothing"],
        carried=tuple(answer["carried_objects"]),
        position=position,
        action=answer["action"].strip().lower(),
    )


ATTRIBUTES = ("category", "top", "bottom", "body")


def vote(
    observations: list[Observation], weights: list[int]
) -> tuple[dict[str, str | None], float, list[dict]]:
    """Weighted majority per attribute; returns ``(winners, agreement in [0,1], outliers)``.

    Agreement is the weighted share of votes that agree with the winner, averaged over the attributes that got
    any non-null vote. An outlier is an observation that disagrees with a winner (one record per attribute).
    Ties go to the value seen first (observations are in frame order, stage 2 last).
    """
    winners: dict[str, str | None] = {}
    shares = []
    outliers = []
    for attr in ATTRIBUTES:
        tally: Counter[str] = Counter()
        total = 0
        for o, w in zip(observations, weights, strict=True):
            v = getattr(o, attr)
            if v is None:
                continue
            tally[v] += w
            total += w
        if not tally:
            winners[attr] = None
            continue
        best = max(tally.values())
        win = next(v for v in tally if tally[v] == best)
        winners[attr] = win
        shares.append(best / total)
        for o in observations:
            v = getattr(o, attr)
            if v is not None and v != win:
                outliers.append(
                    {"frame": o.frame, "stage": o.stage, "attribute": attr, "value": v, "majority": win}
                )
    agreement = float(np.mean(shares)) if shares else 0.0
    return winners, agreement, outliers


def majority(values: Iterable[str | None], *, ties: Ties = "first") -> str | None:
    """Most frequent non-null value; ties go to the value seen first, or with ``ties="smallest"`` to the
    smallest one (the rule of :class:`.words.GeometryWords`, whose answers do not depend on frame order)."""
    tally = Counter(v for v in values if v)
    if not tally:
        return None
    best = max(tally.values())
    tied = (v for v in tally if tally[v] == best)
    return min(tied) if ties == "smallest" else next(tied)
