"""Paired comparison of two runs on the same samples: per-metric difference B − A with a paired bootstrap interval.

Both runs are read from their per-sample logs (a run folder or a stored leaderboard folder); the figures are
recomputed from raw answers as ``harness.scoring`` does (every metric of ``metrics.suite.DIALOGUE``, from its
per-sample rows), and each bootstrap resample draws the same sample indices for both runs
(``metrics.bootstrap.paired_bootstrap``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._io import iter_jsonl
from ..errors import TvauError
from ..harness.run_log import LOG
from ..metrics import suite


def load_rows(run: str | Path) -> list[dict[str, Any]]:
    """The log rows of a run folder (``RUN/samples.jsonl``), sorted by sample id; one fingerprint only."""
    log = Path(run) / LOG
    if not log.is_file():
        raise TvauError(
            "no samples.jsonl here", path=run, fix="pass a run folder or a leaderboard/results/... folder"
        )
    rows = [row for _, row in iter_jsonl(log)]
    if not rows:
        raise TvauError("the log is empty", path=log)
    if len({r.get("fingerprint") for r in rows}) != 1:
        raise TvauError("the log mixes protocol fingerprints", path=log)
    return sorted(rows, key=lambda r: r["sample_id"])


def compare_rows(
    rows_a: list[dict[str, Any]], rows_b: list[dict[str, Any]], *, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Per-metric A, B, B − A and its paired-bootstrap 95% interval over the samples both runs share."""
    from ..harness.scoring import metric_rows
    from ..metrics.bootstrap import paired_bootstrap

    by_a = {r["sample_id"]: r for r in rows_a}
    by_b = {r["sample_id"]: r for r in rows_b}
    if set(by_a) != set(by_b):
        only_a, only_b = sorted(set(by_a) - set(by_b)), sorted(set(by_b) - set(by_a))
        raise TvauError(
            f"the runs cover different samples ({len(only_a)} only in A, {len(only_b)} only in B; "
            f"e.g. {(only_a or only_b)[0]!r})",
            fix="compare complete runs of the same dataset split",
        )
    ids = sorted(by_a)
    for sid in ids:
        if by_a[sid]["references"] != by_b[sid]["references"]:
            raise TvauError(
                f"sample {sid!r} has different references in A and B", fix="use runs of one dataset"
            )
    out: dict[str, Any] = {
        "n_samples": len(ids),
        "same_fingerprint": rows_a[0]["fingerprint"] == rows_b[0]["fingerprint"],
        "fingerprints": {"A": rows_a[0]["fingerprint"], "B": rows_b[0]["fingerprint"]},
        "direction": "delta = B - A",
        "metrics": {},
    }

    for m in suite.DIALOGUE:
        rows_a_m = metric_rows(m, [by_a[s] for s in ids])
        if rows_a_m is None:
            out["metrics"][m.key] = None
            continue
        rows_b_m = metric_rows(m, [by_b[s] for s in ids])
        res = paired_bootstrap(rows_b_m, rows_a_m, m.statistic, n_resamples=n_resamples, seed=seed)
        out["metrics"][m.key] = _entry(m.statistic(rows_a_m), m.statistic(rows_b_m), res, len(rows_a_m))
    return out


def _entry(a: float, b: float, res: Any, n: int) -> dict[str, Any]:
    return {"A": a, "B": b, **res.to_dict(), "n": n}


def compare_runs(
    run_a: str | Path, run_b: str | Path, *, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """:func:`compare_rows` of two run folders, with their paths."""
    result = compare_rows(load_rows(run_a), load_rows(run_b), n_resamples=n_resamples, seed=seed)
    result["runs"] = {"A": str(run_a), "B": str(run_b)}
    return result


def format_comparison(result: dict[str, Any]) -> str:
    """A readable table of :func:`compare_rows` output."""
    lines = [
        f"A: {result.get('runs', {}).get('A', 'A')}",
        f"B: {result.get('runs', {}).get('B', 'B')}",
        f"paired over {result['n_samples']} samples; delta = B - A; "
        + ("same protocol fingerprint" if result["same_fingerprint"] else "DIFFERENT protocol fingerprints"),
        "",
        f"{'metric':<18} {'n':>5} {'A':>8} {'B':>8} {'B-A':>8}  {'95% CI':<20} {'p':>6}",
    ]
    for key in (m.key for m in suite.DIALOGUE):
        m = result["metrics"].get(key)
        if m is None:
            lines.append(f"{key:<18} {'-':>5}  (no abnormal samples)")
            continue
        ci = f"[{m['ci95'][0]:.2f}, {m['ci95'][1]:.2f}]"
        lines.append(
            f"{key:<18} {m['n']:>5} {m['A']:>8.2f} {m['B']:>8.2f} {m['delta']:>+8.2f}  {ci:<20} {m['p_value']:>6.3f}"
        )
    return "\n".join(lines)
