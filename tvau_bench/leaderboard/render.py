"""Rebuild the leaderboard (README.md, tables.tex, {table}.csv, dialogue.png) from the reported tables, the
per-sample logs of admitted dialogue runs and the per-video files of admitted detection runs.

Measured figures are always recomputed from the evidence: dialogue rows from the logs with
``harness.scoring.score_rows``, detection rows from the per-video files with ``leaderboard.detection``; stored
aggregates (``results.json``, ``summary.json``) are never read. Rows come in blocks: the paper's reported rows,
then one block per measured dataset group (detection: per dataset and split). Bold marks the best value of each column *within a block*, so numbers measured on other data
(e.g. the synthetic set) never outrank the paper's or vice versa. Output is byte-for-byte deterministic.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes, atomic_write_text
from ..errors import TvauWarning
from ..hub.card import markdown_table
from ..metrics import suite
from ..sources.registry import by_family, in_words
from .detection import BOOTSTRAP, METRICS, MeasuredDetection, measured_detections
from .layouts import ABLATION_MODELS, LAYOUTS, MISSING, Column, Layout, format_value, parse_cell
from .reported import ReportedRow, load_reported
from .store import DETECTION_DIR, StoredRun, dataset_family, dataset_group, slug, stored_runs

REPORTED_BLOCK = "reported"
MEASURED_PREFIX = "measured on"
CEILING_PREFIX = "ceiling (oracle)"  # block of oracle rows: shown apart, never bold, never ranked
OUTPUTS = ("README.md", "tables.tex", "detection.csv", "dialogue.csv", "ablation.csv", "dialogue.png")


@dataclass
class Cell:
    """A table cell: its printed text, the number it stands for, and (measured cells) the 95% interval."""

    text: str
    value: float | None
    ci95: tuple[float, float] | None = None
    bold: bool = False


@dataclass
class Row:
    """A table row: method, the block it belongs to (``reported`` or a measured dataset group), its cells."""

    method: str
    block: str
    status: str
    cells: dict[str, Cell] = field(default_factory=dict)
    note: str = ""


@dataclass
class Table:
    """A paper table rebuilt: its layout and its rows in order."""

    layout: Layout
    rows: list[Row]


@dataclass
class MeasuredRow:
    """Figures of one model on one dataset group, per family (``ST``/``UB``), recomputed from logs."""

    model: str
    display_name: str
    size_b: float | None
    group: str
    split: str
    datasets: list[str]
    metrics: dict[str, dict[str, Any]]  # family -> score_rows(...) output
    fingerprints: dict[str, str]
    shots: int = 1
    history: str = "own"
    oracle: bool = False


# --- building tables (pure) -------------------------------------------------------------------------------------


def reported_rows(layout: Layout, reported: Sequence[ReportedRow]) -> list[Row]:
    """The paper's rows, cell text exactly as printed."""
    rows = []
    for rep in reported:
        cells = {}
        for col in layout.columns:
            text = rep.cells[col.header] if col.in_paper else MISSING
            cells[col.header] = Cell(text, parse_cell(text, col.kind))
        rows.append(Row(rep.method, REPORTED_BLOCK, "reported (paper)", cells))
    return rows


def measured_rows(layout: Layout, measured: Sequence[MeasuredRow]) -> list[Row]:
    """Rows of measured runs for the columns this layout fills from logs (others print ``--``)."""
    rows = []
    # a block is named by every dataset its rows ran on (a group holds one dataset per family)
    data: dict[tuple[str, str], set[str]] = {}
    for m in measured:
        data.setdefault((m.group, m.split), set()).update(m.datasets)
    for m in measured:
        where = measured_block(" + ".join(sorted(data[m.group, m.split])), m.split)
        cells = {}
        for col in layout.columns:
            cells[col.header] = _measured_cell(col, m)
        fams = ", ".join(f"{fam}: n={m.metrics[fam]['n_samples']}" for fam in sorted(m.metrics))
        note = (
            f"measured on {' + '.join(m.datasets)} ({m.split}, {m.shots}-shot, history {m.history}; {fams})"
        )
        if m.oracle:
            block, status = f"{CEILING_PREFIX}: {where}", "ceiling (oracle, not ranked)"
            note = f"oracle ceiling, not ranked; {note}"
        else:
            block, status = where, "measured"
        name = m.display_name
        missing = sum(m.metrics[fam].get("n_missing", 0) for fam in m.metrics)
        if missing:  # admitted with `leaderboard add --partial`: unanswered samples counted wrong
            name, status = f"{name} (partial)", f"{status}, partial"
            note = f"partial: {missing} samples unanswered, counted wrong; {note}"
        rows.append(Row(name, block, status, cells, note))
    return rows


