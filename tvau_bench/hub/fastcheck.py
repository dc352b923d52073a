"""A fast yes/no JSON Schema check for the keywords the shipped schemas use, to pre-screen millions of rows.

``jsonschema`` costs about half a millisecond per track row; a hub export of UBnormal has millions. The checker
compiled here answers only "valid or not" (roughly 20x faster); callers run ``jsonschema`` on the rows it
rejects, so every message still comes from ``jsonschema``. A schema using any keyword outside
:data:`SUPPORTED` is refused at compile time (``compile_checker`` returns None) rather than half-checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from ..schemas import load_schema

Check = Callable[[Any], bool]
ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs", "$comment", "examples", "default"}
SUPPORTED = {
    "type",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "$ref",
} | ANNOTATIONS


class Unsupported(Exception):
    """The schema uses a keyword this checker does not implement."""


@cache
def checker_for(name: str) -> Check | None:
    """The compiled checker of shipped schema ``name``, or None when it cannot be compiled exactly."""
    return compile_checker(load_schema(name))


def compile_checker(schema: dict[str, Any]) -> Check | None:
    """A function ``record -> bool`` equal to ``jsonschema``'s validity for ``schema``, or None if unsupported."""
    try:
        return _compile(schema, schema, {})
    except Unsupported:
        return None


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _PY_TYPES[kind])


_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "null": type(None),
    "object": dict,
    "array": list,
}


def _enum_equal(a: Any, b: Any) -> bool:
    """JSON equality for enum members (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _compile(node: Any, root: dict[str, Any], memo: dict[int, Check]) -> Check:
    if node is True:
        return lambda v: True
    if node is False:
        return lambda v: False
    if not isinstance(node, dict):
        raise Unsupported(repr(node))
    if id(node) in memo:
        return memo[id(node)]
    unknown = set(node) - SUPPORTED
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise Unsupported(f"$ref {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        checks.append(_compile(target, root, memo))
    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        if any(k not in (*_PY_TYPES, "integer", "number") for k in kinds):
            raise Unsupported(f"type {kinds}")
        checks.append(_type_check(tuple(kinds)))
    if "enum" in node:
        members = list(node["enum"])
        checks.append(lambda v, ms=members: any(_enum_equal(v, m) for m in ms))
    checks += _numeric(node) + _string(node) + _object(node, root, memo) + _array(node, root, memo)

    check = _all_of(tuple(checks))
    memo[id(node)] = check
    return check


def _all_of(checks: tuple[Check, ...]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)

    def check(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 - an explicit loop is measurably faster than all(<genexpr>) here
            if not c(v):
                return False
        return True

    return check


def _type_check(kinds: tuple[str, ...]) -> Check:
    """Fast paths for the common single types; the general case defers to :func:`_is_type`."""
    if kinds == ("string",):
        return lambda v: isinstance(v, str)
    if kinds == ("integer",):
        return lambda v: type(v) is int or _is_type(v, "integer")
    if kinds == ("boolean",):
        return lambda v: isinstance(v, bool)
    if kinds == ("object",):
        return lambda v: isinstance(v, dict)
    if kinds == ("array",):
        return lambda v: isinstance(v, list)
    return lambda v: any(_is_type(v, k) for k in kinds)


def _num(v: Any) -> bool:
    return type(v) is int or type(v) is float or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _numeric(node: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "minimum" in node:
        out.append(lambda v, m=node["minimum"]: not _num(v) or v >= m)
    if "maximum" in node:
        out.append(lambda v, m=node["maximum"]: not _num(v) or v <= m)
    if "exclusiveMinimum" in node:
        out.append(lambda v, m=node["exclusiveMinimum"]: not _num(v) or v > m)
    if "exclusiveMaximum" in node:
        out.append(lambda v, m=node["exclusiveMaximum"]: not _num(v) or v < m)
    return out


def _string(node: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "minLength" in node:
        out.append(lambda v, m=node["minLength"]: not isinstance(v, str) or len(v) >= m)
    if "maxLength" in node:
        out.append(lambda v, m=node["maxLength"]: not isinstance(v, str) or len(v) <= m)
    if "pattern" in node:
        rx = re.compile(node["pattern"])
        out.append(lambda v, r=rx: not isinstance(v, str) or r.search(v) is not None)
    return out


def _object(node: dict[str, Any], root: dict[str, Any], memo: dict[int, Check]) -> list[Check]:
    out: list[Check] = []
    props = {k: _compile(s, root, memo) for k, s in (node.get("properties") or {}).items()}
    required = tuple(node.get("required", ()))
    extra = node.get("additionalProperties", True)
    extra_check = None if extra is True else _compile(extra, root, memo)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        if any(k not in v for k in required):
            return False
        for k, item in v.items():
            c = props.get(k, extra_check)
            if c is not None and not c(item):
                return False
        return True

    if props or required or extra_check is not None:
        out.append(check)
    return out


def _array(node: dict[str, Any], root: dict[str, Any], memo: dict[int, Check]) -> list[Check]:
    out: list[Check] = []
    prefix = [_compile(s, root, memo) for s in node.get("prefixItems", [])]
    rest = node.get("items")
    rest_check = None if rest is None or rest is True else _compile(rest, root, memo)
    lo, hi = node.get("minItems"), node.get("maxItems")

    def check(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        if (lo is not None and len(v) < lo) or (hi is not None and len(v) > hi):
            return False
        for i, item in enumerate(v):
            c = prefix[i] if i < len(prefix) else rest_check
            if c is not None and not c(item):
                return False
        return True

    if prefix or rest_check is not None or lo is not None or hi is not None:
        out.append(check)
    return out
