"""Predictions files handed in instead of a model: validated, bounded, and only ever read as data.

One JSON object per line: ``{"sample_id": str, "answers": {"yes_no": str, "target": str|null,
"trajectory": str|null}}`` (schema ``submission``). Nothing in a submission is executed or used as a path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .._io import lone_surrogate
from ..errors import TvauError, excerpt
from ..schemas import schema_errors

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
Answers = dict[str, str | None]


@dataclass
class Submission:
    """Validated answers by sample id, and the ids that were missing (only with ``allow_missing``)."""

    answers: dict[str, Answers]
    missing: list[str] = field(default_factory=list)


def load_submission(
    path: str | Path, sample_ids: Iterable[str], *, allow_missing: bool = False
) -> Submission:
    """Read and check ``path`` against the expected ``sample_ids``; every problem names the line and field."""
    path = Path(path)
    if not path.is_file():
        raise TvauError("predictions file not found", path=path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TvauError(f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit", path=path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    return parse_submission(data, list(sample_ids), allow_missing=allow_missing, where=str(path))


def parse_submission(
    data: bytes, sample_ids: list[str], *, allow_missing: bool = False, where: str = "<predictions>"
) -> Submission:
    """Pure part of :func:`load_submission`: check the bytes of a predictions file."""
    expected = set(sample_ids)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TvauError("not valid UTF-8", path=where, line=line, fix="save the file as UTF-8") from None
    answers: dict[str, Answers] = {}
    first_line: dict[str, int] = {}
    for no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            raise TvauError(f"line is over the {MAX_LINE_BYTES}-byte limit", path=where, line=no)
        try:
            obj = json.loads(line, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            raise TvauError(
                f"invalid JSON: {exc}", path=where, line=no, fix="write one JSON object per line"
            ) from None
        bad = lone_surrogate(obj)
        if bad is not None:
            raise TvauError(
                "holds a lone surrogate escape (such as \\ud800), which is not Unicode text",
                path=where,
                line=no,
                field=excerpt(bad) or None,
                fix="write the character itself, or escape both halves of its surrogate pair",
            )
        errors = schema_errors(obj, "submission")
        if errors:
            fld, _, msg = errors[0].partition(": ")
            raise TvauError(
                msg, path=where, line=no, field=fld, fix="follow tvau_bench/schemas/submission.json"
            )
        sid = obj["sample_id"]
        if sid in first_line:
            raise TvauError(
                f"duplicate sample_id {sid!r} (first on line {first_line[sid]})",
                path=where,
                line=no,
                field="sample_id",
            )
        if sid not in expected:
            raise TvauError(
                f"unknown sample_id {sid!r}: not in the evaluated split",
                path=where,
                line=no,
                field="sample_id",
                fix="check --dataset and --split",
            )
        first_line[sid] = no
        a = obj["answers"]
        answers[sid] = {"yes_no": a["yes_no"], "target": a.get("target"), "trajectory": a.get("trajectory")}
    missing = [s for s in sample_ids if s not in answers]
    if missing and not allow_missing:
        shown = ", ".join(repr(s) for s in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise TvauError(
            f"{len(missing)} of {len(sample_ids)} samples have no answers: {shown}",
            path=where,
            fix="answer every sample, or pass --allow-missing (missing samples then count as wrong)",
        )
    return Submission(answers=answers, missing=missing)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")
