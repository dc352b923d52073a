"""Each dialogue metric is declared once (``metrics.suite``): a toy metric added to the table at runtime reaches
scoring, results, the results check at admission, comparisons, summaries and the leaderboard's columns; the
schemas agree with the table; the NaN-aware bootstrap and the shared detection summary behave."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tvau_bench.demo.steps import StepResult
from tvau_bench.demo.summary import summary_lines
from tvau_bench.harness.run_log import ROW_SCHEMA
from tvau_bench.harness.scoring import answer_of, row_problems, score_rows
from tvau_bench.leaderboard import layouts, store
from tvau_bench.leaderboard.compare import compare_rows, format_comparison, load_rows
from tvau_bench.leaderboard.layouts import MISSING
from tvau_bench.leaderboard.render import build_all, chart_png, to_csv, to_markdown
from tvau_bench.metrics import suite
from tvau_bench.metrics.bootstrap import DefinedInterval, bootstrap_ci, bootstrap_defined
from tvau_bench.metrics.suite import DialogueMetric

REPO = Path(__file__).resolve().parents[1]
STORED = REPO / "leaderboard" / "results" / "synthetic-ubnormal-fg"
STORED_ST = REPO / "leaderboard" / "results" / "synthetic-shanghaitech-fg"


def _recall(answer: str, reference: str) -> float:
    """Percent of the reference's words that the answer contains (a toy metric)."""
    ref = reference.lower().split()
    words = set(answer.lower().split())
    return 100.0 * sum(w in words for w in ref) / len(ref)


def _recall_rows(answers, references):
    return np.asarray([_recall(a, r) for a, r in zip(answers, references, strict=True)], dtype=np.float64)


TOY = DialogueMetric(
    key="target_recall",
    name="Recall",
    turn="target",
    rows=_recall_rows,
    abnormal_only=True,
)


@pytest.fixture
def toy(monkeypatch):
    """The suite with TOY appended, and the dialogue layout rebuilt from it (as an import would)."""
    monkeypatch.setattr(suite, "DIALOGUE", (*suite.DIALOGUE, TOY))
    monkeypatch.setitem(layouts.LAYOUTS, "dialogue", layouts.dialogue_layout())
    return TOY


def _recall_of(rows) -> float:
    abnormal = [r for r in rows if r["label"] == "Yes"]
    return sum(_recall(answer_of(r, "target"), r["references"]["target"]) for r in abnormal) / len(abnormal)


def test_toy_metric_reaches_results_and_the_admission_check(toy):
    rows = load_rows(STORED / "majority")
    res = score_rows(rows)
    want = _recall_of(rows)
    assert res["target_recall"] == pytest.approx(want)
    lo, hi = res["target_recall_ci95"]
    assert lo <= want <= hi and lo < hi
    assert {"target_recall", "target_recall_ci95"} <= set(store._recomputed())
    assert suite.figures_line(res).endswith(f"  Recall {want:.2f}")
    # the normal samples alone: an abnormal-only metric is undefined there
    normal = score_rows([r for r in rows if r["label"] == "No"])
    assert normal["target_recall"] is None and normal["target_recall_ci95"] is None


def test_toy_metric_reaches_the_leaderboard_columns(toy):
    tables, _, _ = build_all(REPO / "leaderboard")
    table = next(t for t in tables if t.layout.key == "dialogue")
    paper = (
        layouts.DIALOGUE.headers
    )  # the table as imported, without the toy (test_sources_registry checks it)
    assert table.layout.headers == [*paper[:5], "Recall (ST) ↑", *paper[5:], "Recall (UB) ↑"]
    assert not any(c.in_paper for c in table.layout.columns if c.metric == "target_recall")
    reported = [r for r in table.rows if r.status == "reported (paper)"]
    assert reported and all(r.cells["Recall (UB) ↑"].text == MISSING for r in reported)
    majority = next(r for r in table.rows if r.method == "Majority answer (offline)")
    cell = majority.cells["Recall (UB) ↑"]
    assert cell.value == pytest.approx(_recall_of(load_rows(STORED / "majority")))
    assert cell.text == f"{cell.value:.2f}" and cell.ci95 is not None
    st = majority.cells["Recall (ST) ↑"]  # the ShanghaiTech column comes from the ShanghaiTech-layout run
    assert st.value == pytest.approx(_recall_of(load_rows(STORED_ST / "majority")))
    assert "Recall (UB) ↑" in to_csv(table).splitlines()[0] and "Recall (UB) ↑" in to_markdown(table)
    assert chart_png(table).startswith(b"\x89PNG")


