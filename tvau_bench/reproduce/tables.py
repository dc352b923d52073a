"""Render a reproduced table (``OUT/TABLE.md``) from its run folders, detection folders and checkpoints.

Each dialogue cell is the harness's figure with its bootstrap 95% interval (``results.json``); table 3 adds the
paired-bootstrap difference of every variant against "w/o AHD & RAE" (:mod:`tvau_bench.leaderboard.compare`),
table 2 T-VAU against each baseline run. The paper's reported row is printed under each measured one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._io import atomic_write_text, read_json
from ..errors import TvauError
from ..leaderboard.compare import compare_runs
from ..leaderboard.reported import load_reported
from ..metrics import suite

NAMES = {
    "tvau": "T-VAU",
    "tvau-wo-ahd": "T-VAU w/o AHD",
    "tvau-wo-rae": "T-VAU w/o RAE",
    "tvau-wo-ahd-rae": "T-VAU w/o AHD & RAE",
    "classical": "Classical baseline (frame differencing)",
    "ahd": "AHD (FT)",
    "ahd-1s": "AHD (1S)",
    "geometry-oracle": "geometry-oracle (oracle ceiling: reads the ground truth)",
}
TITLES = {
    "table1": "Table 1 — Anomaly Detection Results",
    "table2": "Table 2 — Multi-turn Dialogue Results",
    "table3": "Table 3 — Ablation Studies",
}
REFERENCE = {"table3": "tvau-wo-ahd-rae", "table2": "tvau"}


def write_table(
    table: str, out: Path, plan: dict[str, Any], *, dataset_label: str, max_new_tokens: int | None = None
) -> dict[str, Any]:
    """Write ``out/TABLE.md``; returns the measured figures it shows."""
    runs, det, models = out / "runs", out / "detect", out / "models"
    cap = f"; the T-VAU rows generate at most {max_new_tokens} new tokens" if max_new_tokens else ""
    lines = [
        f"# {TITLES[table]} (measured)",
        "",
        f"Dataset: {dataset_label}. Test split, one-shot protocol{cap}.",
        "",
    ]
    figures: dict[str, Any] = {}
    if plan["detect"] and table == "table1":
        lines += ["| Method | Micro AUC ↑ | Macro AUC ↑ | RBDC ↑ | TBDC ↑ |", "|---|---|---|---|---|"]
        for method in plan["detect"]:
            m = read_json(det / method / "summary.json")["metrics"]
            figures[method] = m
            cells = [f"{100 * m[k]:.1f}" for k in ("micro_auc", "macro_auc")]
            cells += [f"{100 * m[k]:.3f}" for k in ("rbdc", "tbdc")]
            lines.append(f"| {NAMES[method]} | " + " | ".join(cells) + " |")
        lines += ["", "Reported (paper): " + _reported_line("detection", ("AHD (1S)", "AHD (FT)"))]
    if plan["dialogue"]:
        heat = read_json(det / "ahd" / "summary.json")["metrics"] if (det / "ahd").is_dir() else None
        metrics = suite.paper_order()  # the paper's Target, Trajectory, Yes/No first
        head = ["Method", "Params", "RBDC ↑", "TBDC ↑", *(m.header() for m in metrics)]
        lines += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        for name in plan["dialogue"]:
            res = read_json(runs / name / "results.json")
            params = _params(models / name)
            has_ahd = params is not None and params["ahd_head"] > 0
            rb = f"{100 * heat['rbdc']:.1f}" if heat and has_ahd else "--"
            tb = f"{100 * heat['tbdc']:.1f}" if heat and has_ahd else "--"
            size = (
                f"{params['total'] / 1e6:.3f}M ({params['trainable'] / 1e6:.3f}M trained)" if params else "-"
            )
            cells = [_cell(res, m.key) for m in metrics]
            lines.append(f"| {NAMES.get(name, name)} | {size} | {rb} | {tb} | " + " | ".join(cells) + " |")
            figures[name] = {
                **{m.key: res.get(m.key) for m in suite.DIALOGUE},
                "params": params,
                "n_samples": res["n_samples"],
            }
        lines += [
            "",
            "Cells: figure [bootstrap 95% interval] over the test samples (BLEU-4 on abnormal ones).",
        ]
        if table == "table3":
            lines += [
                "Reported (paper): " + _reported_line("ablation", tuple(NAMES[n] for n in plan["dialogue"]))
            ]
        else:  # the paper's dialogue rows are LVLMs on real data; its T-VAU row is the one to read beside ours
            lines += [
                "Reported (paper, real data; BLEU-4 convention unstated): "
                + _reported_line("dialogue", ("RAE (Ours)",))
            ]
        figures["paired"] = _paired(table, plan, runs, lines)
    atomic_write_text(out / f"{table}.md", "\n".join(lines) + "\n")
    return figures


def _params(ckpt: Path) -> dict[str, int] | None:
    path = ckpt / "config.json"
    return read_json(path).get("params") if path.is_file() else None


def _cell(res: dict[str, Any], key: str) -> str:
    value, ci = res.get(key), res.get(f"{key}_ci95")
    if value is None:
        return "--"
    scale = 100.0 if key == "yes_no_accuracy" and value <= 1.0 else 1.0
    text = f"{scale * value:.2f}" + ("%" if key == "yes_no_accuracy" else "")
    if ci:
        text += f" [{scale * ci[0]:.2f}, {scale * ci[1]:.2f}]"
    return text


def _paired(table: str, plan: dict[str, Any], runs: Path, lines: list[str]) -> dict[str, Any]:
    """Paired-bootstrap differences against the table's reference run, appended to ``lines``."""
    ref = REFERENCE.get(table)
    if ref is None or ref not in plan["dialogue"]:
        return {}
    out: dict[str, Any] = {}
    lines += ["", f"Paired bootstrap (same samples), delta = row − {NAMES.get(ref, ref)}:", ""]
    lines += ["| Row | " + " | ".join(f"Δ {m.name} [95% CI]" for m in suite.DIALOGUE) + " |"]
    lines += ["|---" * (1 + len(suite.DIALOGUE)) + "|"]
    for name in plan["dialogue"]:
        if name == ref:
            continue
        a, b = (runs / ref, runs / name) if table == "table3" else (runs / name, runs / ref)
        res = compare_runs(a, b)
        row = name if table == "table3" else f"{ref} vs {name}"
        out[row] = {k: v and {"delta": v["delta"], "ci95": v["ci95"]} for k, v in res["metrics"].items()}
        cells = []
        for metric in suite.DIALOGUE:
            m = res["metrics"].get(metric.key)
            cells.append(
                "--" if m is None else f"{m['delta']:+.2f} [{m['ci95'][0]:+.2f}, {m['ci95'][1]:+.2f}]"
            )
        label = NAMES.get(name, name) if table == "table3" else f"{NAMES[ref]} − {name}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def _reported_line(key: str, rows: tuple[str, ...]) -> str:
    """The paper's figures of ``rows`` in one line (from the repository's leaderboard/reported)."""
    root = Path(__file__).resolve().parents[2] / "leaderboard"
    try:
        reported = {r.method: r.cells for r in load_reported(root, key)}
    except TvauError:  # an installed package has no repository beside it
        return "see leaderboard/reported/"
    parts = [
        f"{row}: " + ", ".join(f"{c} {v}" for c, v in reported[row].items())
        for row in rows
        if row in reported
    ]
    return "; ".join(parts) or "see leaderboard/reported/"
