"""An lmms-eval ``--log_samples`` file of a tvau_* task → a ``tvau-bench submit`` predictions file.

Admission needs proof that the model saw the protocol's inputs. Every logged sample carries the evidence its
task recorded when it built the inputs (run fingerprint, digest of the message list by frame reference,
digest of the decoded pixels, rendering). Here all of it is recomputed from the dataset and the source videos
with the harness's code, and any difference refuses the log: another dataset, prompt set, exemplar, history,
resolution cap, other pixels, or a flattened transcript instead of the chat messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._io import iter_jsonl, write_jsonl
from ...errors import TvauError
from ...harness.messages import turn_kinds
from .inputs import TaskContext, TaskSettings
from .task import METRICS, RECORD_FORMAT, merge_records

CHECKED = ("fingerprint", "protocol_version", "prompt_set", "exemplar", "input_hash", "frames_sha256")


@dataclass
class Conversion:
    """The predictions (``submission`` lines) of a checked log and the protocol they were produced under."""

    predictions: list[dict[str, Any]]
    settings: TaskSettings
    fingerprint: str
    missing: list[str] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)

    def submit_command(self, predictions: str | Path, out: str | Path, name: str) -> str:
        """The ``tvau-bench submit`` command that scores these predictions under the same protocol."""
        s = self.settings
        return (
            f"tvau-bench submit {predictions} --dataset {s.dataset} --split {s.split} --history {s.history} "
            f"--max-side {s.max_side} --exemplar-seed {s.exemplar_seed} --name {name} --out {out}"
        )


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The tvau records of an lmms-eval samples JSONL file (each with its line number as ``_line``)."""
    records = []
    for line, obj in iter_jsonl(path):
        rec = next((obj[m] for m in METRICS if isinstance(obj, dict) and m in obj), None)
        if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT:
            raise TvauError(
                "not a sample of a tvau_* lmms-eval task",
                path=path,
                line=line,
                field=next(iter(METRICS)),
                fix="pass the *_samples_tvau_*.jsonl file that `lmms-eval --log_samples` wrote",
            )
        records.append({**rec, "_line": line})
    if not records:
        raise TvauError("no samples logged", path=path)
    return records


