"""The source datasets the package reads: one :class:`~.base.SourceSpec` per source module, in one list.

Layout detection (:mod:`.layout`), the dataset card's source sections and the leaderboard's families, columns
and chart panels all read :data:`SOURCES`; the ``source`` enum of ``schemas/video.json`` lists the same names in
the same order (``tests/test_sources_registry.py`` checks it). To add a source, see ``CONTRIBUTING.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import TvauError
from . import shanghaitech, ubnormal
from .base import SourceSpec

SOURCES: tuple[SourceSpec, ...] = (ubnormal.SPEC, shanghaitech.SPEC)


def names() -> list[str]:
    """The sources' names, in registry order."""
    return [s.name for s in SOURCES]


def spec(name: str) -> SourceSpec:
    """The source called ``name``; TvauError naming the known ones otherwise."""
    for s in SOURCES:
        if s.name == name:
            return s
    raise TvauError(f"unknown source {name!r}", field="source", fix=f"use one of {', '.join(names())}")


def by_family() -> list[SourceSpec]:
    """The sources sorted by family code: the order of the leaderboard's columns and chart panels (the paper's
    dialogue table reads ST, then UB)."""
    return sorted(SOURCES, key=lambda s: s.family)


def in_words(words: Sequence[str], conjunction: str) -> str:
    """``A``, ``A and B``, ``A, B and C`` with ``conjunction`` ("and", "or", "nor") before the last word."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
