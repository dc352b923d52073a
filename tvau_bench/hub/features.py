"""Arrow and ``datasets`` features derived from the JSON Schemas (the single source of truth).

Mapping (JSON Schema -> ``datasets`` feature -> Arrow type):
- ``string`` / string ``enum`` -> ``Value("string")``; ``integer`` -> ``int64``; ``number`` -> ``float64``;
  ``boolean`` -> ``bool``; ``["T", "null"]`` -> the feature of ``T`` (Arrow columns are nullable);
- ``object`` with ``properties`` -> a struct (a dict of features, in the schema's property order);
- ``object`` with only ``additionalProperties`` (a free-keyed map such as ``prompt_hashes``) -> a list of
  ``{key, value}`` structs sorted by key, because ``datasets`` has no map feature; :func:`to_arrow_row` and
  :func:`from_arrow_row` convert between the two shapes;
- ``array`` -> ``List(item)``; ``List(item, length=n)`` (a fixed-size list) when ``minItems == maxItems``;
  ``prefixItems`` of one item type (intervals) are handled the same way.
Anything else (unions of two real types, untyped nodes) is refused, so a schema change cannot slip through.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from ..errors import TvauError
from ..schemas import load_schema

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

# Hub config name -> schema name; the first one is the default config.
CONFIGS: dict[str, str] = {"samples": "sample", "videos": "video", "tracks": "track"}
DEFAULT_CONFIG = "samples"
MAP_KEY, MAP_VALUE = "key", "value"


def schema_name(config: str) -> str:
    """The schema name of a hub config (``"samples"`` -> ``"sample"``)."""
    try:
        return CONFIGS[config]
    except KeyError:
        raise TvauError(f"unknown config {config!r}", fix=f"use one of {list(CONFIGS)}") from None


@cache
def features_for(config: str) -> datasets.Features:
    """The ``datasets.Features`` of a hub config, derived from its JSON Schema."""
    return features_from_schema(load_schema(schema_name(config)))


def features_from_schema(schema: dict[str, Any]) -> datasets.Features:
    """``datasets.Features`` of a JSON Schema whose root is an object; :class:`TvauError` if not derivable."""
    from datasets import Features

    feats = _feature(schema, schema, "<root>")
    if not isinstance(feats, dict):
        raise TvauError("top-level schema is not an object with properties", field="<root>")
    return Features(feats)


def arrow_schema(config: str) -> pa.Schema:
    """The Arrow schema of a config's Parquet shards, with the ``huggingface`` features metadata.

    The metadata is what ``datasets`` itself writes, so a shard read alone still yields typed features.
    """
    feats = features_for(config)
    meta = json.dumps({"info": {"features": feats.to_dict()}}, sort_keys=True, separators=(",", ":"))
    return feats.arrow_schema.with_metadata({"huggingface": meta})


def optional_columns(config: str) -> set[str]:
    """Top-level fields the config's schema does not require (e.g. ``verified`` of ``samples``): exports made
    before such a field existed lack its column and stay valid."""
    root = load_schema(schema_name(config))
    return set(root.get("properties", {})) - set(root.get("required", []))


def to_arrow_row(record: dict[str, Any], config: str) -> dict[str, Any]:
    """A schema-valid JSON record in the shape of the config's Arrow schema (maps become key/value lists)."""
    root = load_schema(schema_name(config))
    return _convert(record, root, root, encode=True)


def from_arrow_row(row: dict[str, Any], config: str) -> dict[str, Any]:
    """The JSON record of an Arrow/Parquet row (inverse of :func:`to_arrow_row`); tolerant of bad shapes.

    Values whose shape does not fit the schema are passed through unchanged, so schema validation of the
    result reports them rather than this function crashing.
    """
    root = load_schema(schema_name(config))
    return _convert(row, root, root, encode=False)


