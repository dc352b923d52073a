"""What the three stages share while annotating one video: its targets, the frames read for them, the quarantine
and the counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .backends.base import Request, Response
from .motion import Motion
from .timelines import GeoTrack, Observation

if TYPE_CHECKING:
    from ..sources.base import SourceObject

# Quarantine reasons of a request that got no answer after every retry (stage 1, stage 2, re-ask): one record
# per failed request, so they name exactly the requests counted in ``requests.failures``.
REQUEST_FAILED = frozenset({"request failed", "re-ask failed"})


@dataclass
class Verdict:
    """Stage 3's judgement of one target: appearance winners and agreement, motion scores, consistency."""

    winners: dict
    appearance: float
    outliers: list = field(default_factory=list)
    motion_scores: dict | None = None
    consistency: float = 0.0

    @property
    def motion(self) -> float | None:
        if self.motion_scores is None:
            return None
        return sum(self.motion_scores.values()) / len(self.motion_scores)


@dataclass
class Counts:
    """Per-stage counts for the report."""

    c: Counter = field(default_factory=Counter)
    consistency: list[float] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.c[key] += n

    def merge(self, other: Counts) -> None:
        """Add another video's counts to these."""
        self.c.update(other.c)
        self.consistency += other.consistency


@dataclass
class Target:
    """One target of the video: its geometry and measured motion, then what each stage adds."""

    item: str  # "{video_id}:{object_id}"
    obj: SourceObject
    geo: GeoTrack
    measured: Motion
    obs: list[Observation] = field(default_factory=list)  # stage 1, in frame order
    s2_request: Request | None = None
    s2: Response | None = None  # stage 2, replaced by a successful re-ask
    verdict: Verdict | None = None
    status: str = "verified"
    reasons: list[str] = field(default_factory=list)

    @property
    def answered_s2(self) -> bool:
        """Whether stage 2 (or its re-ask) gave an answer."""
        return self.s2 is not None and self.s2.ok


class Quarantine:
    """The quarantine records of one video, in the order they arise (rows of ``quarantine.jsonl``)."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def add(self, item: str, stage: str, reason: str, evidence: dict | None = None) -> None:
        """Record that ``item`` was set aside at ``stage`` for ``reason``."""
        self.records.append({"item": item, "stage": stage, "reason": reason, "evidence": evidence or {}})

    def failed(self, req: Request, resp: Response, stage: str, reason: str = "request failed") -> None:
        """Record a request that got no answer after every retry (``reason``: one of :data:`REQUEST_FAILED`)."""
        self.add(req.item, stage, reason, {"error": resp.error})


def failed_requests(video_id: str, quarantine: list[dict]) -> list[dict]:
    """The requests of one video that failed for good, read from its quarantine records."""
    return [
        {"video_id": video_id, "stage": q["stage"], "item": q["item"], "error": q["evidence"].get("error")}
        for q in quarantine
        if q["reason"] in REQUEST_FAILED
    ]


@dataclass
class VideoState:
    """One video's work in progress, handed from stage to stage."""

    video_id: str
    fps: float
    counts: Counts
    quarantine: Quarantine = field(default_factory=Quarantine)
    targets: dict[int, Target] = field(default_factory=dict)  # object id -> target, in object id order
    images: dict[int, np.ndarray] = field(default_factory=dict)  # the planned frames (frame index -> image)
    masks: dict[int, dict[int, np.ndarray]] = field(default_factory=dict)  # frame -> object id -> mask
    speeds: dict[int, dict[int, float]] = field(default_factory=dict)  # object id -> frame -> speed
