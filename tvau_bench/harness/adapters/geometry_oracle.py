"""Geometry oracle: answers from the ground-truth masks through the annotation's own geometry-to-words code.

An upper bound for the text metrics that shows what perfect localisation is worth: it knows where the
abnormal target is (the masks) and describes it with the rules the dataset's references come from
(:class:`tvau_bench.annotate.words.GeometryWords`: colours from masked pixels, actions and the trajectory from
mask geometry). It never reads the reference answers. It needs ``--video-root`` (the masks live in the source),
not a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...annotate.words import GeometryWords
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
