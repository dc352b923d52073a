"""The demo's resumable step runner and its summary (the full demo is `make demo`)."""

from __future__ import annotations

import json

import pytest

from tvau_bench.demo.steps import Step, cli, run_steps
from tvau_bench.demo.summary import summary_lines
from tvau_bench.errors import TvauError


def test_finished_steps_are_reused_and_a_failed_step_reruns(tmp_path):
    calls: list[str] = []

    def ok(name):
        def run():
            calls.append(name)
            return {"name": name}

        return run

    state = {"fail": True}

    def flaky():
        calls.append("b")
        if state["fail"]:
            raise RuntimeError("killed half-way")
        return {"name": "b"}

    steps = [Step("a", "first", ok("a")), Step("b", "second", flaky), Step("c", "third", ok("c"))]
    with pytest.raises(RuntimeError):
        run_steps(steps, tmp_path, log=lambda _: None)
    assert calls == ["a", "b"] and not (tmp_path / "b.json").exists()
    state["fail"] = False
    results = run_steps(steps, tmp_path, log=lambda _: None)
    assert calls == ["a", "b", "b", "c"]
    assert [r.reused for r in results] == [True, False, False]
    assert [r.summary["name"] for r in results] == ["a", "b", "c"]
    again = run_steps(steps, tmp_path, log=lambda _: None)
    assert all(r.reused for r in again) and calls == ["a", "b", "b", "c"]
    assert json.loads((tmp_path / "c.json").read_text())["summary"] == {"name": "c"}


def test_cli_runs_a_command_in_process_and_raises_on_failure(tmp_path, capsys):
    with pytest.raises(TvauError, match="failed with exit code 2"):
        cli(["sources", "info", str(tmp_path / "missing")])
    assert "error" in capsys.readouterr().err


def test_summary_lists_metrics_and_every_output(tmp_path):
    from tvau_bench.demo.steps import StepResult

    results = [
        StepResult(
            "detect",
            "detect",
            {"ahd": {"micro_auc": 0.9, "macro_auc": 0.8, "rbdc": 0.5, "tbdc": 0.7}},
            1.0,
            False,
        ),
        StepResult(
            "dialogue",
            "dialogue",
            {
                "ubnormal/majority": {
                    "yes_no_accuracy": 70.0,
                    "target_bleu4": 50.0,
                    "trajectory_bleu4": 40.0,
                    "n_samples": 20,
                }
            },
            2.0,
            True,
        ),
    ]
    text = "\n".join(summary_lines(tmp_path, results))
    assert "90.0" in text and "50.0" in text and "70.0" in text and "reused" in text
    assert str(tmp_path / "summary.json") in text and str(tmp_path / "leaderboard") in text