def convert(
    samples_file: str | Path,
    dataset: str,
    video_root: str | Path,
    *,
    allow_missing: bool = False,
) -> Conversion:
    """Check the evidence of every logged sample against the protocol recomputed from ``dataset`` and the
    source videos under ``video_root``, and return the predictions; any mismatch is a :class:`TvauError`."""
    records = read_records(samples_file)
    lines = {r["sample_id"]: r["_line"] for r in records}
    merged = merge_records({k: v for k, v in r.items() if k != "_line"} for r in records)
    settings = _settings(merged, samples_file, lines)
    ctx = TaskContext(TaskSettings(dataset=dataset, video_root=str(video_root), **settings))
    predictions, unscored = [], []
    for sid, rec in sorted(merged.items()):
        try:
            sample = ctx.data.sample(sid)
        except KeyError:
            raise TvauError(
                f"sample {sid!r} is not in dataset {ctx.data.name!r}",
                path=samples_file,
                line=lines[sid],
                fix="pass the --dataset the lmms-eval task read",
            ) from None
        if sid not in ctx.scored_ids:
            unscored.append(sid)
            continue
        _check_evidence(rec["evidence"][0], ctx.evidence(sample, "chat"), samples_file, lines[sid], sid)
        predictions.append({"sample_id": sid, "answers": _answers(rec, sample)})
    missing = sorted(ctx.scored_ids - {p["sample_id"] for p in predictions})
    if missing and not allow_missing:
        shown = ", ".join(repr(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TvauError(
            f"{len(missing)} of {len(ctx.scored_ids)} scored samples are not in the log: {shown}",
            path=samples_file,
            fix="run lmms-eval without --limit, or pass --allow-missing (missing samples count as wrong)",
        )
    return Conversion(predictions, ctx.settings, ctx.fingerprint, missing, unscored)


def _settings(merged: dict[str, dict[str, Any]], path: str | Path, lines: dict[str, int]) -> dict[str, Any]:
    """The task settings the log was run under (the first sample's; every sample is then checked against the
    protocol they define). Only chat-rendered samples with one evidence entry qualify."""
    for sid, rec in merged.items():
        evidence = rec.get("evidence") or []
        where = {"path": path, "line": lines[sid], "field": "evidence"}
        if not evidence:
            raise TvauError(
                f"sample {sid!r} was logged without evidence of what the model was shown",
                **where,
                fix="rerun lmms-eval with a model that builds its inputs through the task (not --use_cache "
                "replays, not a model that ignores the visuals)",
            )
        if any(e.get("rendering") != "chat" for e in evidence):
            raise TvauError(
                f"sample {sid!r} was shown a flattened transcript (an lmms-eval 'simple' model), not the "
                "protocol's chat messages",
                **where,
                fix="run a chat model implementation (lmms-eval's default; do not pass --force_simple)",
            )
        if len(evidence) > 1:
            raise TvauError(
                f"sample {sid!r} was built under {len(evidence)} task settings in one process",
                **where,
                fix="run one tvau task per lmms-eval invocation for submission",
            )
    first = min(merged, key=lambda sid: lines[sid])
    return _checked_settings(merged[first]["evidence"][0].get("settings"), path)


def _checked_settings(logged: Any, path: str | Path) -> dict[str, Any]:
    """The protocol options of the logged settings, type-checked (a log is only ever read as data)."""
    types = {"split": str, "history": str, "max_side": int, "exemplar_seed": int}
    if not isinstance(logged, dict):
        raise TvauError("the logged settings are not an object", path=path, field="evidence.settings")
    for key, typ in types.items():
        if not isinstance(logged.get(key), typ) or isinstance(logged.get(key), bool):
            raise TvauError(f"must be {typ.__name__}", path=path, field=f"evidence.settings.{key}")
    return {key: logged[key] for key in types}


def _check_evidence(logged: dict[str, Any], expected: dict[str, Any], path, line: int, sid: str) -> None:
    for key in CHECKED:
        if logged.get(key) != expected[key]:
            what = {
                "fingerprint": "the protocol (dataset records, prompts, exemplar, history, cap, generation)",
                "protocol_version": "the protocol version",
                "prompt_set": "the prompt set",
                "exemplar": "the one-shot exemplar",
                "input_hash": "the message list (prompts, exemplar dialogue, frame order, history)",
                "frames_sha256": "the decoded pixels of the exemplar and sample frames",
            }[key]
            raise TvauError(
                f"sample {sid!r} was not shown the protocol's inputs: {what} differ "
                f"(logged {str(logged.get(key))[:16]}, expected {str(expected[key])[:16]})",
                path=path,
                line=line,
                field=f"evidence.{key}",
                fix="rerun lmms-eval with the tvau task YAMLs of this tvau-bench version, the same dataset and "
                "the same source videos",
            )


def _answers(record: dict[str, Any], sample: dict[str, Any]) -> dict[str, str | None]:
    """The raw answers by turn kind; turns the model did not answer are empty (scored as wrong)."""
    raw = {t["kind"]: t["raw"] for t in record["turns"]}
    asked = turn_kinds(sample)
    return {
        "yes_no": raw.get("yes_no", ""),
        "target": raw.get("target", "") if "target" in asked else None,
        "trajectory": raw.get("trajectory", "") if "trajectory" in asked else None,
    }


def write_predictions(path: str | Path, predictions: Sequence[dict[str, Any]]) -> None:
    """Write the predictions JSONL (atomic)."""
    write_jsonl(path, predictions)


def submit_checked(
    conversion: Conversion,
    predictions: str | Path,
    rundir: str | Path,
    *,
    name: str,
    allow_missing: bool = False,
) -> dict[str, Any]:
    """Run ``tvau-bench submit`` on the converted predictions under the log's protocol settings, and check that
    the run's fingerprint is the one the lmms-eval task logged."""
    from ...harness.runner import RunOptions, submit

    s = conversion.settings
    opts = RunOptions(
        dataset=s.dataset,
        out=Path(rundir),
        split=s.split,
        shots=1,
        history=s.history,
        exemplar_seed=s.exemplar_seed,
        max_side=s.max_side,
    )
    results = submit(predictions, opts, name=name, allow_missing=allow_missing)
    if results["fingerprint"] != conversion.fingerprint:
        raise TvauError(
            f"the submitted run's fingerprint {results['fingerprint'][:12]} is not the lmms-eval task's "
            f"{conversion.fingerprint[:12]}",
            path=rundir,
            fix="the lmms-eval integration is out of step with the harness; report it (do not add this run)",
        )
    return results
