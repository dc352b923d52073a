"""Model configs (``baselines/NAME.yaml``): which model, which adapter, which generation settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import shipped
from .._io import sha256_json
from .._yaml import read_yaml
from ..errors import TvauError
from ..schemas import load_schema
from ..schemas.config import check_config

# The schema (tvau_bench/schemas/model_config.json) is the one declaration of every key, type and range.
ADAPTERS = tuple(load_schema("model_config")["properties"]["adapter"]["enum"])
# How to reach a model, not which model: changing these never splits a run (a restarted server on another port).
TRANSPORT_ARGS = frozenset(
    {
        "base_url",
        "max_concurrency",
        "timeout_s",
        "max_retries",
        "backoff_s",
        "max_backoff_s",
        "api_key_env",
        "device",
    }
)
DEFAULT_GENERATION = {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 128, "seed": 0}


@dataclass(frozen=True)
class ModelConfig:
    """One model row: identity, adapter with its arguments, and the generation settings."""

    name: str
    adapter: str
    display_name: str = ""
    hf_id: str | None = None
    revision: str | None = None
    size_b: float | None = None
    shots: int = 1
    adapter_args: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_GENERATION))
    serve: dict[str, Any] | None = None
    path: str | None = None

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same model (the path and display name do not)."""
        return {"name": self.name, "hf_id": self.hf_id, "revision": self.revision, "adapter": self.adapter}

    def hash(self) -> str:
        """SHA-256 of the identity and the non-transport arguments: a run folder holds one model."""
        args = {k: v for k, v in self.adapter_args.items() if k not in TRANSPORT_ARGS}
        return sha256_json({**self.identity(), "adapter_args": args})


def model_config_from_dict(obj: Any, *, path: str | None = None) -> ModelConfig:
    """Validate and build a :class:`ModelConfig`; errors name the file and the field."""
    check_config(
        obj, "model_config", path=path, fix="see tvau_bench/schemas/model_config.json or baselines/*.yaml"
    )
    gen = {**DEFAULT_GENERATION, **(obj.get("generation") or {})}
    return ModelConfig(
        name=obj["name"],
        adapter=obj["adapter"],
        display_name=obj.get("display_name") or obj["name"],
        hf_id=obj.get("hf_id"),
        revision=obj.get("revision"),
        size_b=obj.get("size_b"),
        shots=obj.get("shots", 1),
        adapter_args=dict(obj.get("adapter_args") or {}),
        generation=gen,
        serve=obj.get("serve"),
        path=path,
    )


def load_model_config(path_or_name: str | Path, adapter_args: dict[str, Any] | None = None) -> ModelConfig:
    """Load ``path_or_name``: a YAML file, or the name of a shipped baseline (``baselines/NAME.yaml``).

    ``adapter_args`` (from ``--adapter-arg``) replace the file's before the config is checked.
    """
    path = _resolve(path_or_name)
    obj = read_yaml(path)
    if adapter_args and isinstance(obj, dict) and isinstance(obj.get("adapter_args") or {}, dict):
        obj["adapter_args"] = {**(obj.get("adapter_args") or {}), **adapter_args}
    return model_config_from_dict(obj, path=str(path))


def _resolve(path_or_name: str | Path) -> Path:
    path = Path(path_or_name)
    if path.is_file():
        return path
    name = str(path_or_name)
    if "/" not in name and "\\" not in name:
        base = shipped.baselines_dir()
        for suffix in (".yaml", ".yml"):
            if (base / f"{name}{suffix}").is_file():
                return base / f"{name}{suffix}"
    raise TvauError(
        "model config not found", path=path_or_name, fix="pass a YAML file or the name of one in baselines/"
    )