def measured_block(dataset: str, split: str) -> str:
    """The block of rows measured on ``dataset`` (a dataset group for dialogue rows) and ``split``."""
    return f"{MEASURED_PREFIX} {dataset} ({split})"


def ablation_rows(layout: Layout, measured: Sequence[MeasuredRow]) -> list[Row]:
    """Measured runs of T-VAU and its ablations (:data:`ABLATION_MODELS`), one row per dataset they ran on:
    the ablation table has no dataset columns, so each row names its data in the method and the note."""
    rows = []
    order = {name: i for i, name in enumerate(ABLATION_MODELS)}
    chosen = sorted(
        (m for m in measured if m.model in order), key=lambda m: (m.group, m.split, order[m.model])
    )
    for m in chosen:
        for fam, dataset in zip(sorted(m.metrics), _datasets_by_family(m), strict=True):
            res = m.metrics[fam]
            cells = {}
            for col in layout.columns:
                if col.kind == "params":
                    size = None if m.size_b is None else 1000 * m.size_b
                    cells[col.header] = Cell(format_value(size, col), size)
                elif col.metric is None or col.metric not in res:
                    cells[col.header] = Cell(MISSING, None)
                else:
                    value, ci = res[col.metric], res.get(suite.dialogue_metric(col.metric).ci_key)
                    ci95 = None if ci is None else (float(ci[0]), float(ci[1]))
                    cells[col.header] = Cell(format_value(value, col), value, ci95)
            note = f"measured on {dataset} ({m.split}, {m.shots}-shot, history {m.history}; n={res['n_samples']})"
            block = measured_block(dataset, m.split)
            rows.append(Row(f"{m.display_name} ({fam})", block, "measured", cells, note))
    return rows


def _datasets_by_family(m: MeasuredRow) -> list[str]:
    """The dataset of each family of ``m``, in sorted family order."""
    by_family = {dataset_family(d): d for d in m.datasets}
    return [by_family.get(fam, " + ".join(m.datasets)) for fam in sorted(m.metrics)]


def _measured_cell(col: Column, m: MeasuredRow) -> Cell:
    if col.kind == "size":
        return Cell(format_value(m.size_b, col), m.size_b)
    if col.metric is None or col.family not in m.metrics:
        return Cell(MISSING, None)
    res = m.metrics[col.family]
    value = res.get(col.metric)
    ci = res.get(suite.dialogue_metric(col.metric).ci_key)
    return Cell(format_value(value, col), value, None if ci is None else (float(ci[0]), float(ci[1])))


def detection_rows(layout: Layout, detection: Sequence[MeasuredDetection]) -> list[Row]:
    """Rows of stored detection runs: figures x100 recomputed from per-video files, with their intervals."""
    rows = []
    for d in detection:
        run, fig = d.run, d.figures
        cells = {}
        for col in layout.columns:
            value = None if col.metric is None else fig.values.get(col.metric)
            ci = None if col.metric is None else fig.ci95.get(col.metric)
            cells[col.header] = Cell(format_value(value, col), value, ci)
        note = f"measured on {run.dataset} ({run.split}; {fig.num_videos} videos, {fig.num_frames} frames)"
        gaps = [m for m in METRICS if fig.ci95[m] is None]
        if gaps:
            counts = ", ".join(f"{m} {fig.undefined[m]}/{fig.n_resamples}" for m in gaps)
            note += f"; no interval where undefined on over 10% of resamples, too few videos ({counts})"
        left_out = [m for m in METRICS if fig.ci95[m] is not None and fig.undefined[m]]
        if left_out:
            counts = ", ".join(f"{m} {fig.undefined[m]}/{fig.n_resamples}" for m in left_out)
            note += f"; resamples where a metric is undefined left out of its interval ({counts})"
        rows.append(Row(run.display_name, measured_block(run.dataset, run.split), "measured", cells, note))
    return rows


def build_table(
    layout: Layout,
    reported: Sequence[ReportedRow],
    measured: Sequence[MeasuredRow] = (),
    detection: Sequence[MeasuredDetection] = (),
) -> Table:
    """Reported rows, then measured rows, then oracle ceilings, with the bold best value per column within each
    block (oracle rows are never bold: they are not ranked)."""
    rows = reported_rows(layout, reported)
    if layout.measured_by == "dialogue":
        rows += measured_rows(layout, [m for m in measured if not m.oracle])
        rows += measured_rows(layout, [m for m in measured if m.oracle])
    elif layout.measured_by == "detection":
        rows += detection_rows(layout, detection)
    elif layout.measured_by == "ablation":
        rows += ablation_rows(layout, measured)
    for block in dict.fromkeys(r.block for r in rows if not r.block.startswith(CEILING_PREFIX)):
        members = [r for r in rows if r.block == block]
        for col in layout.columns:
            _bold_best(col, [r.cells[col.header] for r in members])
    return Table(layout, rows)


