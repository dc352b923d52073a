"""Optional dependencies: which installed extra a missing module belongs to, and how to install it."""

from __future__ import annotations

from .errors import TvauError

# The top-level modules of the `torch` extra (pyproject.toml [project.optional-dependencies]).
TORCH_MODULES = ("torch", "transformers", "peft", "safetensors")
TORCH_INSTALL = (
    "install the torch extra: pip install 'tvau-bench[torch]' (CPU only: first "
    "pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


def missing_extra(exc: ModuleNotFoundError) -> TvauError | None:
    """The error naming the extra to install when ``exc`` is about one of its modules; ``None`` otherwise."""
    module = (exc.name or "").partition(".")[0]
    if module not in TORCH_MODULES:
        return None
    return TvauError(f"this command needs {module!r}, which is not installed", fix=TORCH_INSTALL)
