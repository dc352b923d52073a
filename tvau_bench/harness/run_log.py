"""The run folder's files and the shape of one run-log line: the harness writes them, the leaderboard reads them.

``RUNDIR/run.json`` (:data:`MANIFEST`) says what the run is, ``RUNDIR/samples.jsonl`` (:data:`LOG`) holds one
line per sample in the shape of :data:`ROW_SCHEMA`, and ``RUNDIR/results.json`` (:data:`RESULTS`) is
recomputed from the log.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .._io import iter_jsonl, read_json
from ..errors import TvauError

LOG, MANIFEST, RESULTS = "samples.jsonl", "run.json", "results.json"

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
            raise TvauError(e.message, path=log, line=line, field=".".join(map(str, e.absolute_path)) or None)
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
