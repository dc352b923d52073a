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
from tvau_bench.models.adapter import link_track, query_turns  # noqa: E402


def test_link_track_follows_the_strongest_target():
    heat = []
    for t in range(5):
        h = np.zeros((40, 60))
        h[10:16, 5 + 4 * t : 11 + 4 * t] = 0.9  # the target, moving right
        h[30:34, 50:54] = 0.6 if t != 2 else 0.0  # a weaker distractor far away
        heat.append(h)
    track = link_track(heat, 0.5, min_area=4)
    assert sorted(track) == [0, 1, 2, 3, 4]
    for t, m in track.items():
        ys, xs = np.nonzero(m)
        assert ys.min() == 10 and xs.min() == 5 + 4 * t
    assert link_track([np.zeros((8, 8))], 0.5) == {}


def test_query_turns_drop_the_exemplar():
    img = np.zeros((4, 4, 3), np.uint8)
    msgs = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "intro"},
                {"type": "image", "image": img},
                {"type": "text", "text": "Q1?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Yes."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "intro"},
                {"type": "image", "image": img},
                {"type": "image", "image": img},
                {"type": "text", "text": "Q1?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "No."}]},
        {"role": "user", "content": [{"type": "text", "text": "Q2?"}]},
    ]
    images, turns = query_turns(msgs)
    assert len(images) == 2
    assert turns == [("intro Q1?", "No."), ("Q2?", None)]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from tvau_bench.annotate.pipeline import run as annotate
    from tvau_bench.annotate.recipe import load_recipe
    from tvau_bench.models.train_ahd import AHDConfig, train_ahd
    from tvau_bench.synth import generate

    base = tmp_path_factory.mktemp("adapters")
    generate(
        base / "synth",
        fmt="ubnormal",
        seed=1,
        width=96,
        height=72,
        frames=30,
        scenes=1,
        ub_train=2,
        ub_validation=2,
        ub_test=2,
        anomalies_per_video=1,
    )
    root = base / "synth" / "ubnormal"
    annotate(load_recipe("synthetic"), root, base / "ann")
    cfg = AHDConfig(
        widths=[8, 16],
        text_dim=8,
        max_side=64,
        clip_len=3,
        batch=2,
        epochs=1,
        steps_per_epoch=3,
        crop=[32, 48],
    )
    train_ahd(root, base / "ahd", cfg, log=lambda *_: None)
    return base, root


def _run(base, model, root, name):
    out = base / name
    args = [
        "run",
        "--model",
        str(model),
        "--dataset",
        str(base / "ann"),
        "--out",
        str(out),
        "--video-root",
        str(root),
    ]
    assert main(args) == 0
    return read_json(out / "results.json"), [r for _, r in iter_jsonl(out / "samples.jsonl")]


def test_ahd_template_adapter_runs_the_protocol(bench):
    base, root = bench
    model = write_model(
        base / "tmpl.yaml", "ahd-template", "ahd-template", adapter_args={"ckpt": str(base / "ahd")}
    )
    res, rows = _run(base, model, root, "run_tmpl")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "ahd-template"
    assert {r["turns"][0]["raw"] for r in rows} <= {"Yes", "No"}
    # abnormal samples are asked all three turns
    assert all(len(r["turns"]) == 3 for r in rows if r["label"] == "Yes")


def test_tvau_adapter_runs_the_protocol(bench):
    from tvau_bench.models.tiny import build_tiny_qwen, build_tokenizer

    base, root = bench
    samples = [r for _, r in iter_jsonl(base / "ann" / "samples.jsonl")]
    texts = [t["question"] + " " + t["answer"] for s in samples for t in s["dialogue"]]
    tok = build_tokenizer(texts)
    lvlm_dir = base / "lvlm"
    build_tiny_qwen(tok).save_pretrained(lvlm_dir)
    tok.save_pretrained(lvlm_dir)
    ckpt = base / "tvau"
    args = ["train", "rae", "--dataset", str(base / "ann"), "--lvlm", str(lvlm_dir), "--source", str(root)]
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
    res, rows = _run(base, model, root, "run_tvau")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "tvau"
    assert all(r["turns"][0]["raw"] is not None for r in rows)
