"""Results of a run recomputed from its per-sample log rows alone (the leaderboard uses this too).

Everything is derived from each row's raw answers (``turns[].raw``) and references, never from the stored
``parsed`` or ``scores`` fields, so a log is scored the same way whoever wrote it. Rows are sorted by
``sample_id`` first: the order in which a concurrent run logged them does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import TvauError
from ..metrics import suite
from ..metrics.bootstrap import N_RESAMPLES, bootstrap_ci, bootstrap_description
from ..metrics.suite import SENTENCE_SMOOTHING, DialogueMetric
from ..metrics.text import corpus_bleu4, extract_yes_no, sentence_bleu, yes_no_accuracy

BOOTSTRAP_SEED = 0


def answer_of(row: dict[str, Any], kind: str) -> str:
    """The raw answer of turn ``kind`` in a log row, whitespace-normalised ("" when the turn is absent)."""
    for turn in row.get("turns", []):
        if turn.get("kind") == kind:
            return " ".join(str(turn.get("raw") or "").split())
    return ""


def metric_rows(metric: DialogueMetric, rows: Sequence[dict[str, Any]]) -> np.ndarray | None:
    """The metric's per-sample rows of log rows (in the given order); ``None`` when it scores none of them.

    An ``abnormal_only`` metric scores the abnormal samples, each of which must carry the turn's reference.
    """
    scored = [r for r in rows if r["label"] == "Yes"] if metric.abnormal_only else list(rows)
    for r in scored:
        if r["references"].get(metric.turn) is None:
            raise TvauError(
                f"{'abnormal ' if metric.abnormal_only else ''}sample {r['sample_id']!r} has no {metric.turn} "
                "reference",
                field=f"references.{metric.turn}",
            )
    if not scored:
        return None
    answers = [answer_of(r, metric.turn) for r in scored]
    return metric.rows(answers, [r["references"][metric.turn] for r in scored])


def score_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every metric of :data:`tvau_bench.metrics.suite.DIALOGUE` with its bootstrap 95% interval, and counts.

    The metrics are on 0–100 (``None`` with no sample to score); ``unknown_rate`` is a fraction in [0, 1].
    """
    rows = _checked(rows)
    yn = yes_no_accuracy([answer_of(r, "yes_no") for r in rows], [r["references"]["yes_no"] for r in rows])
    n_abnormal = sum(1 for r in rows if r["label"] == "Yes")
    results: dict[str, Any] = {
        "fingerprint": rows[0]["fingerprint"],
        "n_samples": len(rows),
        "unknown_rate": yn.unknown_rate,
        "n_unknown": yn.num_unknown,
        "n_missing": sum(1 for r in rows if r.get("missing")),
        "n_abnormal": n_abnormal,
    }
    for m in suite.DIALOGUE:
        stats = metric_rows(m, rows)
        if stats is None:
            results[m.key] = results[m.ci_key] = None
            continue
        results[m.key] = m.statistic(stats)
        results[m.ci_key] = list(
            bootstrap_ci(stats, m.statistic, n_resamples=N_RESAMPLES, seed=BOOTSTRAP_SEED)
        )
    # sacrebleu's signature names the corpus BLEU's settings; none is stored when no description was scored
    results["signature"] = corpus_bleu4(["a"], ["a"]).signature if n_abnormal else None
    results["sentence_bleu_signature"] = sentence_bleu("a", "a", smoothing=SENTENCE_SMOOTHING).signature
    results["bootstrap"] = bootstrap_description(n_resamples=N_RESAMPLES, seed=BOOTSTRAP_SEED)
    return results


def parse_answer(kind: str | None, raw: str) -> str:
    """Yes/No extraction for turn 1; whitespace-normalised text for the descriptions."""
    return extract_yes_no(raw) if kind == "yes_no" else " ".join(raw.split())


def sample_scores(turns: list[dict[str, Any]], gold: dict[str, str | None]) -> dict[str, Any]:
    """Per-sample scores: the parsed Yes/No, and each logged metric's per-sample score (``None`` where the
    sample has no reference for its turn).

    ``turns`` carry ``kind`` and ``parsed``; the first turn of a kind counts, and an absent turn scores as an
    empty answer.
    """
    by_kind: dict[str, str] = {}
    for t in turns:
        by_kind.setdefault(t["kind"], t["parsed"])
    scores: dict[str, Any] = {"yes_no": by_kind.get("yes_no", parse_answer("yes_no", ""))}
    for m in suite.DIALOGUE:
        if m.logged is not None and m.sample is not None:
            ref = gold.get(m.turn)
            answer = by_kind.get(m.turn, parse_answer(m.turn, ""))
            scores[m.logged] = None if ref is None else m.sample(answer, ref)
    return scores


def row_problems(row: dict[str, Any]) -> list[str]:
    """Where a row's stored ``parsed``/``scores`` disagree with its raw answers (a sign of an edited log)."""
    problems = []
    recomputed = []
    for turn in row.get("turns", []):
        want = parse_answer(turn.get("kind"), str(turn.get("raw") or ""))
        recomputed.append({"kind": turn.get("kind"), "parsed": want})
        if turn.get("parsed") != want:
            problems.append(f"turn {turn.get('kind')}: parsed {turn.get('parsed')!r} but raw gives {want!r}")
    scores = row.get("scores", {})
    expected = sample_scores(recomputed, row["references"])
    for key, want in expected.items():
        if not _same_score(scores.get(key), want):
            problems.append(f"scores.{key} disagrees with the raw answer")
    return problems


def _same_score(got: Any, want: Any) -> bool:
    """Equal, numbers to 1e-9 (a stored float may be rounded by another JSON writer)."""
    if got is None or want is None:
        return got is want
    if isinstance(got, int | float) and isinstance(want, int | float):
        return abs(got - want) <= 1e-9
    return got == want


def _checked(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        raise TvauError("no rows to score")
    fps = {r.get("fingerprint") for r in rows}
    if len(fps) != 1:
        raise TvauError(f"rows mix {len(fps)} protocol fingerprints", fix="score one run's log at a time")
    seen: set[str] = set()
    for r in rows:
        for key in ("sample_id", "label", "references", "turns"):
            if key not in r:
                raise TvauError(f"a log row lacks {key!r}", field=key)
        if r["sample_id"] in seen:
            raise TvauError(f"sample {r['sample_id']!r} is logged twice", field="sample_id")
        seen.add(r["sample_id"])
    return sorted(rows, key=lambda r: r["sample_id"])


__all__ = [
    "SENTENCE_SMOOTHING",
    "answer_of",
    "metric_rows",
    "parse_answer",
    "row_problems",
    "sample_scores",
    "score_rows",
]
