"""The demo's results in a form the repository commits: its runs admitted into a leaderboard folder, its figures
and summary under ``docs/``, and the README's figures as text rendered from that summary.

One command refreshes all of it after a demo run (``tvau-bench demo --out demo_out --publish .``); tests render
the committed files again and compare, so the committed tables and README figures cannot drift from the evidence.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .._io import read_json, write_json
from ..errors import TvauError
from ..metrics import suite
from .pipeline import DETECT_METHODS, SOURCES, hub_dir, run_dirs
from .steps import cli

FIGURES = ("anomaly_example.png", "trajectory_boxes.png", "trajectory_masks.png")
SUMMARY = "demo_summary.json"
# Steps whose summaries carry the figures the README quotes (the others hold paths and timings of one machine).
PUBLISHED_STEPS = ("annotate", "load", "train", "detect", "dialogue")
DETECT_LABELS = {"ahd": "AHD", "classical": "classical (background/frame differencing)"}
DETECT_HEAD = {"micro_auc": "micro AUC", "macro_auc": "macro AUC", "rbdc": "RBDC", "tbdc": "TBDC"}


def admit_runs(out: Path, board: Path) -> None:
    """Replace ``board/results`` with every run of the demo in ``out`` (dialogue and detection), then render.

    Dialogue runs are admitted against the demo's exports, whose folder names (the runs' dataset names) say the
    data is synthetic; detection runs under the UBnormal-layout export's folder name. So every measured row names
    the synthetic data it ran on."""
    out, board = Path(out), Path(board)
    shutil.rmtree(board / "results", ignore_errors=True)
    for _, rundir in run_dirs(out / "runs"):
        dataset = hub_dir(out / "hub", rundir.parent.name)
        cli(["leaderboard", "add", str(rundir), "--root", str(board), "--dataset", str(dataset)])
    # detection rows under the name the dialogue runs got from their dataset folder, so both read alike
    detect_data = hub_dir(out / "hub", SOURCES[0]).name
    for method in DETECT_METHODS:
        detect_dir = out / "detect" / method
        cli(["leaderboard", "add", str(detect_dir), "--root", str(board), "--dataset", detect_data])
    cli(["leaderboard", "render", "--root", str(board)])


def published_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The machine-independent part of the demo's ``summary.json`` (figures, counts; no paths, no timings)."""
    return {k: summary[k] for k in PUBLISHED_STEPS if k in summary}


def readme_figures(summary: dict[str, Any]) -> str:
    """The README's demo figures (the detection table) as Markdown, from a (published) demo summary."""
    det = summary.get("detect")
    if not det:
        raise TvauError(
            "the demo summary has no detection figures", field="detect", fix="run the demo to the end"
        )
    head = ["method", *(DETECT_HEAD[k] for k in suite.DETECTION)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, figures in det.items():
        cells = [f"{figures[k]:.4f}" for k in suite.DETECTION]
        lines.append("| " + " | ".join([DETECT_LABELS.get(method, method), *cells]) + " |")
    return "\n".join(lines) + "\n"


def publish(out: Path, repo: Path) -> list[Path]:
    """Refresh the repository ``repo`` from the finished demo in ``out``: ``leaderboard/`` (runs admitted and
    rendered), ``docs/`` figures and ``docs/demo_summary.json``. Returns the files written."""
    out, repo = Path(out), Path(repo)
    summary_path = out / "summary.json"
    if not summary_path.is_file():
        raise TvauError(
            "no finished demo here", path=summary_path, fix=f"run `tvau-bench demo --out {out}` first"
        )
    board = repo / "leaderboard"
    if not board.is_dir():
        raise TvauError(
            "not a tvau-bench checkout: no leaderboard/ folder", path=repo, fix="pass the clone's root"
        )
    admit_runs(out, board)
    docs = repo / "docs"
    docs.mkdir(exist_ok=True)
    written = []
    for name in FIGURES:
        shutil.copyfile(out / "figures" / name, docs / name)
        written.append(docs / name)
    write_json(docs / SUMMARY, published_summary(read_json(summary_path)))
    written.append(docs / SUMMARY)
    return written
