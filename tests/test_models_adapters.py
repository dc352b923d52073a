"""The models' harness adapters end to end on a tiny synthetic benchmark: ``ahd-template`` (AHD heatmaps → track →
words, CPU) and ``tvau`` (tiny LoRA Qwen2.5-VL + RAE from `train rae`), both through ``tvau-bench run``."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from harness_fixtures import write_model  # noqa: E402

from tvau_bench._io import iter_jsonl, read_json  # noqa: E402
from tvau_bench.cli import main  # noqa: E402
from tvau_bench.metrics.detections import DetectionRule  # noqa: E402
from tvau_bench.models.adapter import clip_dialogues, link_track  # noqa: E402


def test_link_track_follows_the_strongest_target():
    heat = []
    for t in range(5):
        h = np.zeros((40, 60))
        h[10:16, 5 + 4 * t : 11 + 4 * t] = 0.9  # the target, moving right
        h[30:34, 50:54] = 0.6 if t != 2 else 0.0  # a weaker distractor far away
        heat.append(h)
    track = link_track(heat, DetectionRule(thresholds=(0.5,), min_area=4))
    assert sorted(track) == [0, 1, 2, 3, 4]
    for t, m in track.items():
        ys, xs = np.nonzero(m)
        assert ys.min() == 10 and xs.min() == 5 + 4 * t
    assert link_track([np.zeros((8, 8))]) == {}


def test_clip_dialogues_keep_the_exemplar_apart():
    img = np.zeros((4, 4, 3), np.uint8)
    msgs = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "intro"},
                {"type": "image", "ref": "ex#3", "image": img},
                {"type": "text", "text": "Q1?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Yes."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "intro"},
                {"type": "image", "ref": "q#1", "image": img},
                {"type": "image", "ref": "q#2", "image": img},
                {"type": "text", "text": "Q1?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]},
        {"role": "user", "content": [{"type": "text", "text": "Q2?"}]},
    ]
    (ex_refs, ex_images, ex_turns), (refs, images, turns) = clip_dialogues(msgs)
    assert ex_refs == ("ex#3",) and len(ex_images) == 1 and ex_turns == [("intro Q1?", "Yes.")]
    assert refs == ("q#1", "q#2") and len(images) == 2
    assert turns == [("intro Q1?", "No."), ("Q2?", None)]


@pytest.fixture(scope="module")
def bench(tiny_bench, tiny_ahd_config, tmp_path_factory):
    """(work folder, source root, annotations) with an AHD checkpoint trained on the shared tiny benchmark."""
    from tvau_bench.models.train_ahd import train_ahd

    work = tmp_path_factory.mktemp("adapters")
    root = tiny_bench / "ubnormal"
    train_ahd(root, work / "ahd", tiny_ahd_config(epochs=1, steps_per_epoch=3), log=lambda *_: None)
    return work, root, tiny_bench / "ann"


def _run(base, model, root, dataset, name):
    out = base / name
    args = [
        "run",
        "--model",
        str(model),
        "--dataset",
        str(dataset),
        "--out",
        str(out),
        "--video-root",
        str(root),
    ]
    assert main(args) == 0
    return read_json(out / "results.json"), [r for _, r in iter_jsonl(out / "samples.jsonl")]


def test_ahd_template_adapter_runs_the_protocol(bench):
    base, root, dataset = bench
    model = write_model(
        base / "tmpl.yaml", "ahd-template", "ahd-template", adapter_args={"ckpt": str(base / "ahd")}
    )
    res, rows = _run(base, model, root, dataset, "run_tmpl")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "ahd-template"
    assert {r["turns"][0]["raw"] for r in rows} <= {"Yes", "No"}
    # abnormal samples are asked all three turns
    assert all(len(r["turns"]) == 3 for r in rows if r["label"] == "Yes")


def test_tvau_adapter_runs_the_protocol(bench):
    from tvau_bench.models.tiny import save_tiny_lvlm

    base, root, dataset = bench
    samples = [r for _, r in iter_jsonl(dataset / "samples.jsonl")]
    lvlm_dir = save_tiny_lvlm(
        base / "lvlm", [t["question"] + " " + t["answer"] for s in samples for t in s["dialogue"]]
    )
    ckpt = base / "tvau"
    args = ["train", "rae", "--dataset", str(dataset), "--lvlm", str(lvlm_dir), "--source", str(root)]
    assert (
        main(
            [
                *args,
                "--out",
                str(ckpt),
                "--ahd",
                str(base / "ahd"),
                "--frames",
                "2",
                "--frame-side",
                "56",
                "--max-samples",
                "3",
            ]
        )
        == 0
    )
    model = write_model(
        base / "tvau.yaml",
        "tvau-tiny",
        "tvau",
        adapter_args={"ckpt": str(ckpt)},
        generation={"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 4, "seed": 0},
    )
    res, rows = _run(base, model, root, dataset, "run_tvau")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "tvau"
    assert all(r["turns"][0]["raw"] is not None for r in rows)
