"""The compiled yes/no schema check agrees with jsonschema on valid and on randomly broken records."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hub_fixtures import build_records
from hypothesis import given, settings
from hypothesis import strategies as st

from tvau_bench.hub.fastcheck import checker_for, compile_checker
from tvau_bench.hub.features import CONFIGS
from tvau_bench.schemas import schema_errors

RECORDS = build_records()
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10**6)
    | st.sampled_from([0.0, 1.0, 0.5, 1.5, -0.5, 2.0, float("nan")])
    | st.sampled_from(["", "x", "Yes", "No", "train", "yes_no", "bad id!", "a" * 201]),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(["size", "counts", "k"]), inner)
    ),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def broken(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    config = draw(st.sampled_from(list(CONFIGS)))
    rec = copy.deepcopy(draw(st.sampled_from(RECORDS[config])))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(rec)[1:]))
        parent = rec
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent["unexpected"] = draw(json_values)
        else:
            parent.append(draw(json_values))
        if not _paths(rec)[1:]:
            break
    return config, rec


@pytest.mark.parametrize("config", list(CONFIGS))
def test_valid_records_pass(config: str) -> None:
    check = checker_for(CONFIGS[config])
    assert check is not None
    assert all(check(r) for r in RECORDS[config])


@settings(max_examples=400, deadline=None)
@given(broken())
def test_agrees_with_jsonschema(case: tuple[str, dict[str, Any]]) -> None:
    config, rec = case
    assert checker_for(CONFIGS[config])(rec) == (schema_errors(rec, CONFIGS[config]) == [])


def test_unsupported_keywords_are_refused() -> None:
    assert compile_checker({"type": "object", "patternProperties": {"^x": {"type": "string"}}}) is None
    assert compile_checker({"oneOf": [{"type": "string"}]}) is None
    assert compile_checker({"$ref": "https://example.org/x.json"}) is None
    check = compile_checker({"type": ["integer", "null"], "minimum": 2})
    assert check is not None and check(None) and check(3) and check(2.0) and not check(1) and not check(True)
