"""Adapters: names from the registry (:mod:`.registry`), classes imported on first use."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...errors import TvauError
from .registry import REGISTRY, adapter_names, adapter_spec, oracle_names, register_adapter

if TYPE_CHECKING:
    from ..model_config import ModelConfig
    from .base import Adapter

__all__ = [
    "REGISTRY",
    "adapter_class",
    "adapter_names",
    "adapter_spec",
    "is_oracle_run",
    "make_adapter",
    "oracle_names",
    "register_adapter",
]


def is_oracle_run(manifest: dict[str, Any]) -> bool:
    """Whether a run (its ``run.json``) was made by an oracle; runs from before the field by adapter name."""
    return bool(manifest.get("oracle", manifest.get("adapter") in oracle_names()))


def adapter_class(name: str) -> type[Adapter]:
    """Import and return the adapter class registered as ``name``."""
    module_name, _, cls_name = adapter_spec(name).target.partition(":")
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
