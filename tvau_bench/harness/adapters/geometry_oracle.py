"""Geometry oracle: answers from the ground-truth masks through the annotation's own geometry-to-words code.

An upper bound for the text metrics that shows what perfect localisation is worth: it knows where the
abnormal target is (the masks) and describes it with the same functions the dataset's references come from
(colours from masked pixels, :func:`appearance_sentence`, motion from mask geometry and :func:`describe`).
It never reads the reference answers. It needs ``--video-root`` (the masks live in the source), not a model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...annotate.backends.geometric import _clothing, action_word, read_colours, shape_category
from ...annotate.motion import MotionParams, analyse, describe
from ...annotate.recipe import ColourConfig
from ...annotate.sentences import action_sentence, appearance_sentence
from ...annotate.timelines import GeoTrack
from ...annotate.vocab import normalise_category
from ...errors import TvauError
from ..dataset import BenchmarkData
from ..messages import Message
from ..model_config import ModelConfig
from .base import Adapter, SampleContext


def clip_has_anomaly(objects: Sequence[Any], boxes_of, start: int, end: int) -> bool:
    """Whether an abnormal object is visible in an abnormal frame of ``start..end``."""
    for obj in objects:
        frames = boxes_of(obj.object_id)
        for s, e in obj.abnormal_intervals:
            lo, hi = max(s, start), min(e, end)
            if lo <= hi and any(lo <= f <= hi for f in frames):
                return True
    return False


class GeometryWords:
    """The annotation's geometry-to-words rules over a source-like video: for one object, its appearance and
    actions (``target``) or its motion within the clip (``trajectory``).

    The video needs ``width``, ``height``, ``fps``, ``frames``, ``objects``, ``object_boxes`` and
    ``object_masks``; it may be the source itself (the oracle) or a track found by a model (``ahd-template``).
    """

    def __init__(self) -> None:
        self.colours = ColourConfig()
        self.motion = MotionParams()

    def answer(self, video: Any, oid: int, kind: str, sample: dict[str, Any]) -> str:
        """The ``target`` or ``trajectory`` answer for object ``oid`` within the sample's clip."""
        boxes = video.object_boxes(oid)
        frames = [f for f in sorted(boxes) if sample["start_frame"] <= f <= sample["end_frame"]]
        if not frames:
            return ""
        motion = analyse(
            frames,
            [boxes[f] for f in frames],
            width=video.width,
            height=video.height,
            fps=video.fps,
            params=self.motion,
            span=(sample["start_frame"], sample["end_frame"]),
        )
        if kind == "trajectory":
            return describe(motion)
        return self._appearance(video, oid, sample["frame_indices"], frames)

    def _speeds(self, video: Any, oid: int) -> tuple[float, dict[int, float], list[tuple[int, int]]]:
        """Per-frame speeds of the target (the annotation's timeline rule), its median speed inside its
        abnormal intervals, and those intervals."""
        boxes = video.object_boxes(oid)
        frames = sorted(boxes)
        geo = GeoTrack(
            oid,
            frames,
            [boxes[f] for f in frames],
            [((boxes[f][0] + boxes[f][2]) / 2, (boxes[f][1] + boxes[f][3]) / 2) for f in frames],
        )
        speeds = geo.speeds(video.fps)
        obj = next((o for o in video.objects() if o.object_id == oid), None)
        intervals = list(obj.abnormal_intervals) if obj is not None else []
        inside = [v for f, v in speeds.items() if any(s <= f <= e for s, e in intervals)] or list(
            speeds.values()
        )
        return (float(np.median(inside)) if inside else 0.0), speeds, intervals

    def _actions(self, video: Any, oid: int, category: str, lying: bool) -> list[str]:
        """What the target did before its first abnormal frame (when that differs), then its abnormal action."""
        abnormal_speed, speeds, intervals = self._speeds(video, oid)
        action = action_word(category, abnormal_speed, lying, self.motion)
        start = min((s for s, _ in intervals), default=None)
        earlier = [
            action_word(category, v, False, self.motion)
            for f, v in speeds.items()
            if start is not None and f < start
        ]
        before = _majority(earlier) if earlier else None
        return [before, action] if before and before != action else [action]

    def _appearance(self, video: Any, oid: int, wanted: Sequence[int], visible: Sequence[int]) -> str:
        shown = [f for f in wanted if f in set(visible)] or list(visible[:: max(1, len(visible) // 8)])
        images = dict(zip(shown, video.frames(shown), strict=True))
        masks = [video.object_masks(f).get(oid) for f in shown]
        pairs = [(images[f], m) for f, m in zip(shown, masks, strict=True) if m is not None and m.any()]
        if not pairs:
            return ""
        meta = next((o.category for o in video.objects() if o.object_id == oid), "unknown")
        category = shape_category([m for _, m in pairs]) if meta == "unknown" else normalise_category(meta)
        votes = [read_colours(img, m, category, self.colours) for img, m in pairs]
        colours = {k: _majority([v[k] for v in votes]) for k in ("top", "bottom", "body")}
        upper, lower = _clothing(category, colours)
        lying = bool(np.median([_aspect(m) for _, m in pairs]) < 0.8)
        actions = self._actions(video, oid, category, lying)
        return " ".join(
            t for t in (appearance_sentence(category, colours, upper, lower), action_sentence(actions)) if t
        )


class GeometryOracleAdapter(Adapter):
    """Answers each turn from the source's masks: Yes/No, appearance + action, trajectory within the clip."""

    needs_images = False  # reads full-resolution source frames and masks itself, not the capped frames
    is_oracle = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.source: Any = None
        self.words = GeometryWords()
        self._videos: dict[str, Any] = {}

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        if source_root is None:
            raise TvauError(
                "the geometry oracle reads ground-truth masks", fix="pass --video-root (the source root)"
            )
        from ...sources import open_source

        self.source = open_source(source_root)

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        sample = ctx.sample
        video = self._video(sample["video_id"])
        if ctx.kind == "yes_no":
            hit = clip_has_anomaly(
                video.objects(), video.object_boxes, sample["start_frame"], sample["end_frame"]
            )
            return "Yes" if hit else "No"
        oid = self._target(sample, video)
        return "" if oid is None else self.words.answer(video, oid, ctx.kind, sample)

    def _video(self, video_id: str) -> Any:
        if video_id not in self._videos:
            self._videos[video_id] = self.source.video(video_id)
        return self._videos[video_id]

    @staticmethod
    def _target(sample: dict[str, Any], video: Any) -> int | None:
        """The abnormal object of the clip: the one of ``target_id``, else the most visible abnormal one."""
        if sample.get("target_id"):
            tail = sample["target_id"].rsplit(":", 1)[-1]
            if tail.isdigit():
                return int(tail)
        best, best_n = None, 0
        for obj in video.objects():
            n = sum(
                1
                for f in video.object_boxes(obj.object_id)
                if sample["start_frame"] <= f <= sample["end_frame"]
            )
            if obj.is_abnormal and n > best_n:
                best, best_n = obj.object_id, n
        return best


def _majority(values: list[str | None]) -> str | None:
    tally = Counter(v for v in values if v)
    return min(tally.items(), key=lambda kv: (-kv[1], kv[0]))[0] if tally else None


def _aspect(mask: np.ndarray) -> float:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1)
