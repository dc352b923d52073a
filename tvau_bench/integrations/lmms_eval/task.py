"""The functions the task YAMLs name (through ``tasks/utils.py``): lmms-eval's task protocol over the harness.

Two variants share them. Own history (``generate_until_multi_round``): one doc per sample, round ``r`` asks
turn ``r + 1`` with the model's earlier answers as history. Gold history (``generate_until``, which every
lmms-eval model implements): :func:`process_docs_turns` makes one doc per asked turn, each shown the gold
earlier answers. Chat models get :func:`doc_to_messages` (the harness's message list with its roles); "simple"
models get :func:`doc_to_visual` and :func:`doc_to_text` (a flattened transcript: logged as such, and refused
at admission). :func:`process_results` logs the raw answers with the evidence of what was shown, and the
aggregations score them with :func:`tvau_bench.harness.scoring.score_rows`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..._io import sha256_json
from ...errors import TvauError
from ...harness.messages import gold_answers, turn_kinds
from ...harness.scoring import score_rows
from .inputs import (
    TURN_FIELD,
    TaskContext,
    TaskSettings,
    chat_messages,
    flat_images,
    flat_text,
    sample_from_doc,
    settings_from_kwargs,
)

# The task's metrics, named as in results.json; every one logs the sample's whole record.
METRICS = {
    "tvau_yes_no_accuracy": "yes_no_accuracy",
    "tvau_target_bleu4": "target_bleu4",
    "tvau_trajectory_bleu4": "trajectory_bleu4",
}
RECORD_FORMAT = "tvau-lmms-eval-record/1"
# Rows scored by lmms-eval itself carry no run fingerprint (the converter checks the evidence instead).
_UNCHECKED = "lmms-eval"

_lock = threading.Lock()
_contexts: dict[TaskSettings, TaskContext] = {}
_evidence: dict[str, list[dict[str, Any]]] = {}
_scores: dict[str, dict[str, Any]] = {}


def context(kwargs: dict[str, Any] | None) -> TaskContext:
    """The (cached) context of a task's ``lmms_eval_specific_kwargs``: loads its dataset once per process."""
    settings = settings_from_kwargs(kwargs)
    with _lock:
        ctx = _contexts.get(settings)
    if ctx is None:
        ctx = TaskContext(settings)
        with _lock:
            ctx = _contexts.setdefault(settings, ctx)
    return ctx


def _doc_key(sample: dict[str, Any]) -> str:
    return sha256_json(sample)


def _note_evidence(ctx: TaskContext, sample: dict[str, Any], rendering: str) -> None:
    """Remember what this sample was shown, for :func:`process_results` (same process, same doc)."""
    key = _doc_key(sample)
    with _lock:
        known = _evidence.get(key, [])
        if any(e["fingerprint"] == ctx.fingerprint and e["rendering"] == rendering for e in known):
            return
    ev = ctx.evidence(sample, rendering)
    with _lock:
        _evidence.setdefault(key, []).append(ev)


def _turn(
    doc: dict[str, Any], kwargs: dict[str, Any] | None, round_idx: int | None, previous_output: Any
) -> tuple[TaskContext, dict[str, Any], int, list[str]] | None:
    """``(context, sample, number of turns asked, answers shown)`` of a request; ``None`` after the last turn."""
    ctx = context(kwargs)
    sample = ctx.record(doc)
    if TURN_FIELD in doc:
        if ctx.settings.history != "gold":
            raise TvauError(
                "per-turn docs need history gold", field="lmms_eval_specific_kwargs.history", fix="set gold"
            )
        if round_idx:
            return None
        turn = int(doc[TURN_FIELD])
    else:
        turn = round_idx or 0
        if turn >= len(turn_kinds(sample)):
            return None
    return ctx, sample, turn + 1, ctx.shown(sample, turn, previous_output)


def doc_to_messages(
    doc: dict[str, Any],
    lmms_eval_specific_kwargs: dict[str, Any] | None = None,
    round_idx: int | None = None,
    previous_output: Sequence[str] | None = None,
    previous_round_info: Any = None,
):
    """Chat models: the protocol's message list (exemplar exchange, frames, questions, history) with roles."""
    req = _turn(doc, lmms_eval_specific_kwargs, round_idx, previous_output)
    if req is None:
        return None, True, previous_output, previous_round_info
    ctx, sample, n_turns, shown = req
    messages = chat_messages(ctx.messages(sample, n_turns, shown))
    _note_evidence(ctx, sample, "chat")
    if round_idx is None:
        return messages
    return messages, False, previous_output, previous_round_info


def doc_to_visual(doc: dict[str, Any], lmms_eval_specific_kwargs: dict[str, Any] | None = None) -> list:
    """Simple models: the exemplar's and the sample's frames, in the order the message list shows them."""
    ctx, sample, n_turns, shown = _turn(doc, lmms_eval_specific_kwargs, None, None)
    _note_evidence(ctx, sample, "flattened")
    return flat_images(ctx.messages(sample, n_turns, shown))


