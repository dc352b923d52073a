"""The paper's Table 3 ablations as ``train rae`` switches: each removes exactly its module (parameter counts),
still runs forward, trains, and records its parameter report in the checkpoint config."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from test_models_tvau import one_turn  # noqa: E402

from tvau_bench.models.tiny import build_tiny_qwen, build_tokenizer, ensure_anomaly_token  # noqa: E402
from tvau_bench.models.tvau import build_tvau, collate, encode_messages, video_inputs  # noqa: E402

QUESTION = "is there an anomaly in this video ?"


def _variant(with_ahd, with_rae):
    tok = build_tokenizer(["yes no a person"])
    lvlm = build_tiny_qwen(tok, seed=0)
    model = build_tvau(
        lvlm,
        ensure_anomaly_token(tok),
        heatmap_size=32,
        rae_width=16,
        with_ahd=with_ahd,
        with_rae=with_rae,
    )
    return tok, model


@pytest.fixture(scope="module")
def variants():
    from tvau_bench.models.train_rae import VARIANTS

    return {name: _variant(*switches) for name, switches in VARIANTS.items()}


def test_each_switch_removes_exactly_its_module(variants):
    from tvau_bench.models.params import param_report

    reports = {name: param_report(model, None) for name, (_, model) in variants.items()}
    full, wo_ahd, wo_rae, wo_both = (
        reports[k] for k in ("tvau", "tvau-wo-ahd", "tvau-wo-rae", "tvau-wo-ahd-rae")
    )
    assert full["rae"] > 0 and wo_rae["rae"] == 0 and wo_both["rae"] == 0
    assert wo_ahd["rae"] == full["rae"]  # the paper's "w/o AHD" keeps the RAE's weights (8299M > 8274M)
    for r in reports.values():  # LoRA and the frozen base are the same in every variant
        assert (r["lora"], r["frozen_base"]) == (full["lora"], full["frozen_base"]) and r["lora"] > 0
        assert r["total"] == r["e_t"] + r["ahd_head"] + r["rae"] + r["lora"] + r["frozen_base"]
    assert full["total"] - wo_rae["total"] == full["rae"]
    assert full["trainable"] == full["rae"] + full["lora"]
    assert wo_ahd["trainable"] == wo_both["trainable"] == full["lora"]  # an RAE with no input never trains
    trainable = {n for n, p in variants["tvau-wo-ahd"][1].named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)


def test_ablations_take_no_evidence_tokens_and_run_forward(variants):
    clip = torch.rand(4, 3, 56, 56)
    for name, (tok, model) in variants.items():
        pv, grid, counts = video_inputs([clip], model.config.vision_config)
        n = model.num_prompt_tokens(4)
        assert (n > 0) == (name == "tvau"), name
        enc = encode_messages(
            tok, one_turn(QUESTION, "yes"), n_video_tokens=counts, n_anomaly_tokens=[n], label_from=0
        )
        batch = collate([enc], tok.pad_token_id)
        out = model(heatmaps=torch.rand(1, 4, 32, 32), pixel_values_videos=pv, video_grid_thw=grid, **batch)
        assert torch.isfinite(out.loss), name


def test_ablation_heatmaps_do_not_change_the_output(variants):
    """Heatmaps passed to an ablation are ignored (nothing carries them into the LVLM)."""
    tok, model = variants["tvau-wo-ahd"]
    clip = torch.rand(4, 3, 56, 56)
    pv, grid, counts = video_inputs([clip], model.config.vision_config)
    enc = encode_messages(
        tok, one_turn(QUESTION, "yes"), n_video_tokens=counts, n_anomaly_tokens=[0], label_from=0
    )
    batch = collate([enc], tok.pad_token_id)
    kw = {"pixel_values_videos": pv, "video_grid_thw": grid, **batch}
    with torch.no_grad():
        a = model(heatmaps=torch.zeros(1, 4, 32, 32), **kw).loss
        b = model(heatmaps=torch.ones(1, 4, 32, 32), **kw).loss
    assert float(a) == float(b)


def test_train_rae_switches_record_variant_and_params(tiny_bench, tiny_ahd_config, tmp_path, capsys):
    from tvau_bench.cli import main
    from tvau_bench.harness.dataset import load_benchmark
    from tvau_bench.harness.prompts import load_prompt_set
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.tiny import save_tiny_lvlm
    from tvau_bench.models.train_ahd import train_ahd
    from tvau_bench.models.train_rae import load_tvau

    root, hub = tiny_bench / "ubnormal", tiny_bench / "hub"
    data = load_benchmark(hub)
    prompts = load_prompt_set()
    texts = [
        t["question"] + " " + t["answer"] for ss in data.samples.values() for s in ss for t in s["dialogue"]
    ]
    lvlm = save_tiny_lvlm(tmp_path / "lvlm", [*texts, prompts.intro(8), *prompts.questions.values()])
    ahd = tmp_path / "ahd"
    train_ahd(root, ahd, tiny_ahd_config(epochs=1), log=lambda *_: None)
    base = ["train", "rae", "--dataset", str(hub), "--lvlm", str(lvlm), "--source", str(root)]
    base += ["--frames", "2", "--frame-side", "56", "--max-samples", "1"]
    # --no-ahd refuses an AHD; the others need one
    assert main([*base, "--out", str(tmp_path / "x"), "--no-ahd", "--ahd", str(ahd)]) == 2
    assert "--no-ahd" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "y"), "--no-rae", "--gt-heatmaps"]) == 2
    capsys.readouterr()
    runs = {
        "tvau": ["--ahd", str(ahd)],
        "tvau-wo-ahd": ["--no-ahd"],
        "tvau-wo-rae": ["--no-rae", "--ahd", str(ahd)],
        "tvau-wo-ahd-rae": ["--no-ahd", "--no-rae"],
    }
    params = {}
    for name, extra in runs.items():
        assert main([*base, "--out", str(tmp_path / name), *extra]) == 0, name
        tensors, cfg = load_checkpoint(tmp_path / name)
        assert cfg["variant"] == name and cfg["params"]["total"] > 0
        assert any(k.startswith("rae.") for k in tensors) == (name in ("tvau", "tvau-wo-ahd")), name
        params[name] = cfg["params"]
        model, _, _ = load_tvau(tmp_path / name)
        assert model.params == cfg["params"] and model.uses_heatmaps == (name == "tvau")
    assert params["tvau"]["ahd_head"] > 0 and params["tvau-wo-rae"]["ahd_head"] == params["tvau"]["ahd_head"]
    assert params["tvau-wo-ahd"]["ahd_head"] == params["tvau-wo-ahd-rae"]["ahd_head"] == 0
    assert params["tvau-wo-ahd"]["e_t"] == 0 and params["tvau"]["e_t"] > 0
    totals = [params[k]["total"] for k in ("tvau-wo-ahd-rae", "tvau-wo-ahd", "tvau-wo-rae", "tvau")]
    assert totals[0] < totals[1] and totals[0] < totals[2] < totals[3]
    # the three variants without evidence tokens train the same LoRA from the same init: identical weights
    lora = {k: load_checkpoint(tmp_path / k)[0] for k in ("tvau-wo-ahd", "tvau-wo-ahd-rae")}
    keys = [k for k in lora["tvau-wo-ahd-rae"] if k.startswith("lora.")]
    assert keys and all(torch.equal(lora["tvau-wo-ahd"][k], lora["tvau-wo-ahd-rae"][k]) for k in keys)
