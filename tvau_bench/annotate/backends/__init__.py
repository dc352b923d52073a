"""Annotation backends behind one interface (:class:`.base.Backend`): geometric (default), openai, vllm."""

from __future__ import annotations

from ..recipe import Recipe
from .base import Backend, Request, Response

__all__ = ["Backend", "Request", "Response", "make_backend"]


def make_backend(recipe: Recipe) -> Backend:
    """The backend a recipe names (heavy imports only for the one chosen)."""
    kind = recipe.backend.kind
    if kind == "geometric":
        from .geometric import GeometricBackend

        return GeometricBackend(recipe.colours, recipe.motion)
    if kind == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(recipe.backend)
    from .vllm_backend import VLLMBackend

    return VLLMBackend(recipe.backend)
