"""Paired comparison of two runs: differences B − A with paired bootstrap intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_leaderboard_runs import REPO, ScriptedAdapter, do_run, make_dataset, scripted_config

from tvau_bench._io import iter_jsonl, write_jsonl
from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.harness.adapters.base import Adapter
from tvau_bench.harness.model_config import load_model_config, model_config_from_dict
from tvau_bench.harness.scoring import score_rows
from tvau_bench.leaderboard.compare import compare_rows, compare_runs, format_comparison, load_rows


class GoldAdapter(Adapter):
    """Answers with the reference of every turn: the best a model can score (an oracle: it reads the answers)."""

    needs_images = False
    is_oracle = True

    def generate(self, messages, ctx) -> str:
        return {d["kind"]: d["answer"] for d in ctx.sample["dialogue"]}[ctx.kind]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cmp")
    ds = make_dataset(base / "synth-ubnormal", n_test=20)
    gold_cfg = model_config_from_dict({"name": "gold", "adapter": "replay"})
    scripted = scripted_config()
    return {
        "majority": do_run(load_model_config(REPO / "baselines" / "majority.yaml"), ds, base / "majority"),
        "scripted": do_run(scripted, ds, base / "scripted", ScriptedAdapter(scripted, ds)),
        "gold": do_run(gold_cfg, ds, base / "gold", GoldAdapter(gold_cfg)),
    }


def test_deltas_equal_the_difference_of_recomputed_results(runs):
    res = compare_runs(runs["majority"], runs["scripted"], n_resamples=200)
    a, b = score_rows(load_rows(runs["majority"])), score_rows(load_rows(runs["scripted"]))
    assert res["same_fingerprint"] and res["n_samples"] == 20
    for key in ("yes_no_accuracy", "target_bleu4", "trajectory_bleu4"):
        m = res["metrics"][key]
        assert m["A"] == pytest.approx(a[key], abs=1e-9) and m["B"] == pytest.approx(b[key], abs=1e-9)
        assert m["delta"] == pytest.approx(b[key] - a[key], abs=1e-9)
        assert m["ci95"][0] <= m["delta"] + 1e-9 and m["delta"] - 1e-9 <= m["ci95"][1]
    assert res["metrics"]["target_bleu4"]["n"] == 12  # abnormal samples only


def test_a_clearly_better_run_has_an_interval_above_zero(runs):
    res = compare_runs(runs["majority"], runs["gold"], n_resamples=300)
    for key in ("target_bleu4", "trajectory_bleu4"):
        m = res["metrics"][key]
        assert m["B"] == pytest.approx(100.0) and m["ci95"][0] > 0 and m["p_value"] < 0.05
    same = compare_runs(runs["gold"], runs["gold"], n_resamples=50)
    assert all(m["delta"] == 0 and m["ci95"] == [0.0, 0.0] for m in same["metrics"].values())


def test_refuses_runs_over_different_samples(runs, tmp_path):
    rows = load_rows(runs["scripted"])
    with pytest.raises(TvauError, match="different samples"):
        compare_rows(load_rows(runs["majority"]), rows[:-1], n_resamples=10)
    changed = [
        dict(r, references={**r["references"], "yes_no": "No"}) if i == 0 else r for i, r in enumerate(rows)
    ]
    with pytest.raises(TvauError, match="different references"):
        compare_rows(load_rows(runs["majority"]), changed, n_resamples=10)


def test_refuses_a_log_mixing_fingerprints(runs, tmp_path):
    rows = [row for _, row in iter_jsonl(runs["scripted"] / "samples.jsonl")]
    rows[0]["fingerprint"] = "f" * 64
    (tmp_path / "mixed").mkdir()
    write_jsonl(tmp_path / "mixed" / "samples.jsonl", rows)
    with pytest.raises(TvauError, match="mixes protocol fingerprints"):
        load_rows(tmp_path / "mixed")


def test_cli_compare_table_and_json(runs, capsys):
    assert (
        main(["leaderboard", "compare", str(runs["majority"]), str(runs["scripted"]), "--resamples", "50"])
        == 0
    )
    out = capsys.readouterr().out
    assert "delta = B - A" in out and "target_bleu4" in out and "95% CI" in out
    args = ["leaderboard", "compare", str(runs["majority"]), str(runs["gold"]), "--resamples", "50", "--json"]
    assert main(args) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["metrics"]["yes_no_accuracy"]["B"] == pytest.approx(100.0)
    assert main(["leaderboard", "compare", str(runs["majority"]), "/nonexistent"]) == 2


def test_format_comparison_mentions_different_protocols(runs):
    res = compare_runs(runs["majority"], runs["scripted"], n_resamples=20)
    res["same_fingerprint"] = False
    assert "DIFFERENT protocol fingerprints" in format_comparison(res)
