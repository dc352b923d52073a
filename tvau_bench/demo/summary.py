"""The demo's closing summary: one table of what was built and measured, and every output path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .steps import StepResult


def summary_lines(out: Path, results: Sequence[StepResult]) -> list[str]:
    """Human-readable lines of the final summary (pure: formats the step summaries)."""
    by = {r.name: r.summary for r in results}
    lines = ["", "tvau-bench demo: summary", "=" * 72]
    lines.append(f"{'step':<12}{'time (s)':>10}  {'':<8}{'what'}")
    for r in results:
        lines.append(f"{r.name:<12}{r.seconds:>10.1f}  {'reused' if r.reused else '':<8}{r.title}")
    lines.append("-" * 72)
    for name, fid in sorted(by.get("annotate", {}).items()):
        f = fid["fidelity"]
        lines.append(
            f"annotation fidelity ({name}): category {f.get('category_accuracy', 0):.1f}%, colours "
            f"{f.get('colour_accuracy', 0):.1f}%, direction {f.get('direction_accuracy', 0):.1f}%, enter/exit "
            f"{f.get('enter_exit_accuracy', 0):.1f}%"
        )
    for key, splits in sorted(by.get("load", {}).items()):
        lines.append(f"load_dataset {key}: " + ", ".join(f"{s} {n} rows" for s, n in splits.items()))
    det = by.get("detect", {})
    if det:
        lines.append(f"{'detection (test)':<24}{'micro AUC':>10}{'macro AUC':>10}{'RBDC':>8}{'TBDC':>8}")
        for method, m in det.items():
            lines.append(
                f"{method:<24}{_pct(m['micro_auc']):>10}{_pct(m['macro_auc']):>10}"
                f"{_pct(m['rbdc']):>8}{_pct(m['tbdc']):>8}"
            )
    dia = by.get("dialogue", {})
    if dia:
        lines.append(f"{'dialogue (test, 1-shot)':<24}{'Yes/No':>10}{'Target':>10}{'Traj.':>8}{'n':>8}")
        for name, m in dia.items():
            lines.append(
                f"{name:<24}{m['yes_no_accuracy']:>10.2f}{m['target_bleu4']:>10.2f}"
                f"{m['trajectory_bleu4']:>8.2f}{m['n_samples']:>8}"
            )
    lines.append("-" * 72)
    lines.append("outputs:")
    for label, rel in _outputs(by):
        lines.append(f"  {label:<34}{out / rel}")
    return lines


def print_summary(out: Path, results: Sequence[StepResult]) -> None:
    """Print :func:`summary_lines`."""
    print("\n".join(summary_lines(out, results)))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _outputs(by: dict[str, Any]) -> list[tuple[str, str]]:
    items = [
        ("synthetic sources", "source/"),
        ("annotations (JSONL, report)", "annotations/"),
        ("Hub datasets (Parquet + card)", "hub/"),
        ("AHD checkpoint", "models/ahd/"),
        ("detections, scores, overlays", "detect/"),
        ("dialogue runs (per-sample logs)", "runs/"),
        ("leaderboard tables and chart", "leaderboard/"),
    ]
    for key, path in sorted(by.get("figures", {}).items()):
        if key != "sample_id":
            items.append((f"figure: {key}", str(Path(path).relative_to(Path(path).parents[1]))))
    items.append(("summary (JSON)", "summary.json"))
    return items
