"""Annotation recipes: one YAML file fixes the backend, prompts, frame sampling and thresholds of a build.

``load_recipe("ubnormal")`` loads a recipe shipped in ``tvau_bench/recipes/`` (``synthetic``, ``ubnormal``,
``shanghaitech``; a clone's ``annotation/`` is a link to that folder); any other argument is a path.
Unknown keys, wrong types and values out of range are errors naming the file and field (the schema is
``tvau_bench/schemas/recipe.json``), so a typo cannot silently fall back to a default. Prompt templates default to the files in ``tvau_bench/prompts/`` (``annotate_*.txt``); a recipe may
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

from .. import shipped
from .._io import sha256_bytes
from .._yaml import parse_yaml, read_yaml
from ..errors import TvauError
from ..schemas.config import check_config
from .motion import MotionParams

PROMPT_NAMES = ("system", "stage1", "stage2", "reask")


@dataclass(frozen=True)
class BackendConfig:
    """Which annotator answers, and how requests are sent (``openai``/``vllm`` fields are ignored otherwise)."""

    kind: str = "geometric"  # a key of backends.BACKEND_KINDS: geometric | openai | vllm
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
    """Load a recipe by shipped name or YAML path; ``overrides`` (nested dict) replaces fields after loading.

    Keys, types and ranges are checked against ``tvau_bench/schemas/recipe.json``; :func:`_check` adds the
    checks between fields that the schema cannot express.
    """
    path = Path(name_or_path)
    if path.is_file():
        data, where, base = read_yaml(path), str(path), path.parent
    elif str(name_or_path) in shipped_recipes():
        where, base = f"tvau_bench/recipes/{name_or_path}.yaml", None
        data = parse_yaml((shipped.recipes_dir() / f"{name_or_path}.yaml").read_bytes(), path=where)
    else:
        raise TvauError(
            f"no recipe file or shipped recipe named {str(name_or_path)!r}",
            fix=f"give a YAML path or one of {shipped_recipes()}",
        )
    data = {} if data is None else data
    if isinstance(data, dict) and overrides:
        data = _merge(data, overrides)
    if isinstance(data, dict):
        data.setdefault("name", path.stem if path.is_file() else str(name_or_path))
    check_config(
        data, "recipe", path=where, fix="a recipe is a mapping; see tvau_bench/recipes/synthetic.yaml"
    )
    prompts = data.pop("prompts", None) or {}
    recipe = _build(Recipe, data)
    texts = {}
    for key in PROMPT_NAMES:
        ref = prompts.get(key)
        if ref is None:
            texts[key] = default_prompt(key)
            continue
        file = (base / ref) if base is not None else None
        if file is None or not file.is_file():
            raise TvauError(f"prompt file {ref!r} not found", path=where, field=f"prompts.{key}")
        texts[key] = file.read_text(encoding="utf-8")
    recipe = dataclasses.replace(recipe, prompts=texts, path=where)
    _check(recipe, where)
    return recipe


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# What to say when a backend field that the kind needs (BACKEND_KINDS[kind].requires) is empty.
_REQUIRED = {
    "endpoints": ("the {kind} backend needs at least one endpoint", "e.g. [http://localhost:8000/v1]"),
    "model": ("a model id is required", "e.g. Qwen/Qwen2.5-VL-7B-Instruct"),
}


def _check(r: Recipe, where: str) -> None:
    """The checks between fields; each field alone was checked against the schema."""
    from .backends import BACKEND_KINDS  # here, not at the top: backends build from a Recipe (no cycle)

    def bad(field_: str, problem: str, fix: str) -> TvauError:
        return TvauError(problem, path=where, field=field_, fix=fix)

    for name in BACKEND_KINDS[r.backend.kind].requires:
        if not getattr(r.backend, name):
            problem, fix = _REQUIRED[name]
            raise bad(f"backend.{name}", problem.format(kind=r.backend.kind), fix)
    if not r.stage3.quarantine <= r.stage3.accept:
        raise bad("stage3", "need quarantine <= accept", "fix the thresholds")
    if r.stage1.frames_per_video > r.stage1.max_frames:
        raise bad("stage1.frames_per_video", "must not exceed max_frames", "lower it or raise max_frames")
    if not r.motion.still_speed <= r.motion.slow_speed <= r.motion.fast_speed:
        raise bad("motion", "need still_speed <= slow_speed <= fast_speed", "fix the speed thresholds")
    for name in ("top_band", "bottom_band"):
        lo, hi = getattr(r.colours, name)
        if not lo < hi:
            raise bad(f"colours.{name}", f"[{lo}, {hi}] is empty", "write [from, to] with from < to")


def _build(cls: type, data: dict) -> Any:
    """Construct dataclass ``cls`` from a schema-checked mapping: nested dataclasses, tuples, exact types."""
    hints = typing.get_type_hints(cls)
    return cls(**{k: _coerce(hints[k], v) for k, v in data.items()})


def _coerce(tp: Any, value: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if origin in (typing.Union, types.UnionType):
        return None if value is None else _coerce(next(a for a in args if a is not type(None)), value)
    if origin is tuple:
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else args
        return tuple(_coerce(a, v) for a, v in zip(item_types, value, strict=True))
    if tp is dict or origin is dict:
        return dict(value)
    if tp is float:
        return float(value)
    if tp is str:
        return str(value)
    return value
