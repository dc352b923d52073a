"""The demo's closing summary: one table of what was built and measured, and every output path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..metrics import suite
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
    for name, ann in sorted(by.get("annotate", {}).items()):
        line = _quarantine_line(ann["report"])
        if line:
            lines.append(f"annotation ({name}): {line}")
    for key, splits in sorted(by.get("load", {}).items()):
        lines.append(f"load_dataset {key}: " + ", ".join(f"{s} {n} rows" for s, n in splits.items()))
    det = by.get("detect", {})
    if det:
        head = [("micro AUC", 10), ("macro AUC", 10), ("RBDC", 8), ("TBDC", 8)]
        cells = [[_pct(r[k]) for k in suite.DETECTION] for r in det.values()]
        lines += _table("detection (test)", head, dict(zip(det, cells, strict=True)))
    dia = by.get("dialogue", {})
    if dia:
        head = [*((m.name, max(10, len(m.name) + 2)) for m in suite.DIALOGUE), ("n", 8)]
        cells = [[*(f"{r[m.key]:.2f}" for m in suite.DIALOGUE), str(r["n_samples"])] for r in dia.values()]
        lines += _table("dialogue (test, 1-shot)", head, dict(zip(dia, cells, strict=True)))
    lines.append("-" * 72)
    lines.append("outputs:")
    for label, rel in _outputs(by):
        lines.append(f"  {label:<34}{out / rel}")
    return lines


def _quarantine_line(report: dict[str, Any]) -> str | None:
    """Targets by final verdict, then the quarantine's other notes by reason: a quarantine record is not a
    quarantined target (most are single appearance observations outvoted by the target's majority)."""
    counts, stages = report.get("counts", {}), report.get("stages", {})
    verdicts = stages.get("stage3")
    if verdicts is None or "targets" not in counts:
        return None
    kinds = ("verified", "flagged", "quarantined")
    text = f"{counts['targets']} targets: " + ", ".join(f"{verdicts.get(k, 0)} {k}" for k in kinds)
    # an unverified target's own record ("stage3: target flagged") is counted above already
    notes = {
        reason.split(": ", 1)[-1]: n
        for reason, n in sorted(stages.get("quarantine_by_reason", {}).items())
        if not reason.split(": ", 1)[-1].startswith("target ")
    }
    if notes:
        text += "; notes in quarantine.jsonl: " + ", ".join(f"{n} {reason}" for reason, n in notes.items())
    return text


def print_summary(out: Path, results: Sequence[StepResult]) -> None:
    """Print :func:`summary_lines`."""
    print("\n".join(summary_lines(out, results)))


def _table(title: str, head: list[tuple[str, int]], rows: dict[str, list[str]]) -> list[str]:
    """A title column of 24 characters, then right-aligned columns of the given widths."""
    lines = [f"{title:<24}" + "".join(f"{h:>{w}}" for h, w in head)]
    for name, cells in rows.items():
        lines.append(f"{name:<24}" + "".join(f"{c:>{w}}" for c, (_, w) in zip(cells, head, strict=True)))
    return lines


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
