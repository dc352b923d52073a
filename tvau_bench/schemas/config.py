"""Checking user-written configs (recipes, model configs) against their JSON Schemas.

The schema is the one declaration of every key, type and range. JSON Schema's ``minimum``/``maximum`` let NaN
through (every comparison with NaN is false), so non-finite numbers are refused here first, anywhere in the
config. Messages name the file, the dotted field and, as the fix, the field's ``description`` in the schema.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import TvauError
from . import load_schema

_MAX_SHOWN = 200  # characters of an offending value quoted in a message


def check_config(obj: Any, name: str, *, path: str | Path | None = None, fix: str | None = None) -> None:
    """Raise :class:`TvauError` for the first non-finite number or violation of schema ``name`` in ``obj``.

    ``fix`` is the advice for problems the schema does not describe (e.g. the file is not a mapping).
    """
    bad = _non_finite(obj, "")
    if bad is not None:
        raise TvauError(
            f"{bad[1]} is not a finite number", path=path, field=bad[0] or None, fix="write a finite number"
        )
    errors = sorted(_strict_validator(name).iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    e = errors[0]
    field = ".".join(map(str, e.absolute_path))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if e.validator == "additionalProperties" and isinstance(e.instance, dict):
        allowed = sorted(e.schema.get("properties", {}))
        key = sorted(set(e.instance) - set(allowed), key=str)[0]
        raise TvauError(
            f"unknown key {key!r}{more}",
            path=path,
            field=f"{field}.{key}" if field else str(key),
            fix=f"use one of {allowed}",
        )
    message = e.message if len(e.message) <= _MAX_SHOWN else e.message[:_MAX_SHOWN] + "..."
    described = e.schema.get("description") if isinstance(e.schema, dict) else None
    raise TvauError(
        f"{message}{more}",
        path=path,
        field=field or None,
        fix=f"write {described}" if described else (fix or f"see tvau_bench/schemas/{name}.json"),
    )


@cache
def _strict_validator(name: str) -> jsonschema.protocols.Validator:
    """The schema's validator, except that ``integer`` refuses ``8.0``: a count written as a float is a typo."""
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = cls.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)
    )
    return jsonschema.validators.extend(cls, type_checker=checker)(schema)


def _non_finite(obj: Any, where: str) -> tuple[str, float] | None:
    """``(field, value)`` of the first NaN or infinity in ``obj``, depth first."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return where, obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list | tuple) else ()
    for k, v in items:
        found = _non_finite(v, f"{where}.{k}" if where else str(k))
        if found is not None:
            return found
    return None
