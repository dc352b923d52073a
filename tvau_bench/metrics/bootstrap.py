"""Bootstrap 95% intervals over samples, single-system and paired, seeded and deterministic.

A figure is a function of per-sample rows: accuracy of 0/1 correctness, corpus BLEU of sacrebleu's per-sentence
sufficient statistics (so a resample re-computes *corpus* BLEU, not a mean of sentence scores). Each resample
draws ``n`` sample indices with replacement from ``numpy.random.default_rng(seed)``; the interval is the
percentile interval (``numpy.percentile``, linear). A paired bootstrap applies the same indices to both systems.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TvauError

Statistic = Callable[[np.ndarray], float]
N_RESAMPLES = 1000
BOOTSTRAP_NAME = "percentile bootstrap over samples, numpy default_rng"


def bootstrap_description(*, n_resamples: int = N_RESAMPLES, seed: int = 0) -> dict[str, Any]:
    """How an interval was drawn, for storing next to it: method name, resample count and seed."""
    return {"method": BOOTSTRAP_NAME, "n_resamples": n_resamples, "seed": seed}


def _indices(n: int, n_resamples: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(n_resamples):
        yield rng.integers(0, n, size=n)


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_ci(
    rows: np.ndarray,
    statistic: Statistic,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(rows[idx])`` over resamples of the rows (first axis = samples)."""
    rows = np.asarray(rows)
    if len(rows) == 0:
        raise TvauError("no samples to bootstrap")
    vals = np.asarray([statistic(rows[idx]) for idx in _indices(len(rows), n_resamples, seed)])
    return _interval(vals, confidence)


@dataclass(frozen=True)
class DefinedInterval:
    """A percentile interval over the resamples on which a figure is defined, and how many it was not."""

    ci95: tuple[float, float] | None  # None: undefined on too many resamples
    undefined: int  # resamples on which the figure was NaN


def bootstrap_defined(
    rows: np.ndarray,
    statistic: Callable[[np.ndarray], dict[str, float]],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    min_defined: float = 0.9,
) -> dict[str, DefinedInterval]:
    """Intervals of several figures computed together on each resample (``statistic`` returns them by name),
    NaN-aware: a figure that is NaN on a resample (undefined there, e.g. an AUC with no positive drawn) is left
    out of its percentiles, and gets no interval when defined on under ``min_defined`` of the resamples.

    The resamples are :func:`bootstrap_ci`'s for the same seed.
    """
    rows = np.asarray(rows)
    if len(rows) == 0:
        raise TvauError("no samples to bootstrap")
    draws = [statistic(rows[idx]) for idx in _indices(len(rows), n_resamples, seed)]
    out = {}
    for key in draws[0] if draws else ():
        values = np.asarray([d[key] for d in draws], dtype=np.float64)
        defined = values[~np.isnan(values)]
        enough = len(defined) > 0 and len(defined) >= min_defined * n_resamples
        out[key] = DefinedInterval(
            _interval(defined, confidence) if enough else None, n_resamples - len(defined)
        )
    return out


@dataclass(frozen=True)
class PairedResult:
    """Difference ``a - b`` of a figure on the same samples, its interval and a one-sided bootstrap p-value."""

    delta: float
    ci95: tuple[float, float]
    p_value: float  # share of resamples where the difference has the opposite sign to ``delta`` (or is 0)
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "ci95": list(self.ci95),
            "p_value": self.p_value,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "method": "paired " + BOOTSTRAP_NAME,
        }


def paired_bootstrap(
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    statistic: Statistic,
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> PairedResult:
    """Paired bootstrap of ``statistic(a) - statistic(b)``: both systems are resampled with the same indices."""
    rows_a, rows_b = np.asarray(rows_a), np.asarray(rows_b)
    if len(rows_a) != len(rows_b):
        raise TvauError(f"paired bootstrap needs the same samples: {len(rows_a)} vs {len(rows_b)} rows")
    if len(rows_a) == 0:
        raise TvauError("no samples to bootstrap")
    delta = float(statistic(rows_a) - statistic(rows_b))
    diffs = np.asarray(
        [statistic(rows_a[i]) - statistic(rows_b[i]) for i in _indices(len(rows_a), n_resamples, seed)]
    )
    if delta > 0:
        p = float(np.mean(diffs <= 0))
    elif delta < 0:
        p = float(np.mean(diffs >= 0))
    else:
        p = 1.0
    return PairedResult(delta, _interval(diffs, confidence), p, n_resamples, seed)


# --- figures as statistics of per-sample rows ---------------------------------------------------------------


def mean_statistic(rows: np.ndarray) -> float:
    """Mean of per-sample scores."""
    return float(np.mean(rows))


def accuracy_statistic(rows: np.ndarray) -> float:
    """Accuracy x100 of 0/1 correctness rows."""
    return 100.0 * float(np.mean(rows))


def bleu_stats(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """Per-sample sacrebleu BLEU-4 sufficient statistics ``(n, 10)``: sys_len, ref_len, correct[4], total[4].

    Checked once against ``corpus_score`` so that a change in sacrebleu's internals cannot go unnoticed.
    """
    from sacrebleu.metrics import BLEU

    bleu = BLEU()
    stats = np.asarray(bleu._extract_corpus_statistics(list(hypotheses), [list(references)]), dtype=np.int64)
    stats = stats.reshape(len(hypotheses), 2 + 2 * bleu.max_ngram_order)
    expect = bleu.corpus_score(list(hypotheses), [list(references)]).score
    if len(stats) and abs(bleu_statistic(stats) - expect) > 1e-9:
        raise RuntimeError("sacrebleu's per-sentence statistics no longer reproduce its corpus BLEU")
    return stats


def bleu_statistic(rows: np.ndarray) -> float:
    """Corpus BLEU-4 x100 (sacrebleu defaults) from summed per-sample statistics rows."""
    from sacrebleu.metrics import BLEU

    s = np.asarray(rows).sum(axis=0)
    res = BLEU.compute_bleu(
        correct=[int(v) for v in s[2:6]],
        total=[int(v) for v in s[6:10]],
        sys_len=int(s[0]),
        ref_len=int(s[1]),
        smooth_method="exp",
        effective_order=False,
        max_ngram_order=4,
    )
    return float(res.score)


def bleu4_ci(
    hypotheses: Sequence[str], references: Sequence[str], *, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap 95% interval of corpus BLEU-4 x100."""
    return bootstrap_ci(
        bleu_stats(hypotheses, references), bleu_statistic, n_resamples=n_resamples, seed=seed
    )


def accuracy_ci(
    correct: Sequence[bool], *, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap 95% interval of accuracy x100 from per-sample correctness."""
    rows = np.asarray(correct, dtype=np.float64)
    return bootstrap_ci(rows, accuracy_statistic, n_resamples=n_resamples, seed=seed)
