"""The benchmark's metrics, each declared once: scoring, results.json, comparisons, summaries and the
leaderboard's dialogue columns all iterate over :data:`DIALOGUE`; detection figures come from
:func:`detection_summary`.

A dialogue metric scores one turn of the dialogue. Its ``rows`` function maps the turn's answers and references
(one per sample) to per-sample rows, and its ``statistic`` (default: their mean) turns any set of those rows into
the figure (0-100): the figure is the statistic of all rows, and its 95% interval resamples the rows
(``metrics.bootstrap``), so corpus-level figures such as corpus BLEU bootstrap correctly. Consumers read ``suite.DIALOGUE`` at call time
(not ``from .suite import DIALOGUE``), so one entry added here reaches every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bootstrap import Statistic, accuracy_statistic, bleu_statistic, bleu_stats, mean_statistic

Rows = Callable[[Sequence[str], Sequence[str]], np.ndarray]
ARROWS = {"higher": "↑", "lower": "↓"}


@dataclass(frozen=True)
class DialogueMetric:
    """One figure of a dialogue run.

    ``key`` is its results.json field (its interval: :attr:`ci_key`); ``name`` its column and chart wording
    (``Target (ST) ↑``), ``label`` its wording in one-line summaries; ``turn`` the dialogue turn it scores
    (``yes_no``, ``target``, ``trajectory``), on abnormal samples only when ``abnormal_only`` (the descriptions
    are asked of those alone). ``scale`` says how the 0-100 figure is printed: ``percent`` (``61.03%``) or
    ``number`` (``18.58``); ``better`` is the direction that wins. ``paper`` is the metric's position among the
    paper's dialogue columns (``None``: not in the paper; its columns follow the paper's, with ``--`` in the
    reported rows). ``logged``, when set, names a per-sample score written to each ``samples.jsonl`` row's
    ``scores`` by ``sample(answer, reference)``: that is part of the log format, checked on every stored run.
    """

    key: str
    name: str
    turn: str
    rows: Rows
    statistic: Statistic = mean_statistic
    label: str = ""
    scale: str = "number"
    better: str = "higher"
    abnormal_only: bool = False
    paper: int | None = None
    logged: str | None = None
    sample: Callable[[str, str], Any] | None = None

    @property
    def ci_key(self) -> str:
        """The results.json field of its bootstrap 95% interval."""
        return f"{self.key}_ci95"

    @property
    def summary_label(self) -> str:
        """Its wording in one-line summaries (``label``, else ``name``)."""
        return self.label or self.name

    def header(self, family: str | None = None) -> str:
        """Its column header as the paper writes them: ``Target ↑``, on a dataset family ``Target (ST) ↑``."""
        return f"{self.name}{f' ({family})' if family else ''} {ARROWS[self.better]}"

    def format(self, value: float | None) -> str:
        """The figure to two decimals (``n/a`` when undefined), with ``%`` on the percent scale."""
        if value is None:
            return "n/a"
        return f"{value:.2f}" + ("%" if self.scale == "percent" else "")


def _yes_no_rows(answers: Sequence[str], references: Sequence[str]) -> np.ndarray:
    from .text import yes_no_accuracy

    return yes_no_accuracy(answers, references).correct.astype(np.float64)


def _yes_no_correct(answer: str, reference: str) -> bool:
    from .text import extract_yes_no

    return extract_yes_no(answer) == reference


SENTENCE_SMOOTHING = "exp"  # the logged per-sample BLEU's smoothing (corpus BLEU needs none)


def _sentence_bleu(answer: str, reference: str) -> float:
    from .text import sentence_bleu

    return sentence_bleu(answer, reference, smoothing=SENTENCE_SMOOTHING).score


def _bleu(turn: str, name: str, paper: int) -> DialogueMetric:
    return DialogueMetric(
        key=f"{turn}_bleu4",
        name=name,
        label=f"{name} BLEU-4",
        turn=turn,
        rows=bleu_stats,
        statistic=bleu_statistic,
        abnormal_only=True,
        paper=paper,
        logged=f"{turn}_bleu",
        sample=_sentence_bleu,
    )


DIALOGUE: tuple[DialogueMetric, ...] = (
    DialogueMetric(
        key="yes_no_accuracy",
        name="Yes/No",
        turn="yes_no",
        rows=_yes_no_rows,
        statistic=accuracy_statistic,
        scale="percent",
        paper=2,
        logged="yes_no_correct",
        sample=_yes_no_correct,
    ),
    _bleu("target", "Target", 0),
    _bleu("trajectory", "Trajectory", 1),
)


def dialogue_metric(key: str) -> DialogueMetric:
    """The metric of results.json field ``key``."""
    for m in DIALOGUE:
        if m.key == key:
            return m
    raise KeyError(key)


def paper_order() -> list[DialogueMetric]:
    """The metrics in the paper's column order, those the paper does not print after them (in table order)."""
    return sorted(DIALOGUE, key=lambda m: (m.paper is None, m.paper or 0))


def figures_line(results: dict[str, Any]) -> str:
    """Every metric of a results dict on one line: ``Yes/No 61.03%  Target BLEU-4 18.58  ...``."""
    return "  ".join(f"{m.summary_label} {m.format(results.get(m.key))}" for m in DIALOGUE)


# --- detection ------------------------------------------------------------------------------------------------

DETECTION: tuple[str, ...] = ("micro_auc", "macro_auc", "rbdc", "tbdc")


def detection_summary(
    labels: dict[str, np.ndarray],
    scores: dict[str, np.ndarray],
    tracks: dict[str, np.ndarray],
    detections: dict[str, np.ndarray],
    num_frames: int,
) -> dict[str, float]:
    """Micro/macro frame AUC and RBDC/TBDC in [0, 1] (the metrics package's defaults), keyed as :data:`DETECTION`.

    ``num_frames`` counts every test frame, normal videos included (the RBDC/TBDC false-positive denominator).
    """
    from .frame import frame_auc
    from .region import region_metrics

    auc = frame_auc(labels, scores)
    region = region_metrics(tracks, detections, num_frames)
    return {"micro_auc": auc.micro_auc, "macro_auc": auc.macro_auc, "rbdc": region.rbdc, "tbdc": region.tbdc}