# ---------------------------------------------------------------------------------------------- pure helpers


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` pointers (``#/$defs/name``)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or seen > 32:
            raise TvauError(f"unsupported $ref {ref!r}", fix="use local #/$defs references only")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node, seen = target, seen + 1
    if not isinstance(node, dict):
        raise TvauError(f"unsupported schema node {node!r}")
    return node


def _json_type(node: dict[str, Any], where: str) -> str:
    """The one non-null JSON type of a node (from ``type`` or from an ``enum``'s values)."""
    if "enum" in node:
        names = {_TYPE_OF[type(v)] for v in node["enum"] if v is not None}
    else:
        raw = node.get("type")
        names = set(raw) if isinstance(raw, list) else {raw} if raw else set()
        names.discard("null")
    if len(names) != 1:
        raise TvauError(
            f"cannot derive an Arrow type from JSON types {sorted(map(str, names))}",
            field=where,
            fix="give each schema field exactly one non-null type",
        )
    return names.pop()


_TYPE_OF = {str: "string", bool: "boolean", int: "integer", float: "number"}
_VALUES = {"string": "string", "integer": "int64", "number": "float64", "boolean": "bool"}


def _is_map(node: dict[str, Any]) -> bool:
    return not node.get("properties") and isinstance(node.get("additionalProperties"), dict)


def _item_nodes(node: dict[str, Any]) -> tuple[list[Any], Any]:
    """``(prefix item schemas, schema of further items or False)`` of an array node."""
    return list(node.get("prefixItems", [])), node.get("items", True if "prefixItems" in node else None)


def _feature(node: Any, root: dict[str, Any], where: str) -> Any:
    from datasets import List, Value

    node = _resolve(node, root)
    kind = _json_type(node, where)
    if kind in _VALUES:
        return Value(_VALUES[kind])
    if kind == "object":
        if _is_map(node):
            value = _feature(node["additionalProperties"], root, f"{where}.*")
            return List({MAP_KEY: Value("string"), MAP_VALUE: value})
        props = node.get("properties")
        if not props or node.get("additionalProperties", True) is not False:
            raise TvauError(
                "object without a closed set of properties",
                field=where,
                fix="set additionalProperties: false",
            )
        return {k: _feature(v, root, f"{where}.{k}") for k, v in props.items()}
    if kind == "array":
        prefix, rest = _item_nodes(node)
        if prefix:
            feats = [_feature(p, root, f"{where}[{i}]") for i, p in enumerate(prefix)]
            if rest not in (False, None):
                feats.append(_feature(rest, root, f"{where}[]"))
            if any(f != feats[0] for f in feats):
                raise TvauError("tuple items of different types", field=where, fix="use one item type")
            item = feats[0]
        elif isinstance(rest, dict):
            item = _feature(rest, root, f"{where}[]")
        else:
            raise TvauError("array without an item schema", field=where, fix="add `items`")
        lo, hi = node.get("minItems"), node.get("maxItems")
        return List(item, length=lo) if lo is not None and lo == hi and lo > 0 else List(item)
    raise TvauError(f"unsupported JSON type {kind!r}", field=where)


# id(node) -> whether a map lies below it; schema nodes live as long as load_schema's cache, so ids are stable.
_HAS_MAP: dict[int, bool] = {}


def _needs_conversion(node: dict[str, Any], root: dict[str, Any]) -> bool:
    """Whether a node contains a map anywhere below it (other values pass through as they are)."""
    key = id(node)
    if key not in _HAS_MAP:
        _HAS_MAP[key] = _contains_map(node, root, 0)
    return _HAS_MAP[key]


def _contains_map(node: Any, root: dict[str, Any], depth: int) -> bool:
    if depth > 64 or not isinstance(node, dict):
        return False
    node = _resolve(node, root)
    if _is_map(node):
        return True
    children = list((node.get("properties") or {}).values())
    prefix, rest = _item_nodes(node)
    children += [*prefix, *([rest] if isinstance(rest, dict) else [])]
    return any(_contains_map(c, root, depth + 1) for c in children)


def _convert(value: Any, node: Any, root: dict[str, Any], *, encode: bool) -> Any:
    node = _resolve(node, root)
    if value is None:
        return value
    # Decoding always visits records: Arrow fills absent optional fields with null even where no map lies below.
    records = not encode and isinstance(value, dict) and bool(node.get("properties")) and not _is_map(node)
    if not records and not _needs_conversion(node, root):
        return value
    if _is_map(node):
        sub = node["additionalProperties"]
        if encode and isinstance(value, dict):
            return [
                {MAP_KEY: k, MAP_VALUE: _convert(v, sub, root, encode=True)} for k, v in sorted(value.items())
            ]
        if (
            not encode
            and isinstance(value, list)
            and all(isinstance(e, dict) and MAP_KEY in e for e in value)
        ):
            return {e[MAP_KEY]: _convert(e.get(MAP_VALUE), sub, root, encode=False) for e in value}
        return value
    if isinstance(value, dict) and node.get("properties"):
        props, required = node["properties"], set(node.get("required", []))
        out = {k: _convert(v, props[k], root, encode=encode) if k in props else v for k, v in value.items()}
        if not encode:  # Arrow fills absent optional fields with null; JSON omits them
            out = {k: v for k, v in out.items() if v is not None or k in required or k not in props}
        return out
    if isinstance(value, list):
        prefix, rest = _item_nodes(node)
        return [
            _convert(v, prefix[i] if i < len(prefix) else rest, root, encode=encode)
            if isinstance(prefix[i] if i < len(prefix) else rest, dict)
            else v
            for i, v in enumerate(value)
        ]
    return value
