"""Resumable steps: each finished step leaves a marker, so a rerun (or a run after a kill) skips it."""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import read_json, write_json
from ..errors import TvauError


@dataclass(frozen=True)
class Step:
    """One stage of the demo: ``run()`` does the work and returns a JSON-able summary of it."""

    name: str
    title: str
    run: Callable[[], dict[str, Any]]


@dataclass
class StepResult:
    name: str
    title: str
    summary: dict[str, Any]
    seconds: float
    reused: bool


def run_steps(
    steps: Sequence[Step], marker_dir: Path, *, log: Callable[[str], None] = print
) -> list[StepResult]:
    """Run ``steps`` in order, skipping those whose marker exists; a marker is written only after success."""
    marker_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, step in enumerate(steps, 1):
        marker = marker_dir / f"{step.name}.json"
        if marker.exists():
            done = read_json(marker)
            log(f"[{i}/{len(steps)}] {step.title}: done before, reused")
            results.append(StepResult(step.name, step.title, done["summary"], done["seconds"], True))
            continue
        log(f"[{i}/{len(steps)}] {step.title} ...")
        t0 = time.perf_counter()
        summary = step.run()
        seconds = round(time.perf_counter() - t0, 2)
        write_json(marker, {"summary": summary, "seconds": seconds})
        log(f"[{i}/{len(steps)}] {step.title}: {seconds:.1f}s")
        results.append(StepResult(step.name, step.title, summary, seconds, False))
    return results


def cli(argv: Sequence[str], *, capture_json: bool = False) -> Any:
    """Run one ``tvau-bench`` command in-process (the same contract users call); optionally parse its JSON stdout."""
    from ..cli import main  # the CLI sits above every area; imported late to keep the layering one-way

    out = io.StringIO()
    with contextlib.redirect_stdout(out) if capture_json else contextlib.nullcontext():
        code = main(list(argv))
    if code != 0:
        raise TvauError(
            f"`tvau-bench {' '.join(map(str, argv))}` failed with exit code {code}",
            fix="see the message above; rerun `tvau-bench demo` to resume",
        )
    if capture_json:
        text = out.getvalue()
        start = text.find("{")
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            raise TvauError(
                f"`tvau-bench {' '.join(map(str, argv))}` printed no JSON: {text[:200]!r}"
            ) from None
    return None