def _bold_best(col: Column, cells: list[Cell]) -> None:
    values = [c.value for c in cells if c.value is not None]
    if col.better is None or len(values) < 2:
        return
    best = max(values) if col.better == "higher" else min(values)
    for c in cells:
        c.bold = c.value is not None and c.value == best


def group_measured(runs: Sequence[StoredRun], score_rows) -> list[MeasuredRow]:
    """One measured row per (model, dataset group, split, shots, history); each family's figures from its log."""
    groups: dict[tuple, list[StoredRun]] = {}
    for run in runs:
        if run.family is None:
            warnings.warn(
                f"{run.path}: dataset {run.dataset!r} names neither "
                f"{in_words([s.title for s in by_family()], 'nor')}; not in the tables",
                TvauWarning,
                stacklevel=2,
            )
            continue
        key = (dataset_group(run.dataset), run.split, run.model, run.shots, run.history, run.oracle)
        groups.setdefault(key, []).append(run)
    out = []
    for (group, split, model, shots, history, oracle), members in sorted(groups.items()):
        metrics, fps = {}, {}
        for run in sorted(members, key=lambda r: r.dataset):
            metrics[run.family] = score_rows(run.rows)
            fps[run.family] = run.fingerprint
        first = members[0]
        out.append(
            MeasuredRow(
                model=model,
                display_name=first.display_name,
                size_b=first.size_b,
                group=group,
                split=split,
                datasets=sorted(r.dataset for r in members),
                metrics=metrics,
                fingerprints=fps,
                shots=shots,
                history=history,
                oracle=oracle,
            )
        )
    return out


# --- output formats (pure) --------------------------------------------------------------------------------------


def _cell_md(cell: Cell, col: Column) -> str:
    text = f"**{cell.text}**" if cell.bold else cell.text
    if cell.ci95 is not None:
        lo, hi = (format_value(v, col).rstrip("%") for v in cell.ci95)
        text += f" [{lo}, {hi}]"
    return text


def to_markdown(table: Table) -> str:
    """A GitHub markdown table in the paper's column order, plus a Status column."""
    layout = table.layout
    cols = layout.columns
    rows = [
        [row.method, *(_cell_md(row.cells[c.header], c) for c in cols), row.note or row.status]
        for row in table.rows
    ]
    return markdown_table([*layout.headers, "Status"], rows) + "\n"


_TEX_ESCAPES = {
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
}


def _tex(text: str) -> str:
    out = "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)
    return out.replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment; reported rows marked with a dagger, measured cells with intervals."""
    layout = table.layout
    cols = layout.columns
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{"
        + _tex(f"{layout.title}. {layout.caption} {layout.legend}".rstrip())
        + r" $^\dagger$: reported in the paper (real data); every other block names the data it was measured"
        + r" on.}",
        r"\label{tab:" + layout.key + "}",
        r"\begin{tabular}{l" + "c" * len(cols) + "}",
        r"\toprule",
        " & ".join(_tex(h) for h in layout.headers) + r" \\",
        r"\midrule",
    ]
    block = None
    for row in table.rows:
        if row.block != block:
            if block is not None:
                lines.append(r"\midrule")
            if row.block != REPORTED_BLOCK:  # no measured row sits under the paper's columns unlabelled
                label = _tex(row.block)
                lines.append(r"\multicolumn{" + str(len(cols) + 1) + r"}{l}{\textit{" + label + r"}} \\")
        block = row.block
        method = _tex(row.method) + (r"$^\dagger$" if row.block == REPORTED_BLOCK else "")
        cells = []
        for col in cols:
            cell = row.cells[col.header]
            text = _tex(cell.text)
            if cell.bold:
                text = r"\textbf{" + text + "}"
            if cell.ci95 is not None:
                lo, hi = (format_value(v, col).rstrip("%") for v in cell.ci95)
                text += r" {\scriptsize[" + _tex(lo) + ", " + _tex(hi) + "]}"
            cells.append(text)
        lines.append(" & ".join([method, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Machine-readable: one line per row; each column's printed value, then its interval bounds."""
    layout = table.layout
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["method", "status", "block"]
    for col in layout.columns:
        header += [col.header, f"{col.header} ci95_lo", f"{col.header} ci95_hi"]
    writer.writerow(header)
    for row in table.rows:
        line = [row.method, row.status, row.block]
        for col in layout.columns:
            cell = row.cells[col.header]
            ci = cell.ci95
            line += [
                cell.text,
                "" if ci is None else repr(round(ci[0], 6)),
                "" if ci is None else repr(round(ci[1], 6)),
            ]
        writer.writerow(line)
    return buf.getvalue()


