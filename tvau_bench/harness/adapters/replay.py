"""Replay: answers read from a predictions file (a submission), turn by turn."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ...errors import TvauError
from ..dataset import BenchmarkData
from ..messages import Message
from ..model_config import ModelConfig
from ..submissions import Submission, load_submission
from .base import Adapter, SampleContext


class ReplayAdapter(Adapter):
    """Answers from ``predictions`` (a JSONL path) or an already validated :class:`Submission`.

    A sample without answers (only with ``allow_missing``) answers the empty string: Unknown at turn 1 and an
    empty hypothesis for BLEU, so it counts as wrong.
    """

    needs_images = False

    def __init__(
        self,
        config: ModelConfig,
        predictions: str | None = None,
        allow_missing: bool = False,
        submission: Submission | None = None,
    ) -> None:
        super().__init__(config)
        if predictions is None and submission is None:
            raise TvauError("the replay adapter needs `predictions` (a JSONL file)", path=config.path)
        self.predictions = predictions
        self.allow_missing = allow_missing
        self.submission = submission

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        if self.submission is None:
            ids = [s["sample_id"] for s in data.split(split)]
            self.submission = load_submission(self.predictions, ids, allow_missing=self.allow_missing)

    def is_missing(self, sample_id: str) -> bool:
        return self.submission is not None and sample_id not in self.submission.answers

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        assert self.submission is not None, "prepare() first"
        answers = self.submission.answers.get(ctx.sample["sample_id"])
        if answers is None:
            return ""
        return answers.get(ctx.kind) or ""
