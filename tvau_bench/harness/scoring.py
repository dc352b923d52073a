"""Results of a run recomputed from its per-sample log rows alone (the leaderboard uses this too).

Everything is derived from each row's raw answers (``turns[].raw``) and references, never from the stored
``parsed`` or ``scores`` fields, so a log is scored the same way whoever wrote it. Rows are sorted by
``sample_id`` first: the order in which a concurrent run logged them does not matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import TvauError
from ..metrics.bootstrap import N_RESAMPLES, accuracy_ci, bleu4_ci, bootstrap_description
from ..metrics.text import corpus_bleu4, extract_yes_no, sentence_bleu, yes_no_accuracy

SENTENCE_SMOOTHING = "exp"
BOOTSTRAP_SEED = 0


def answer_of(row: dict[str, Any], kind: str) -> str:
    """The raw answer of turn ``kind`` in a log row, whitespace-normalised ("" when the turn is absent)."""
    for turn in row.get("turns", []):
        if turn.get("kind") == kind:
            return " ".join(str(turn.get("raw") or "").split())
    return ""


def score_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Yes/No accuracy, corpus BLEU-4 of target and trajectory, their bootstrap 95% intervals, and counts.

    ``yes_no_accuracy`` and the BLEU scores are on 0–100; ``unknown_rate`` is a fraction in [0, 1].
    """
    rows = _checked(rows)
    yn = yes_no_accuracy([answer_of(r, "yes_no") for r in rows], [r["references"]["yes_no"] for r in rows])
    results: dict[str, Any] = {
        "fingerprint": rows[0]["fingerprint"],
        "n_samples": len(rows),
        "yes_no_accuracy": yn.accuracy,
        "yes_no_accuracy_ci95": list(accuracy_ci(yn.correct, n_resamples=N_RESAMPLES, seed=BOOTSTRAP_SEED)),
        "unknown_rate": yn.unknown_rate,
        "n_unknown": yn.num_unknown,
        "n_missing": sum(1 for r in rows if r.get("missing")),
    }
    abnormal = [r for r in rows if r["label"] == "Yes"]
    results["n_abnormal"] = len(abnormal)
    signature = None
    for kind in ("target", "trajectory"):
        pairs = [(answer_of(r, kind), r["references"].get(kind)) for r in abnormal]
        if any(ref is None for _, ref in pairs):
            bad = next(r["sample_id"] for r, (_, ref) in zip(abnormal, pairs, strict=True) if ref is None)
            raise TvauError(f"abnormal sample {bad!r} has no {kind} reference", field=f"references.{kind}")
        if not pairs:
            results[f"{kind}_bleu4"] = None
            results[f"{kind}_bleu4_ci95"] = None
            continue
        hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
        bleu = corpus_bleu4(hyps, refs)
        signature = bleu.signature
        results[f"{kind}_bleu4"] = bleu.score
        results[f"{kind}_bleu4_ci95"] = list(
            bleu4_ci(hyps, refs, n_resamples=N_RESAMPLES, seed=BOOTSTRAP_SEED)
        )
    results["signature"] = signature
    results["sentence_bleu_signature"] = sentence_bleu("a", "a", smoothing=SENTENCE_SMOOTHING).signature
    results["bootstrap"] = bootstrap_description(n_resamples=N_RESAMPLES, seed=BOOTSTRAP_SEED)
    return results


def parse_answer(kind: str | None, raw: str) -> str:
    """Yes/No extraction for turn 1; whitespace-normalised text for the descriptions."""
    return extract_yes_no(raw) if kind == "yes_no" else " ".join(raw.split())


def sample_scores(turns: list[dict[str, Any]], gold: dict[str, str | None]) -> dict[str, Any]:
    """Per-sample scores: parsed Yes/No, its correctness, and sentence BLEU of the descriptions.

    ``turns`` carry ``kind`` and ``parsed``; the first turn of a kind counts, and an absent turn scores as an
    empty answer.
    """
    by_kind: dict[str, str] = {}
    for t in turns:
        by_kind.setdefault(t["kind"], t["parsed"])
    yes_no = by_kind.get("yes_no", parse_answer("yes_no", ""))
    scores: dict[str, Any] = {"yes_no": yes_no, "yes_no_correct": yes_no == gold["yes_no"]}
    for kind in ("target", "trajectory"):
        ref = gold.get(kind)
        scores[f"{kind}_bleu"] = (
            None
            if ref is None
            else sentence_bleu(by_kind.get(kind, ""), ref, smoothing=SENTENCE_SMOOTHING).score
        )
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
    if (
        scores.get("yes_no") != expected["yes_no"]
        or scores.get("yes_no_correct") != expected["yes_no_correct"]
    ):
        problems.append("scores.yes_no disagrees with the raw answer")
    for kind in ("target", "trajectory"):
        want = expected[f"{kind}_bleu"]
        got = scores.get(f"{kind}_bleu")
        if (want is None) != (got is None) or (want is not None and abs(want - got) > 1e-9):
            problems.append(f"scores.{kind}_bleu disagrees with the raw answer")
    return problems


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


__all__ = ["SENTENCE_SMOOTHING", "answer_of", "parse_answer", "row_problems", "sample_scores", "score_rows"]
