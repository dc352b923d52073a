"""The run folder's files and the shape of one run-log line: the harness writes them, the leaderboard reads them.

``RUNDIR/run.json`` (:data:`MANIFEST`) says what the run is, ``RUNDIR/samples.jsonl`` (:data:`LOG`) holds one
line per sample in the shape of :data:`ROW_SCHEMA`, and ``RUNDIR/results.json`` (:data:`RESULTS`) is
recomputed from the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .._io import atomic_write_text, iter_jsonl, read_json
from ..errors import TvauError
from ..schemas import error_message

LOG, MANIFEST, RESULTS = "samples.jsonl", "run.json", "results.json"
# Row fields that measure the machine, not the answers: two runs of one sample differ there and nowhere else.
TIMING_FIELDS = ("elapsed_s",)

_TURN = {
    "type": "object",
    "required": ["kind", "prompt", "raw", "parsed"],
    "properties": {
        "kind": {"enum": ["yes_no", "target", "trajectory"]},
        "prompt": {"type": "string"},
        "raw": {"type": "string"},
        "parsed": {"type": "string"},
    },
}
ROW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "one line of a run log (samples.jsonl)",
    "type": "object",
    "required": [
        "sample_id",
        "video_id",
        "label",
        "fingerprint",
        "input_hash",
        "turns",
        "references",
        "scores",
    ],
    "properties": {
        "sample_id": {"type": "string", "minLength": 1},
        "video_id": {"type": "string", "minLength": 1},
        "label": {"enum": ["Yes", "No"]},
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "input_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "turns": {"type": "array", "minItems": 1, "maxItems": 3, "items": _TURN},
        "references": {
            "type": "object",
            "required": ["yes_no", "target", "trajectory"],
            "properties": {
                "yes_no": {"enum": ["Yes", "No"]},
                "target": {"type": ["string", "null"]},
                "trajectory": {"type": ["string", "null"]},
            },
        },
        "scores": {
            "type": "object",
            "required": ["yes_no", "yes_no_correct", "target_bleu", "trajectory_bleu"],
            "properties": {
                "yes_no": {"enum": ["Yes", "No", "Unknown"]},
                "yes_no_correct": {"type": "boolean"},
                "target_bleu": {"type": ["number", "null"]},
                "trajectory_bleu": {"type": ["number", "null"]},
            },
        },
    },
}


@cache
def _row_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(ROW_SCHEMA)


def row_schema_errors(row: Any) -> list[jsonschema.ValidationError]:
    """Every violation of :data:`ROW_SCHEMA` in ``row``, ordered by field path (empty when valid)."""
    return sorted(_row_validator().iter_errors(row), key=lambda e: list(map(str, e.absolute_path)))


def read_log(log: Path, fingerprint: str) -> list[tuple[int, dict[str, Any]]]:
    """The log's ``(line, row)`` pairs, each checked against the row schema and the run's fingerprint."""
    rows = []
    for line, row in iter_jsonl(log):
        errors = row_schema_errors(row)
        if errors:
            e = errors[0]
            raise TvauError(
                error_message(e), path=log, line=line, field=".".join(map(str, e.absolute_path)) or None
            )
        if row["fingerprint"] != fingerprint:
            raise TvauError(
                f"fingerprint {row['fingerprint'][:12]} differs from the run's {fingerprint[:12]}",
                path=log,
                line=line,
                field="fingerprint",
                fix="a log must hold one run; rerun the model",
            )
        rows.append((line, row))
    if not rows:
        raise TvauError("the log is empty", path=log)
    return rows


def load_run(rundir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(run.json, log rows)`` of a run folder (a torn last line is left out; nothing is checked)."""
    rundir = Path(rundir)
    man = read_json(rundir / MANIFEST)
    log = rundir / LOG
    rows = [row for _, row in iter_jsonl(log, tolerate_torn_tail=True)] if log.is_file() else []
    return man, rows


def unique_rows(log: Path, pairs: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Rows by sample id from ``(line, row)`` pairs; a sample logged twice is an error naming both lines.

    Two processes appending to one log (before run folders were locked) leave such repeats.
    """
    rows: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    for line, row in pairs:
        sid = row.get("sample_id")
        if sid in rows:
            same = _answers(rows[sid]) == _answers(row)
            raise TvauError(
                f"sample {sid!r} is logged twice (first at line {first[sid]}"
                f"{', same answers' if same else ', different answers'})",
                path=log,
                line=line,
                field="sample_id",
                fix=f"run `tvau-bench score {log.parent} --repair` to keep the first copy of each sample"
                if same
                else "the log mixes two runs that disagree: rerun with --new-run",
            )
        rows[sid] = row
        first[sid] = line
    return rows


def repair_log(log: Path) -> int:
    """Rewrite ``log`` (atomically) without the repeats of a sample, keeping each first copy; returns how many
    lines were dropped. Repeats must have the same answers (timings aside); otherwise nothing is changed.

    A torn last line (a kill mid-append) is dropped too: its sample is simply run again.
    """
    kept: list[str] = []
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    dropped = 0
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    pairs = dict(iter_jsonl(log, tolerate_torn_tail=True))
    for no, text in enumerate(lines, start=1):
        if no not in pairs:  # a blank line, or the torn tail
            dropped += bool(text.strip())
            continue
        row = pairs[no]
        sid = row.get("sample_id")
        if sid not in first:
            first[sid] = (no, row)
            kept.append(text if text.endswith("\n") else text + "\n")
            continue
        if _answers(first[sid][1]) != _answers(row):
            raise TvauError(
                f"sample {sid!r} is logged twice with different answers (lines {first[sid][0]} and {no}): "
                "no copy can be chosen as the run's",
                path=log,
                line=no,
                field="sample_id",
                fix="the log mixes two runs that disagree: rerun with --new-run",
            )
        dropped += 1
    if dropped:
        atomic_write_text(log, "".join(kept))
    return dropped


def _answers(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in TIMING_FIELDS}
