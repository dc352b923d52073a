"""The data files shipped inside the package, found the same way in a wheel install and in a clone.

One source of truth: the files live in the package (``tvau_bench/data/baselines/``, ``tvau_bench/data/reported/``,
``tvau_bench/recipes/``) and ``pyproject.toml`` ships every file there by glob. A clone's top-level
``baselines/``, ``leaderboard/reported/`` and ``annotation/`` are symlinks to these folders, so paths such as
``baselines/majority.yaml`` keep working from the repository root.
"""

from __future__ import annotations

from pathlib import Path

from .errors import TvauError

PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(*parts: str) -> Path:
    path = PACKAGE_DIR.joinpath(*parts)
    if not path.is_dir():
        # Only a broken or partial install gets here: the folders are package data.
        raise TvauError(
            "a shipped data folder is missing from the installed package",
            path=path,
            fix="reinstall tvau-bench (pip install --force-reinstall tvau-bench)",
        )
    return path


def baselines_dir() -> Path:
    """The paper's baseline model configs (``NAME.yaml``; a clone's ``baselines/``)."""
    return _shipped("data", "baselines")


def reported_dir() -> Path:
    """The paper's published tables (``{table}.csv``; a clone's ``leaderboard/reported/``)."""
    return _shipped("data", "reported")


def recipes_dir() -> Path:
    """The annotation recipes (``NAME.yaml``; a clone's ``annotation/``)."""
    return _shipped("recipes")


def names(folder: Path, suffix: str = ".yaml") -> list[str]:
    """Sorted stems of the ``*{suffix}`` files of a shipped folder."""
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.name.endswith(suffix))
