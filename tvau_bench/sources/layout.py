"""Layout detection: which registered source (:mod:`.registry`) a dataset root holds, and its reader."""

from __future__ import annotations

from pathlib import Path

from ..errors import TvauError
from . import registry
from .base import Source, SourceSpec
from .registry import in_words


def detect_source(root: str | Path) -> SourceSpec:
    """The one registered source whose ``detect`` accepts ``root``; TvauError when none or several do."""
    root = Path(root)
    if not root.is_dir():
        raise TvauError("dataset root not found", path=root, fix="pass an existing folder")
    hits = [s for s in registry.SOURCES if s.detect(root)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        held = in_words([f"{s.title} ({s.marker})" for s in hits], "and")
        problem = f"the root holds {'both ' if len(hits) == 2 else ''}{held} folders"
    else:
        problem = "cannot tell the layout: " + ", ".join(f"{s.absent} ({s.title})" for s in registry.SOURCES)
    # A parent of several sources (e.g. the output of `synth --format both`): name the roots inside it.
    subs = [p.name for p in sorted(root.iterdir()) if p.is_dir() and p.name in registry.names()]
    fix = (
        f"pass one of {', '.join(str(root / s) for s in subs)}"
        if subs
        else "pass " + in_words([f"the {s.title} root ({s.root_hint})" for s in registry.SOURCES], "or")
    )
    raise TvauError(problem, path=root, fix=fix)


def detect_layout(root: str | Path) -> str:
    """The name of the source layout ``root`` holds (e.g. ``"ubnormal"``); TvauError when none or several fit."""
    return detect_source(root).name


def open_source(root: str | Path) -> Source:
    """The reader for ``root``'s layout."""
    return detect_source(root).open(root)