def doc_to_text(
    doc: dict[str, Any],
    lmms_eval_specific_kwargs: dict[str, Any] | None = None,
    previous_output: Sequence[str] | None = None,
    round_idx: int | None = None,
    previous_round_info: Any = None,
):
    """Simple models: the flattened transcript of the turn (and, from round 1 on, the frames again).

    lmms-eval also logs the round-0 text as the sample's ``input`` for every model, so it is built from frame
    references only (no decoding).
    """
    req = _turn(doc, lmms_eval_specific_kwargs, round_idx, previous_output)
    if round_idx is None:
        ctx, sample, n_turns, shown = req
        return flat_text(ctx.messages(sample, n_turns, shown, images=False))
    if req is None:
        return None, None, True, previous_output, previous_round_info
    ctx, sample, n_turns, shown = req
    messages = ctx.messages(sample, n_turns, shown)
    _note_evidence(ctx, sample, "flattened")
    return flat_images(messages), flat_text(messages), False, previous_output, previous_round_info


def doc_to_target(doc: dict[str, Any]) -> str:
    """The reference of the doc's first asked turn (lmms-eval logs it; scoring uses the full references)."""
    sample = sample_from_doc(doc)
    kind = turn_kinds(sample)[int(doc.get(TURN_FIELD, 0))]
    return gold_answers(sample)[kind] or ""


def process_docs_turns(dataset):
    """Gold history: one doc per asked turn (1 for normal clips, 3 for abnormal ones), in sample order."""
    import datasets

    features = datasets.Features({**dataset.features, TURN_FIELD: datasets.Value("int32")})
    rows = [{**doc, TURN_FIELD: t} for doc in dataset for t in range(len(turn_kinds(doc)))]
    return datasets.Dataset.from_list(rows, features=features)


def _answers(results: Sequence[Any]) -> list[str]:
    """The raw answers of one doc's request, round by round (a model may return one string or a list)."""
    if not results:
        return []
    out = results[0]
    if out is None:
        return [""]
    if isinstance(out, str):
        return [out]
    return ["" if a is None else str(a) for a in out]


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The doc's record (raw answers per turn, references, evidence), logged under every metric."""
    sample = sample_from_doc(doc)
    kinds = turn_kinds(sample)
    answers = _answers(results)
    if TURN_FIELD in doc:
        turn = int(doc[TURN_FIELD])
        turns = [{"kind": kinds[turn], "raw": answers[0] if answers else ""}]
    else:
        turns = [{"kind": k, "raw": a} for k, a in zip(kinds, answers, strict=False)]
    with _lock:
        evidence = list(_evidence.get(_doc_key(sample), []))
    record = {
        "format": RECORD_FORMAT,
        "sample_id": sample["sample_id"],
        "video_id": sample["video_id"],
        "label": sample["label"],
        "references": gold_answers(sample),
        "turns": turns,
        "evidence": evidence,
    }
    return dict.fromkeys(METRICS, record)


def merge_records(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per sample, its turns gathered from per-turn docs in protocol order; a repeated turn is an
    error."""
    merged: dict[str, dict[str, Any]] = {}
    for rec in records:
        sid = rec["sample_id"]
        into = merged.setdefault(sid, {**rec, "turns": [], "evidence": []})
        for t in rec["turns"]:
            if any(u["kind"] == t["kind"] for u in into["turns"]):
                raise TvauError(f"turn {t['kind']!r} of sample {sid!r} is answered twice", field="turns")
            into["turns"].append(t)
        for ev in rec.get("evidence") or []:
            if ev not in into["evidence"]:
                into["evidence"].append(ev)
    order = {"yes_no": 0, "target": 1, "trajectory": 2}
    for rec in merged.values():
        rec["turns"].sort(key=lambda t: order[t["kind"]])
    return merged


def scored(record: dict[str, Any]) -> bool:
    """Whether a sample counts (ShanghaiTech: the exemplar's video leaves the scored set)."""
    return all(ev.get("scored", True) for ev in record.get("evidence") or [])


def score_records(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``tvau-bench``'s results (same parsing, corpus BLEU-4 and signature) of logged records (cached)."""
    key = sha256_json(list(records))
    with _lock:
        hit = _scores.get(key)
    if hit is None:
        rows = [{**rec, "fingerprint": _UNCHECKED} for rec in merge_records(records).values() if scored(rec)]
        hit = score_rows(rows)
        with _lock:
            _scores[key] = hit
    return hit


def aggregate_yes_no_accuracy(records: Sequence[dict[str, Any]]) -> float:
    """Yes/No accuracy (0–100) over the scored samples."""
    return score_records(records)["yes_no_accuracy"]


def aggregate_target_bleu4(records: Sequence[dict[str, Any]]) -> float | None:
    """Corpus BLEU-4 (sacrebleu 13a, 0–100) of the target descriptions of the abnormal samples."""
    return score_records(records)["target_bleu4"]


def aggregate_trajectory_bleu4(records: Sequence[dict[str, Any]]) -> float | None:
    """Corpus BLEU-4 (sacrebleu 13a, 0–100) of the trajectory descriptions of the abnormal samples."""
    return score_records(records)["trajectory_bleu4"]
