"""End to end on the synthetic set: synth → annotate → export (Parquet Hub folder) → run.

The geometry oracle (ground-truth masks through the annotation's geometry-to-words code) must score well
above the majority baseline; the whole protocol also runs against a loopback OpenAI server on this export.
"""

from __future__ import annotations

import json

import pytest
from harness_fixtures import write_model, write_predictions_from_log
from loopback_openai import LoopbackServer

from tvau_bench._io import read_json
from tvau_bench.cli import main
from tvau_bench.harness.dataset import load_benchmark

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tvau_bench.annotate.pipeline import run as annotate
    from tvau_bench.annotate.recipe import load_recipe
    from tvau_bench.hub.export import export
    from tvau_bench.synth import generate

    base = tmp_path_factory.mktemp("e2e")
    sizes = {
        "ub_train": 2,
        "ub_validation": 2,
        "ub_test": 4,
        "frames": 90,
        "scenes": 2,
        "width": 240,
        "height": 180,
    }
    generate(base / "synth", fmt="ubnormal", seed=0, anomalies_per_video=2, **sizes)
    annotate(load_recipe("synthetic"), base / "synth" / "ubnormal", base / "ann")
    export(base / "ann", base / "hub")
    return base, base / "hub", base / "synth" / "ubnormal"


def run(model, hub, out, *extra) -> int:
    return main(["run", "--model", str(model), "--dataset", str(hub), "--out", str(out), *map(str, extra)])


def test_oracle_scores_well_above_majority(exported, capsys):
    base, hub, source = exported
    maj = write_model(base / "maj.yaml", "majority", "majority")
    orc = write_model(base / "orc.yaml", "geometry-oracle", "geometry-oracle")
    assert run(maj, hub, base / "maj") == 0
    assert run(orc, hub, base / "orc", "--video-root", source) == 0
    m, o = read_json(base / "maj/results.json"), read_json(base / "orc/results.json")
    print(
        json.dumps(
            {
                k: {"majority": m[k], "oracle": o[k]}
                for k in ("yes_no_accuracy", "target_bleu4", "trajectory_bleu4")
            }
        )
    )
    assert m["n_samples"] == o["n_samples"] == len(load_benchmark(hub).split("test")) and o["n_abnormal"] > 0
    assert o["yes_no_accuracy"] >= m["yes_no_accuracy"] + 20
    assert o["trajectory_bleu4"] >= max(95.0, m["trajectory_bleu4"] + 20)
    assert o["target_bleu4"] >= m["target_bleu4"] + 30
    # its answers, handed in as a submission, score exactly the same
    pred = write_predictions_from_log(base / "orc/samples.jsonl", base / "oracle-predictions.jsonl")
    assert (
        main(["submit", str(pred), "--dataset", str(hub), "--out", str(base / "sub"), "--name", "sub"]) == 0
    )
    s = read_json(base / "sub/results.json")
    for key in ("yes_no_accuracy", "target_bleu4", "trajectory_bleu4", "target_bleu4_ci95", "fingerprint"):
        assert s[key] == o[key]


def test_protocol_against_loopback_on_the_export(exported):
    base, hub, source = exported
    with LoopbackServer(lambda body: "Yes. A person walking.", check_shape=False, latency=0.01) as srv:
        model = write_model(
            base / "oa.yaml", "oa", "openai", adapter_args={"base_url": srv.url, "max_concurrency": 4}
        )
        assert run(model, hub, base / "oa", "--video-root", source) == 0
        n_requests = len(srv.served())
    res = read_json(base / "oa/results.json")
    assert res["complete"] and res["yes_no_accuracy"] == pytest.approx(
        100 * res["n_abnormal"] / res["n_samples"]
    )
    assert n_requests == res["n_samples"] + 2 * res["n_abnormal"]
