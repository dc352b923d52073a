"""The Arrow/datasets features are derived from the JSON Schemas and agree with them field by field."""

from __future__ import annotations

from typing import Any

import pytest
from datasets import List, Value
from hub_fixtures import build_records

from tvau_bench.errors import TvauError
from tvau_bench.hub.features import (
    CONFIGS,
    arrow_schema,
    features_for,
    features_from_schema,
    from_arrow_row,
    to_arrow_row,
)
from tvau_bench.schemas import load_schema, schema_errors

SCALARS = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _agree(node: dict[str, Any], feat: Any, root: dict[str, Any], where: str) -> None:
    """Independent walk: every schema field has a feature of the matching type, and nothing more."""
    node = _resolve(node, root)
    if "enum" in node:
        assert feat == Value("string"), where
        return
    types = node["type"] if isinstance(node["type"], list) else [node["type"]]
    (kind,) = [t for t in types if t != "null"]
    if kind in SCALARS:
        assert feat == Value(SCALARS[kind]), where
    elif kind == "array":
        assert isinstance(feat, List), where
        item = node.get("items") if isinstance(node.get("items"), dict) else node["prefixItems"][0]
        if node.get("minItems") is not None and node.get("minItems") == node.get("maxItems"):
            assert feat.length == node["minItems"], where
        else:
            assert feat.length in (None, -1), where
        _agree(item, feat.feature, root, where + "[]")
    elif "properties" in node:
        assert isinstance(feat, dict) and list(feat) == list(node["properties"]), where
        for k, sub in node["properties"].items():
            _agree(sub, feat[k], root, f"{where}.{k}")
    else:  # free-keyed map -> list of {key, value}
        assert isinstance(feat, List) and list(feat.feature) == ["key", "value"], where
        _agree(node["additionalProperties"], feat.feature["value"], root, where + ".*")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_features_agree_with_schema(config: str) -> None:
    schema = load_schema(CONFIGS[config])
    _agree(schema, dict(features_for(config)), schema, config)
    assert arrow_schema(config).equals(features_for(config).arrow_schema, check_metadata=False)
    assert b"huggingface" in arrow_schema(config).metadata


def test_selected_types() -> None:
    samples, videos, tracks = (features_for(c) for c in ("samples", "videos", "tracks"))
    assert samples["frame_indices"] == List(Value("int64"))
    assert samples["dialogue"] == List(
        {
            "turn": Value("int64"),
            "kind": Value("string"),
            "question": Value("string"),
            "answer": Value("string"),
        }
    )
    assert samples["target_id"] == Value("string")
    assert tracks["box"] == List(Value("int64"), length=4)
    assert tracks["mask"] == {"size": List(Value("int64"), length=2), "counts": Value("string")}
    assert videos["abnormal_intervals"] == List(List(Value("int64"), length=2))
    assert videos["provenance"]["prompt_hashes"] == List({"key": Value("string"), "value": Value("string")})
    assert str(arrow_schema("tracks").field("box").type) == "fixed_size_list<item: int64>[4]"


@pytest.mark.parametrize("config", list(CONFIGS))
def test_rows_round_trip(config: str) -> None:
    for rec in build_records()[config]:
        assert schema_errors(rec, CONFIGS[config]) == []
        row = to_arrow_row(rec, config)
        assert from_arrow_row(row, config) == rec
    if config == "videos":
        row = to_arrow_row(build_records()["videos"][0], config)
        assert row["provenance"]["prompt_hashes"] == [
            {"key": "stage1", "value": "ab12"},
            {"key": "stage2", "value": "cd34"},
        ]


def test_bad_shapes_pass_through_for_validation() -> None:
    rec = build_records()["videos"][0]
    rec["provenance"]["prompt_hashes"] = "oops"
    back = from_arrow_row(rec, "videos")
    assert back["provenance"]["prompt_hashes"] == "oops"
    assert any("prompt_hashes" in e for e in schema_errors(back, "video"))


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"a": {"type": ["string", "integer"]}},
        },
        {"type": "object", "properties": {"a": {"type": "string"}}},  # open object: no fixed columns
        {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "array"}}},
        {"type": "object", "additionalProperties": False, "properties": {"a": {}}},
        {"type": "string"},
    ],
)
def test_underivable_schemas_are_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(TvauError):
        features_from_schema(schema)
