"""Config integrity: one strict YAML reader, and every recipe and model-config value range-checked by a schema."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from tvau_bench.annotate.recipe import Recipe, load_recipe, shipped_recipes
from tvau_bench.errors import TvauError
from tvau_bench.harness.cli import parse_adapter_args
from tvau_bench.harness.model_config import ModelConfig, load_model_config
from tvau_bench.hub.card import read_card
from tvau_bench.schemas import load_schema

REPO = Path(__file__).resolve().parents[1]
MODEL = "name: m\nadapter: majority\n"

# Nine levels of nine aliases: 9**9 (387 million) leaves once expanded, 400 bytes on disk.
BOMB = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


# ------------------------------------------------------------------------------------ 5. one strict YAML reader


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        (BOMB + "adapter_args: {x: *l8}\n", "anchors and aliases", 3),
        ("adapter_args: {x: 1}\nadapter_args: {y: 2}\n", "key 'adapter_args' given twice", 4),
        ("notes: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64", 3),
        ("notes: caf\xe9\n".encode("latin-1"), "not UTF-8", 3),
        ("notes: [unclosed\n", "invalid YAML", 4),
    ],
    ids=["alias-bomb", "duplicate-key", "deep", "latin-1", "syntax"],
)
def test_model_config_yaml_is_read_strictly(tmp_path, text, problem, line):
    path = tmp_path / "m.yaml"
    prefix = MODEL.encode() if isinstance(text, bytes) else MODEL
    path.write_bytes(prefix + text) if isinstance(text, bytes) else path.write_text(prefix + text)
    with pytest.raises(TvauError, match=problem) as err:
        load_model_config(path)
    assert err.value.path == str(path) and err.value.line == line


def test_recipe_card_and_adapter_args_refuse_aliases(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(BOMB.replace("l8: &l8", "l8:") + "name: r\nbackend:\n  vllm: {x: *l7}\n")
    with pytest.raises(TvauError, match="anchors and aliases") as err:
        load_recipe(recipe)
    assert err.value.path == str(recipe) and err.value.line == 1
    card = tmp_path / "README.md"
    card.write_text("---\npretty_name: x\ntags: &t [a]\nmore: *t\n---\nbody\n")
    with pytest.raises(TvauError, match="anchors and aliases") as err:
        read_card(card)
    assert err.value.line == 3  # the line in the README, not in the front matter
    with pytest.raises(TvauError, match="anchors and aliases"):
        parse_adapter_args(["extra_body=&a {n: 1}"])
    assert parse_adapter_args(["n=8", "flag=true", "url=http://h:1/v1"]) == {
        "n": 8,
        "flag": True,
        "url": "http://h:1/v1",
    }


def test_oversized_yaml_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MODEL + "notes: " + "x" * (1 << 20) + "\n")
    with pytest.raises(TvauError, match="over the 1048576-byte limit"):
        load_model_config(path)


# ------------------------------------------------------------------------------- 6. ranges from one declaration


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("images: {jpeg_quality: 900}", "images.jpeg_quality"),
        ("images: {max_side: 100000}", "images.max_side"),
        ("images: {max_side: 1.0e+23}", "images.max_side"),
        ("stage2: {views: 0}", "stage2.views"),
        ("waypoints: -3", "waypoints"),
        ("waypoints: 8.0", "waypoints"),
        ("backend: {temperature: .nan}", "backend.temperature"),
        ("backend: {timeout_s: .inf}", "backend.timeout_s"),
        ("backend: {endpoints: [localhost:8000]}", "backend.endpoints.0"),
        ("splits: []", "splits"),
        ("colours: {top_band: [0.6, 0.3]}", "colours.top_band"),
        ("stage1: {frames_per_video: 40, max_frames: 32}", "stage1.frames_per_video"),
    ],
)
def test_recipe_values_are_range_checked(tmp_path, yaml_text, field):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: r\n{yaml_text}\n")
    with pytest.raises(TvauError) as err:
        load_recipe(path)
    assert err.value.path == str(path) and err.value.field == field and err.value.fix


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("generation: {temperature: .nan}", "generation.temperature"),
        ("generation: {temperature: -1}", "generation.temperature"),
        ("generation: {top_p: 0}", "generation.top_p"),
        ("generation: {max_new_tokens: 0}", "generation.max_new_tokens"),
        ("generation: {seed: -1}", "generation.seed"),
        ("adapter_args: {timeout_s: .inf}", "adapter_args.timeout_s"),
        ("adapter_args: {max_concurrency: 0}", "adapter_args.max_concurrency"),
        ("size_b: -7", "size_b"),
    ],
)
def test_model_config_values_are_range_checked(tmp_path, yaml_text, field):
    path = tmp_path / "m.yaml"
    path.write_text(f"{MODEL}{yaml_text}\n")
    with pytest.raises(TvauError) as err:
        load_model_config(path)
    assert err.value.path == str(path) and err.value.field == field and err.value.fix


def test_adapter_arg_overrides_are_checked_like_the_file(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MODEL)
    with pytest.raises(TvauError) as err:
        load_model_config(path, parse_adapter_args(["timeout_s=.nan"]))
    assert err.value.field == "adapter_args.timeout_s"
    assert load_model_config(path, {"timeout_s": 5}).adapter_args == {"timeout_s": 5}


def test_every_shipped_config_passes_its_schema():
    recipes = [load_recipe(n) for n in shipped_recipes()]
    recipes += [load_recipe(p) for p in sorted((REPO / "annotation").glob("*.yaml"))]
    models = [load_model_config(p) for p in sorted((REPO / "baselines").glob("*.yaml"))]
    assert len(recipes) >= 3 and len(models) >= 9


def _schema_keys(schema: dict, defs: dict) -> dict:
    """Property names of ``schema``, recursing into object-typed properties with their own properties."""
    out = {}
    for key, sub in schema.get("properties", {}).items():
        sub = defs.get(sub.get("$ref", "").rpartition("/")[2], sub)
        out[key] = _schema_keys(sub, defs) if "properties" in sub else None
    return out


def _dataclass_keys(cls: type) -> dict:
    hints = typing.get_type_hints(cls)
    return {
        f.name: _dataclass_keys(hints[f.name]) if dataclasses.is_dataclass(hints[f.name]) else None
        for f in dataclasses.fields(cls)
    }


def test_schemas_declare_exactly_the_dataclass_fields():
    recipe = load_schema("recipe")
    expected = _dataclass_keys(Recipe)
    del expected["path"]  # set by the loader, never written in a recipe
    expected["prompts"] = dict.fromkeys(("system", "stage1", "stage2", "reask"))
    assert _schema_keys(recipe, recipe["$defs"]) == expected
    model = load_schema("model_config")
    assert set(model["properties"]) == {f.name for f in dataclasses.fields(ModelConfig)} - {"path"} | {
        "notes"
    }