def to_readme(
    tables: Sequence[Table], measured: Sequence[MeasuredRow], detection: Sequence[MeasuredDetection] = ()
) -> str:
    """The leaderboard page: legend, the three tables, the chart, and the measured runs' provenance."""
    parts = [
        "# T-VAU leaderboard",
        "",
        "Generated by `tvau-bench leaderboard render` from `leaderboard/reported/` (the paper's published numbers)",
        "and the per-sample logs under `leaderboard/results/` (admitted with `tvau-bench leaderboard add`). Do not",
        "edit by hand.",
        "",
        "- **reported (paper)**: copied from the paper, every cell with its source in `leaderboard/reported/*.csv`.",
        "- **measured**: recomputed from per-sample logs (corpus BLEU-4 with sacrebleu, Yes/No accuracy), with",
        "  bootstrap 95% intervals in brackets. The dataset each row was measured on is named in its Status.",
        "- **Bold**: the best value of a column within its block (reported rows, or rows measured on the same",
        "  data); numbers from different data are not ranked against each other, and the chart draws each data",
        "  in its own row of panels. Data named `synthetic` is the demo's generated data, not the real dataset.",
        "- **ceiling (oracle)**: adapters that read the source's masks or the ground truth (e.g. the geometry",
        "  oracle), shown in their own block below the models as upper bounds; never bold, never ranked.",
        "",
    ]
    if detection:
        fig = detection[0].figures
        parts[-1:-1] = [
            "- **measured (detection)**: recomputed from the stored per-video score, label, track and detection",
            "  files (frame AUC as the UBnormal script, RBDC/TBDC), ×100 as in the paper, with 95% intervals from",
            f"  a bootstrap over videos ({fig.n_resamples} resamples, seed {fig.seed}) in brackets.",
        ]
    for table in tables:
        parts += [f"## {table.layout.title}", "", table.layout.caption, ""]
        if table.layout.legend:
            parts += [table.layout.legend, ""]
        parts += [to_markdown(table)]
    parts += ["## Dialogue scores", "", "![dialogue scores](dialogue.png)", ""]
    if measured:
        rows = []
        for m in measured:
            fps = ", ".join(f"{fam} {fp[:12]}" for fam, fp in sorted(m.fingerprints.items()))
            sig = next((r.get("signature") for r in m.metrics.values() if r.get("signature")), None) or "-"
            name = f"{m.model} (oracle ceiling)" if m.oracle else m.model
            rows.append([name, " + ".join(m.datasets), m.split, fps, f"`{sig}`"])
        header = ["Model", "Datasets", "Split", "Fingerprint(s)", "Signature"]
        parts += ["## Measured runs", "", markdown_table(header, rows), ""]
    elif not detection:
        parts += ["No measured runs admitted yet.", ""]
    if detection:
        rows = []
        for d in detection:
            run, fig = d.run, d.figures
            where = f"`results/{slug(run.dataset)}/{DETECTION_DIR}/{slug(run.name)}/`"
            rows.append(
                [
                    run.name,
                    run.dataset,
                    run.split,
                    str(fig.num_videos),
                    str(fig.num_frames),
                    _rule_text(run.rule),
                    where,
                ]
            )
        header = ["Method", "Dataset", "Split", "Videos", "Frames", "Detection rule", "Evidence"]
        parts += [
            "## Measured detection runs",
            "",
            f"Intervals: {BOOTSTRAP}, {detection[0].figures.n_resamples} resamples, seed {detection[0].figures.seed}.",
            "",
            markdown_table(header, rows),
            "",
        ]
    return "\n".join(parts)


def _rule_text(rule: dict[str, Any] | None) -> str:
    """The heatmap-to-box rule in a few words (levels, smallest component, NMS, box convention)."""
    if not rule:
        return "-"
    levels = ", ".join(f"{float(t):g}" for t in rule.get("thresholds", []))
    nms = rule.get("nms_iou")
    return (
        f"levels {levels}; min area {rule.get('min_area')}; NMS {'off' if nms is None else f'{nms:g}'}; "
        f"boxes {rule.get('box')}"
    )


