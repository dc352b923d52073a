"""Text metrics of the benchmark: corpus BLEU-4 (sacrebleu), sentence BLEU, Yes/No extraction and accuracy.

- ``corpus_bleu4``: ``sacrebleu`` corpus BLEU, 13a tokenisation, default (exp) smoothing, one reference per
  sample, reported x100 with sacrebleu's signature string (store it next to every score).
- ``sentence_bleu``: per-sample BLEU for paired statistics; its smoothing is named in the returned signature.
  Never mix it with corpus BLEU in one table.
- ``extract_yes_no``: lower-case; punctuation (Unicode category P*) becomes a space so that ``"yes,it"`` keeps its
  word boundary; the answer is Yes (No) when the word ``yes`` (``no``) appears and the other does not;
  otherwise Unknown, which counts as wrong. ``unknown_rate`` is a fraction in [0, 1]; ``accuracy`` is x100.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TvauError

YES, NO, UNKNOWN = "Yes", "No", "Unknown"
SENTENCE_SMOOTHING = ("exp", "floor", "add-k", "none")


@dataclass(frozen=True)
class BleuResult:
    """A BLEU score (x100) and the sacrebleu signature that defines it."""

    score: float
    signature: str
    num_samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"bleu4": self.score, "signature": self.signature, "num_samples": self.num_samples}


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise TvauError(
            f"{len(hypotheses)} predictions but {len(references)} references",
            fix="give one reference per sample",
        )
    if not hypotheses:
        raise TvauError("no samples to score")
    for i, (h, r) in enumerate(zip(hypotheses, references, strict=True)):
        if not isinstance(h, str) or not isinstance(r, str):
            raise TvauError(f"sample {i}: prediction and reference must be strings")


def corpus_bleu4(hypotheses: Sequence[str], references: Sequence[str]) -> BleuResult:
    """Corpus BLEU-4 x100 (sacrebleu defaults: 13a, exp smoothing), one reference per hypothesis."""
    from sacrebleu.metrics import BLEU

    _check_pairs(hypotheses, references)
    bleu = BLEU()
    res = bleu.corpus_score(list(hypotheses), [list(references)])
    return BleuResult(float(res.score), str(bleu.get_signature()), len(hypotheses))


def sentence_bleu(hypothesis: str, reference: str, *, smoothing: str = "exp") -> BleuResult:
    """Sentence BLEU x100 with effective order and the named smoothing (``exp``, ``floor``, ``add-k``, ``none``)."""
    from sacrebleu.metrics import BLEU

    if smoothing not in SENTENCE_SMOOTHING:
        raise TvauError(
            f"unknown smoothing {smoothing!r}", field="smoothing", fix=f"use one of {SENTENCE_SMOOTHING}"
        )
    bleu = BLEU(smooth_method=smoothing, effective_order=True)
    res = bleu.sentence_score(hypothesis, [reference])
    return BleuResult(float(res.score), str(bleu.get_signature()), 1)


def _words(text: str) -> list[str]:
    chars = [" " if unicodedata.category(c).startswith("P") else c for c in text.lower()]
    return "".join(chars).split()


def extract_yes_no(text: str | None) -> str:
    """``"Yes"``, ``"No"`` or ``"Unknown"`` from a free-form answer (see the module docstring)."""
    if not text:
        return UNKNOWN
    words = set(_words(text))
    has_yes, has_no = "yes" in words, "no" in words
    if has_yes != has_no:
        return YES if has_yes else NO
    return UNKNOWN


def parse_gold_yes_no(text: str, *, line: int | None = None, path: str | None = None) -> str:
    """A gold answer must extract to Yes or No; anything else is an error naming the line."""
    ans = extract_yes_no(text)
    if ans == UNKNOWN:
        raise TvauError(f"gold answer {text!r} is neither Yes nor No", path=path, line=line)
    return ans


@dataclass(frozen=True)
class YesNoResult:
    """Yes/No accuracy (x100), the Unknown rate (fraction) and per-sample correctness."""

    accuracy: float
    unknown_rate: float
    num_samples: int
    num_correct: int
    num_unknown: int
    correct: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "unknown_rate": self.unknown_rate,
            "num_samples": self.num_samples,
            "num_correct": self.num_correct,
            "num_unknown": self.num_unknown,
            "extraction": "lower-case, punctuation to spaces, exactly one of the words yes/no; else Unknown (wrong)",
        }


def yes_no_accuracy(predictions: Sequence[str], gold: Sequence[str]) -> YesNoResult:
    """Accuracy of extracted answers against gold Yes/No answers; Unknown counts as wrong."""
    _check_pairs(predictions, gold)
    truth = [parse_gold_yes_no(g, line=i + 1) for i, g in enumerate(gold)]
    parsed = [extract_yes_no(p) for p in predictions]
    correct = np.asarray([p == t for p, t in zip(parsed, truth, strict=True)], dtype=bool)
    n_unknown = sum(p == UNKNOWN for p in parsed)
    n = len(parsed)
    return YesNoResult(
        accuracy=100.0 * float(correct.mean()),
        unknown_rate=n_unknown / n,
        num_samples=n,
        num_correct=int(correct.sum()),
        num_unknown=int(n_unknown),
        correct=correct,
    )
