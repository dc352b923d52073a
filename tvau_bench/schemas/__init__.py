"""JSON Schemas of the published records: the single source of truth for every config and file format.

``SCHEMA_VERSION`` is written into every exported dataset card and checked on load.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from ..errors import EXCERPT_CHARS, TvauError, excerpt

SCHEMA_VERSION = "1.0"
NAMES = ("sample", "video", "track")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` (e.g. ``"sample"``) shipped inside the package."""
    try:
        text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TvauError(f"unknown schema {name!r}", fix=f"use one of {sorted(available())}") from None
    return json.loads(text)


def available() -> list[str]:
    """Names of the shipped schemas."""
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".json"))


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_errors(obj: Any, name: str) -> list[str]:
    """Every violation of schema ``name`` in ``obj``, as ``field.path: message`` strings (empty when valid)."""
    errors = sorted(_validator(name).iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{excerpt('.'.join(map(str, e.absolute_path))) or '<root>'}: {error_message(e)}" for e in errors]


def error_message(error: jsonschema.ValidationError) -> str:
    """The validator's message with the offending value cut to an excerpt (jsonschema repeats it whole)."""
    value = repr(error.instance)
    message = error.message.replace(value, excerpt(value)) if len(value) > EXCERPT_CHARS else error.message
    return excerpt(message, EXCERPT_CHARS + 80)  # values echoed otherwise, e.g. unexpected keys


def validate(obj: Any, name: str, *, path: str | None = None, line: int | None = None) -> None:
    """Raise :class:`TvauError` naming the file, line and field of the first violation of schema ``name``."""
    errs = schema_errors(obj, name)
    if errs:
        field, _, msg = errs[0].partition(": ")
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise TvauError(
            f"{msg}{more}",
            path=path,
            line=line,
            field=field,
            fix=f"make the record match the `{name}` schema (tvau_bench/schemas/{name}.json)",
        )