# --- chart --------------------------------------------------------------------------------------------------------


def chart_groups(table: Table) -> dict[str, list[Row]]:
    """The chart's rows of panels: the paper's rows, then one per measured data (its oracle ceilings with it).
    Real and synthetic rows never share a panel, so no bar is read against another data's bar."""
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        key = row.block
        if key.startswith(CEILING_PREFIX):
            key = key.split(": ", 1)[1]
        groups.setdefault(key, []).append(row)
    return groups


def chart_png(table: Table) -> bytes:
    """Grouped bars of the dialogue table: one row of panels per data (reported in the paper, then each measured
    data), one panel per source family; measured rows hatched with interval whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = chart_groups(table)
    sources = by_family()
    fig, axes = plt.subplots(
        len(groups),
        len(sources),
        figsize=(6 * len(sources), 4.2 * len(groups)),
        dpi=100,
        sharey=True,
        squeeze=False,
    )
    cmap = plt.get_cmap("tab20")
    metrics = suite.paper_order()
    x = np.arange(len(metrics))
    for panel_row, (key, rows) in zip(axes, groups.items(), strict=True):
        width = 0.8 / max(len(rows), 1)
        where = "reported in the paper (real data)" if key == REPORTED_BLOCK else key
        for ax, src in zip(panel_row, sources, strict=True):
            for i, row in enumerate(rows):
                vals, errs = [], [[], []]
                for m in metrics:
                    cell = row.cells[m.header(src.family)]
                    v = cell.value if cell.value is not None else 0.0
                    vals.append(v)
                    lo, hi = cell.ci95 if cell.ci95 is not None else (v, v)
                    errs[0].append(max(v - lo, 0.0))
                    errs[1].append(max(hi - v, 0.0))
                measured = row.block != REPORTED_BLOCK
                ceiling = row.block.startswith(CEILING_PREFIX)
                ax.bar(
                    x - 0.4 + width * (i + 0.5),
                    vals,
                    width,
                    label=row.method + (" (oracle ceiling, not ranked)" if ceiling else ""),
                    color=cmap(i % 20),
                    hatch=("xx" if ceiling else "//") if measured else None,
                    edgecolor="black" if measured else "none",
                    linewidth=0.5,
                    yerr=errs if measured else None,
                    capsize=2 if measured else 0,
                )
            ax.set_xticks(x, [m.name for m in metrics])
            ax.set_title(f"{src.title} columns\n{where}", fontsize=9)
            if all(row.cells[m.header(src.family)].value is None for row in rows for m in metrics):
                ax.text(0.5, 0.5, "no run on this family", transform=ax.transAxes, ha="center", color="grey")
            ax.set_ylim(0, 105)
            ax.grid(axis="y", linewidth=0.3)
        panel_row[0].set_ylabel("BLEU-4 / accuracy (%)")
        panel_row[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    buf = io.BytesIO()
    # Fixed metadata: matplotlib would otherwise stamp its version, which changes the bytes between installs.
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


# --- I/O edge ---------------------------------------------------------------------------------------------------


def build_all(
    root: str | Path = "leaderboard",
) -> tuple[list[Table], list[MeasuredRow], list[MeasuredDetection]]:
    """The three tables from ``ROOT/reported`` and the evidence of every admitted run under ``ROOT/results``."""
    from ..harness.scoring import score_rows

    measured = group_measured(stored_runs(root), score_rows)
    detection = measured_detections(root)
    tables = [
        build_table(layout, load_reported(root, key), measured, detection) for key, layout in LAYOUTS.items()
    ]
    return tables, measured, detection


def render(root: str | Path = "leaderboard", out: str | Path | None = None) -> list[Path]:
    """Write every output file into ``out`` (default ``root``); returns their paths."""
    root = Path(root)
    out = Path(out) if out is not None else root
    tables, measured, detection = build_all(root)
    written = []
    for table in tables:
        path = out / f"{table.layout.key}.csv"
        atomic_write_text(path, to_csv(table))
        written.append(path)
    atomic_write_text(out / "tables.tex", "\n".join(to_latex(t) for t in tables))
    atomic_write_text(out / "README.md", to_readme(tables, measured, detection))
    dialogue = next(t for t in tables if t.layout.key == "dialogue")
    atomic_write_bytes(out / "dialogue.png", chart_png(dialogue))
    written += [out / "tables.tex", out / "README.md", out / "dialogue.png"]
    return written
