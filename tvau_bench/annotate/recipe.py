"""Annotation recipes: one YAML file fixes the backend, prompts, frame sampling and thresholds of a build.

``load_recipe("ubnormal")`` loads a recipe shipped in ``tvau_bench/recipes/`` (``synthetic``, ``ubnormal``,
``shanghaitech``; a clone's ``annotation/`` is a link to that folder); any other argument is a path.
Unknown keys and wrong types are errors naming the file and field, so a typo cannot silently fall back to a
default. Prompt templates default to the files in ``tvau_bench/prompts/`` (``annotate_*.txt``); a recipe may
name its own files, relative to the recipe.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .. import shipped
from .._io import sha256_bytes
from ..errors import TvauError
from .motion import MotionParams

PROMPT_NAMES = ("system", "stage1", "stage2", "reask")


@dataclass(frozen=True)
class BackendConfig:
    """Which annotator answers, and how requests are sent (``openai``/``vllm`` fields are ignored otherwise)."""

    kind: str = "geometric"  # geometric | openai | vllm
    model: str | None = None
    revision: str | None = None
    endpoints: tuple[str, ...] = ()  # OpenAI-compatible base URLs ending in /v1
    api_key_env: str | None = None  # name of the environment variable holding the key (never the key)
    max_concurrency: int = 8  # requests in flight per endpoint
    timeout_s: float = 120.0
    max_retries: int = 5  # on 429, 5xx, timeouts, dropped connections
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    max_reasks: int = 2  # on invalid JSON or schema violations
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0
    vllm: dict = field(default_factory=dict)  # extra LLM(...) arguments for the offline backend


@dataclass(frozen=True)
class ImageConfig:
    max_side: int = 640  # longer side of every image sent, in pixels
    jpeg_quality: int = 90


@dataclass(frozen=True)
class Stage1Config:
    frames_per_video: int = 8  # uniform over the video
    frames_per_target: int = 3  # at least this many frames inside each target's visible span
    max_frames: int = 32
    min_pixels: int = 30  # smaller mask parts are not asked about
    mark_thickness: int = 2


@dataclass(frozen=True)
class Stage2Config:
    views: int = 4  # target-focused crops inside the abnormal intervals
    track_views: int = 6  # background-suppressed full frames over the target's visible span (for motion)
    margin: float = 0.25  # crop margin as a fraction of the box size
    background: str = "darken"  # darken | blur
    darken: float = 0.3  # brightness kept outside the mask
    blur_px: int = 21
    outline: bool = True
    crop_side: int = 224


@dataclass(frozen=True)
class Stage3Config:
    accept: float = 0.75  # consistency at or above: verified
    quarantine: float = 0.4  # consistency below (after the re-ask): quarantined
    reask: bool = True
    stage2_weight: int = 2  # votes of the target-focused answer in the appearance vote


@dataclass(frozen=True)
class ColourConfig:
    top_band: tuple[float, float] = (0.3, 0.6)  # fractions of a person's mask height (below the head)
    bottom_band: tuple[float, float] = (0.8, 0.98)  # the legs, below a hand-held bag


@dataclass(frozen=True)
class DialogueConfig:
    frames_per_sample: int = 8
    context_frames: int = 15  # frames added before and after an abnormal interval
    normal_clip_frames: int = 48
    normal_clips_per_video: int = 2
    normal_margin: int = 15  # frames kept away from any abnormal frame


@dataclass(frozen=True)
class Recipe:
    name: str
    version: str = "1"
    description: str = ""
    splits: tuple[str, ...] = ("train", "validation", "test")
    backend: BackendConfig = field(default_factory=BackendConfig)
    images: ImageConfig = field(default_factory=ImageConfig)
    stage1: Stage1Config = field(default_factory=Stage1Config)
    stage2: Stage2Config = field(default_factory=Stage2Config)
    stage3: Stage3Config = field(default_factory=Stage3Config)
    motion: MotionParams = field(default_factory=MotionParams)
    colours: ColourConfig = field(default_factory=ColourConfig)
    dialogue: DialogueConfig = field(default_factory=DialogueConfig)
    waypoints: int = 8  # per target in the videos config
    prompts: dict = field(default_factory=dict)  # name -> template text (filled in by load_recipe)
    path: str | None = None

    def prompt_hashes(self) -> dict[str, str]:
        """SHA-256 of each prompt template (recorded in every video's provenance)."""
        return {k: sha256_bytes(v.encode("utf-8")) for k, v in sorted(self.prompts.items())}

    def fingerprint(self) -> dict:
        """Everything that shapes the outputs, JSON-ready (path and description excluded)."""
        d = dataclasses.asdict(self)
        d.pop("path")
        d.pop("description")
        return d


def shipped_recipes() -> list[str]:
    """Names of the recipes inside the package."""
    return shipped.names(shipped.recipes_dir())


def default_prompt(name: str) -> str:
    """A prompt template shipped in ``tvau_bench/prompts/annotate_{name}.txt``."""
    return (
        resources.files("tvau_bench").joinpath("prompts", f"annotate_{name}.txt").read_text(encoding="utf-8")
    )


def load_recipe(name_or_path: str | Path, overrides: dict | None = None) -> Recipe:
    """Load a recipe by shipped name or YAML path; ``overrides`` (nested dict) replaces fields after loading."""
    path = Path(name_or_path)
    if path.is_file():
        text, where, base = path.read_text(encoding="utf-8"), str(path), path.parent
    elif str(name_or_path) in shipped_recipes():
        res = shipped.recipes_dir() / f"{name_or_path}.yaml"
        text, where, base = res.read_text(encoding="utf-8"), f"tvau_bench/recipes/{name_or_path}.yaml", None
    else:
        raise TvauError(
            f"no recipe file or shipped recipe named {str(name_or_path)!r}",
            fix=f"give a YAML path or one of {shipped_recipes()}",
        )
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise TvauError(f"invalid YAML: {exc}", path=where, line=None if line is None else line + 1) from None
    if not isinstance(data, dict):
        raise TvauError("a recipe must be a mapping", path=where, fix="see tvau_bench/recipes/synthetic.yaml")
    if overrides:
        data = _merge(data, overrides)
    data.setdefault("name", path.stem if path.is_file() else str(name_or_path))
    prompts = data.pop("prompts", None) or {}
    recipe = _build(Recipe, data, where, "")
    texts = {}
    for key in PROMPT_NAMES:
        ref = prompts.get(key) if isinstance(prompts, dict) else None
        if ref is None:
            texts[key] = default_prompt(key)
            continue
        file = (base / ref) if base is not None else None
        if file is None or not file.is_file():
            raise TvauError(f"prompt file {ref!r} not found", path=where, field=f"prompts.{key}")
        texts[key] = file.read_text(encoding="utf-8")
    if isinstance(prompts, dict) and set(prompts) - set(PROMPT_NAMES):
        raise TvauError(
            f"unknown prompt names {sorted(set(prompts) - set(PROMPT_NAMES))}", path=where, field="prompts"
        )
    recipe = dataclasses.replace(recipe, prompts=texts, path=where)
    _check(recipe, where)
    return recipe


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check(r: Recipe, where: str) -> None:
    def bad(field_: str, problem: str, fix: str) -> TvauError:
        return TvauError(problem, path=where, field=field_, fix=fix)

    if r.backend.kind not in ("geometric", "openai", "vllm"):
        raise bad("backend.kind", f"unknown backend {r.backend.kind!r}", "use geometric, openai or vllm")
    if r.backend.kind == "openai" and not r.backend.endpoints:
        raise bad(
            "backend.endpoints",
            "the openai backend needs at least one endpoint",
            "e.g. [http://localhost:8000/v1]",
        )
    if r.backend.kind in ("openai", "vllm") and not r.backend.model:
        raise bad("backend.model", "a model id is required", "e.g. Qwen/Qwen2.5-VL-7B-Instruct")
    if r.backend.max_concurrency < 1 or r.backend.timeout_s <= 0 or r.backend.max_retries < 0:
        raise bad(
            "backend", "max_concurrency >= 1, timeout_s > 0, max_retries >= 0 required", "fix the numbers"
        )
    if r.stage2.background not in ("darken", "blur"):
        raise bad(
            "stage2.background", f"unknown background mode {r.stage2.background!r}", "use darken or blur"
        )
    if not 0.0 <= r.stage3.quarantine <= r.stage3.accept <= 1.0:
        raise bad("stage3", "need 0 <= quarantine <= accept <= 1", "fix the thresholds")
    if not 1 <= r.dialogue.frames_per_sample <= 64:
        raise bad(
            "dialogue.frames_per_sample", "must be in 1..64", "the sample schema allows at most 64 frames"
        )
    for s in r.splits:
        if s not in ("train", "validation", "test"):
            raise bad("splits", f"unknown split {s!r}", "use train, validation, test")


def _build(cls: type, data: Any, where: str, prefix: str) -> Any:
    """Construct dataclass ``cls`` from a mapping, checking names and types recursively."""
    if not isinstance(data, dict):
        raise TvauError("expected a mapping", path=where, field=prefix.rstrip(".") or None)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise TvauError(
            f"unknown key {unknown[0]!r}",
            path=where,
            field=f"{prefix}{unknown[0]}",
            fix=f"use one of {sorted(names)}",
        )
    kwargs = {k: _coerce(hints[k], v, where, f"{prefix}{k}") for k, v in data.items()}
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str, name: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where, f"{name}.")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where, name)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TvauError("expected a list", path=where, field=name)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, where, name) for v in value)
        if len(value) != len(args):
            raise TvauError(f"expected {len(args)} values", path=where, field=name)
        return tuple(_coerce(a, v, where, name) for a, v in zip(args, value, strict=True))
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise TvauError("expected a mapping", path=where, field=name)
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise TvauError(f"expected true/false, got {value!r}", path=where, field=name)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TvauError(f"expected an integer, got {value!r}", path=where, field=name)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TvauError(f"expected a number, got {value!r}", path=where, field=name)
        return float(value)
    if tp is str:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise TvauError(f"expected a string, got {value!r}", path=where, field=name)
        return str(value)
    return value
