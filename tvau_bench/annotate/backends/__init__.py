"""Annotation backends behind one interface (:class:`.base.Backend`): geometric (default), openai, vllm.

:data:`BACKEND_KINDS` is the one list of backend kinds: the factory builds from it and the recipe checks the
fields each kind needs against it (the recipe schema's ``backend.kind`` enum is tested to match it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import TvauError
from .base import Backend, Request, Response

if TYPE_CHECKING:
    from ..recipe import Recipe

__all__ = ["BACKEND_KINDS", "Backend", "BackendKind", "Request", "Response", "backend_class", "make_backend"]


@dataclass(frozen=True)
class BackendKind:
    """Where a backend lives (``module:Class``, imported only when chosen) and the ``backend`` fields it needs."""

    target: str
    requires: tuple[str, ...] = ()


BACKEND_KINDS: dict[str, BackendKind] = {
    "geometric": BackendKind("tvau_bench.annotate.backends.geometric:GeometricBackend"),
    "openai": BackendKind(
        "tvau_bench.annotate.backends.openai_backend:OpenAIBackend", ("endpoints", "model")
    ),
    "vllm": BackendKind("tvau_bench.annotate.backends.vllm_backend:VLLMBackend", ("model",)),
}


def backend_class(kind: str) -> type[Backend]:
    """The backend class of ``kind`` (its module is imported here)."""
    spec = BACKEND_KINDS.get(kind)
    if spec is None:
        raise TvauError(
            f"unknown backend {kind!r}", field="backend.kind", fix=f"use one of {sorted(BACKEND_KINDS)}"
        )
    module, _, name = spec.target.partition(":")
    return getattr(importlib.import_module(module), name)


def make_backend(recipe: Recipe) -> Backend:
    """The backend a recipe names (heavy imports only for the one chosen)."""
    return backend_class(recipe.backend.kind).from_recipe(recipe)
