"""Adapter registry: adapter names map to lazily imported ``module:Class`` strings."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...errors import TvauError

if TYPE_CHECKING:
    from ..model_config import ModelConfig
    from .base import Adapter

REGISTRY: dict[str, str] = {
    "openai": "tvau_bench.harness.adapters.openai_adapter:OpenAIAdapter",
    "transformers": "tvau_bench.harness.adapters.transformers_adapter:TransformersAdapter",
    "vllm": "tvau_bench.harness.adapters.vllm_adapter:VLLMAdapter",
    "replay": "tvau_bench.harness.adapters.replay:ReplayAdapter",
    "majority": "tvau_bench.harness.adapters.majority:MajorityAdapter",
    "geometry-oracle": "tvau_bench.harness.adapters.geometry_oracle:GeometryOracleAdapter",
    "ahd-template": "tvau_bench.models.adapter:AhdTemplateAdapter",
    "tvau": "tvau_bench.models.adapter:TvauAdapter",
}
# Adapters that read the source or the ground truth (``Adapter.is_oracle``): ceilings, shown apart from models.
ORACLES = frozenset({"geometry-oracle"})


def is_oracle_run(manifest: dict[str, Any]) -> bool:
    """Whether a run (its ``run.json``) was made by an oracle; runs from before the field by adapter name."""
    return bool(manifest.get("oracle", manifest.get("adapter") in ORACLES))


def adapter_class(name: str) -> type[Adapter]:
    """Import and return the adapter class registered as ``name``."""
    target = REGISTRY.get(name)
    if target is None:
        raise TvauError(f"unknown adapter {name!r}", field="adapter", fix=f"use one of {sorted(REGISTRY)}")
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise TvauError(
            f"adapter {name!r} needs {exc.name!r}, which is not installed",
            fix="install the optional extra it needs (e.g. pip install 'tvau-bench[torch]' or '[vllm]')",
        ) from None
    return getattr(module, cls_name)


def make_adapter(config: ModelConfig, **overrides: Any) -> Adapter:
    """Build the adapter a model config names, with its ``adapter_args``."""
    from .base import build_adapter

    return build_adapter(adapter_class(config.adapter), config, **overrides)
