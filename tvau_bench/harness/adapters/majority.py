"""Majority baseline: the most frequent training answer of each turn, whatever the clip shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ...errors import TvauError
from ..dataset import BenchmarkData
from ..messages import Message, gold_answers, turn_kinds
from ..model_config import ModelConfig
from ..prompts import TURN_KINDS
from .base import Adapter, SampleContext


def majority_answers(train: Sequence[dict]) -> dict[str, str]:
    """Most frequent gold answer per turn kind over ``train`` samples; ties go to the smallest string."""
    counts: dict[str, Counter] = {}
    for sample in train:
        gold = gold_answers(sample)
        for kind in turn_kinds(sample):
            if gold[kind]:
                counts.setdefault(kind, Counter())[gold[kind]] += 1
    return {kind: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for kind, c in counts.items()}


class MajorityAdapter(Adapter):
    """Answers every turn with the training split's most frequent answer (a prior, no pixels)."""

    needs_images = False

    def __init__(self, config: ModelConfig, train_split: str = "train") -> None:
        super().__init__(config)
        self.train_split = train_split
        self.answers: dict[str, str] = {}

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        # A normal-only train split (ShanghaiTech) has no target/trajectory answers: those turns fall back to
        # the one-shot exemplar's, the one labelled abnormal clip that every model is shown.
        fallback = majority_answers([self.exemplar]) if self.exemplar else {}
        self.answers = {**fallback, **majority_answers(data.samples.get(self.train_split) or [])}
        missing = set(TURN_KINDS) - set(self.answers)
        if missing:
            raise TvauError(
                f"the {self.train_split!r} split has no answers for {sorted(missing)}",
                fix="use a dataset whose train split has abnormal samples, or one shot (the exemplar's answers)",
            )

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        return self.answers[ctx.kind]