def test_toy_metric_reaches_comparisons_and_the_demo_summary(toy):
    a, b = load_rows(STORED / "majority"), load_rows(STORED / "geometry-oracle")
    result = compare_rows(a, b, n_resamples=50)
    entry = result["metrics"]["target_recall"]
    assert entry["A"] == pytest.approx(_recall_of(a)) and entry["B"] == pytest.approx(_recall_of(b))
    assert entry["delta"] == pytest.approx(entry["B"] - entry["A"])
    assert "target_recall" in format_comparison(result)
    figures = {m.key: 10.0 for m in suite.DIALOGUE} | {"n_samples": 20}
    lines = summary_lines(Path("out"), [StepResult("dialogue", "dialogue", {"ub/x": figures}, 1.0, False)])
    header = next(line for line in lines if line.startswith("dialogue (test"))
    assert header.split()[-2:] == ["Recall", "n"]


def test_paper_columns_come_first_in_the_paper_order():
    assert all(c.in_paper for c in layouts.DIALOGUE.columns)
    assert [m.key for m in suite.paper_order()] == ["target_bleu4", "trajectory_bleu4", "yes_no_accuracy"]


def test_results_schema_declares_exactly_the_suite():
    schema = json.loads((REPO / "tvau_bench" / "schemas" / "results.json").read_text(encoding="utf-8"))
    for m in suite.DIALOGUE:
        for key in (m.key, m.ci_key):
            assert key in schema["required"] and key in schema["properties"], key
    intervals = {k for k in schema["properties"] if k.endswith("_ci95")}
    assert intervals == {m.ci_key for m in suite.DIALOGUE}


def test_log_schema_requires_the_logged_scores():
    logged = [m.logged for m in suite.DIALOGUE if m.logged]
    assert ROW_SCHEMA["properties"]["scores"]["required"] == ["yes_no", *logged]


def test_row_problems_name_each_edited_score():
    row = next(r for r in load_rows(STORED / "majority") if r["label"] == "Yes")
    assert row_problems(row) == []
    edited = json.loads(json.dumps(row))
    edited["scores"]["target_bleu"] += 1.0
    edited["scores"]["yes_no_correct"] = not edited["scores"]["yes_no_correct"]
    assert row_problems(edited) == [
        "scores.yes_no_correct disagrees with the raw answer",
        "scores.target_bleu disagrees with the raw answer",
    ]


def test_bootstrap_defined_leaves_undefined_resamples_out():
    rows = np.arange(6, dtype=np.float64)

    def figures(sample: np.ndarray) -> dict[str, float]:
        # "mean" is always defined; "max5" only when the value 5 was drawn; "never" never
        return {"mean": float(sample.mean()), "max5": 5.0 if 5 in sample else math.nan, "never": math.nan}

    got = bootstrap_defined(rows, figures, n_resamples=200, seed=1, min_defined=0.5)
    # the same resamples as bootstrap_ci's for the same seed
    assert got["mean"].ci95 == bootstrap_ci(rows, np.mean, n_resamples=200, seed=1)
    assert got["mean"].undefined == 0
    # P(5 not drawn in 6 draws) = (5/6)^6 ~ 0.33: some resamples are undefined, the rest all give 5
    assert 30 < got["max5"].undefined < 110 and got["max5"].ci95 == (5.0, 5.0)
    assert got["never"] == DefinedInterval(None, 200)
    strict = bootstrap_defined(rows, figures, n_resamples=200, seed=1, min_defined=0.9)
    assert strict["max5"].ci95 is None and strict["max5"].undefined == got["max5"].undefined
