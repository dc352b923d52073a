"""`train rae` end to end with a tiny random Qwen2.5-VL saved to a local folder (save_pretrained), an in-code
tokenizer, dialogue samples over a tiny synthetic source; the checkpoint reloads and generates; the GPU script
runs on CPU with --tiny."""

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from tvau_bench._io import write_jsonl  # noqa: E402
from tvau_bench.schemas import schema_errors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _sample(video_id, start, end, oid=None):
    """A schema-valid dialogue sample over frames start..end (abnormal when ``oid`` is given)."""
    frames = list(range(start, end + 1, 3))[:8]
    base = {
        "sample_id": f"{video_id}:{start}-{end}" + (f":{oid}" if oid is not None else ""),
        "video_id": video_id,
        "split": "train",
        "start_frame": start,
        "end_frame": end,
        "frame_indices": frames,
        "label": "Yes" if oid is not None else "No",
        "target_id": f"{video_id}:{oid}" if oid is not None else None,
    }
    if oid is None:
        turns = [("yes_no", "Is there an anomaly in this video?", "No.")]
    else:
        turns = [
            ("yes_no", "Is there an anomaly in this video?", "Yes."),
            ("target", "Describe the anomalous target.", "A person wearing a red top."),
            ("trajectory", "Describe its motion trajectory.", "It enters from the left and exits right."),
        ]
    base["dialogue"] = [
        {"turn": i + 1, "kind": k, "question": q, "answer": a} for i, (k, q, a) in enumerate(turns)
    ]
    return base


@pytest.fixture(scope="module")
def setup(tiny_bench, tiny_ahd_config, tmp_path_factory):
    from tvau_bench.harness.prompts import load_prompt_set
    from tvau_bench.models.tiny import save_tiny_lvlm
    from tvau_bench.models.train_ahd import train_ahd
    from tvau_bench.sources import open_source

    base = tmp_path_factory.mktemp("rae")
    root = tiny_bench / "ubnormal"
    source = open_source(root)
    samples = []
    for v in source.videos("train"):
        abnormal = [o for o in v.objects() if o.is_abnormal]
        for start, end in ((0, 23), (2, 20)):
            samples.append(_sample(v.video_id, start, end, abnormal[0].object_id if abnormal else None))
    for s in samples:
        assert not schema_errors(s, "sample")
    dataset = base / "annotations"
    write_jsonl(dataset / "samples.jsonl", samples)
    prompts = load_prompt_set()
    texts = [t["question"] + " " + t["answer"] for s in samples for t in s["dialogue"]]
    texts += [prompts.intro(8), *prompts.questions.values()]
    lvlm_dir = save_tiny_lvlm(base / "lvlm", texts, seed=0)
    ahd = base / "ahd"
    train_ahd(root, ahd, tiny_ahd_config(epochs=1), log=lambda *_: None)
    return root, dataset, lvlm_dir, samples, ahd


def _rae_args(setup, out):
    root, dataset, lvlm_dir, _, _ = setup
    args = ["train", "rae", "--dataset", str(dataset), "--lvlm", str(lvlm_dir), "--source", str(root)]
    return [*args, "--out", str(out), "--frame-side", "56", "--lr", "5e-3"]


def test_encode_messages_follows_the_harness_messages():
    """Every clip of a harness message list becomes a video + evidence block; only query answers are labels."""
    import numpy as np

    from tvau_bench.harness.messages import Clip, exemplar_messages, query_messages
    from tvau_bench.harness.prompts import load_prompt_set
    from tvau_bench.models.tiny import build_tokenizer
    from tvau_bench.models.tvau import encode_messages

    prompts = load_prompt_set()
    ex = _sample("ex", 0, 23, 1)
    prefix = exemplar_messages(prompts, Clip("ex", tuple(ex["frame_indices"])), ex)
    messages = query_messages(prefix, prompts, Clip("q", (0, 3)), ["yes_no"], ["No."])
    texts = [prompts.intro(8), prompts.intro(2), *prompts.questions.values()]
    tok = build_tokenizer(
        [*texts, "Yes. No. A person wearing a red top. It enters from the left and exits right."]
    )
    enc = encode_messages(
        tok, messages, n_video_tokens=[5, 3], n_anomaly_tokens=[4, 2], label_from=len(prefix)
    )
    ids = np.asarray(enc.input_ids)
    assert (ids == tok.convert_tokens_to_ids("<|video_pad|>")).sum() == 8
    assert (ids == tok.convert_tokens_to_ids("<|anomaly_prompt_pad|>")).sum() == 6
    assert (np.asarray(enc.mm_token_type_ids) == 2).sum() == 8
    labelled = tok.decode([t for t, lab in zip(enc.input_ids, enc.labels, strict=True) if lab != -100])
    assert "no" in labelled.lower() and "red" not in labelled  # the exemplar's answers are context only
    # the exemplar's answers are in the ids, and the intro text of both clips
    assert "red" in tok.decode(enc.input_ids)
    with pytest.raises(ValueError, match="token counts"):
        encode_messages(tok, messages, n_video_tokens=[5], n_anomaly_tokens=[4])


def test_train_rae_needs_the_ahd_unless_ground_truth_is_asked(setup, tmp_path, capsys):
    from tvau_bench.cli import main
    from tvau_bench.models.checkpoint import load_checkpoint

    assert main([*_rae_args(setup, tmp_path / "none"), "--frames", "2"]) == 2
    assert "--gt-heatmaps" in capsys.readouterr().err
    out = tmp_path / "gt"
    assert main([*_rae_args(setup, out), "--frames", "2", "--gt-heatmaps", "--max-samples", "1"]) == 0
    cfg = load_checkpoint(out)[1]
    assert (
        cfg["heatmaps"] == "ground-truth" and cfg["rae"]["heatmaps"] == "ground-truth" and cfg["ahd"] is None
    )


def test_train_rae_cli_checkpoint_reloads_and_generates(setup, tmp_path):
    from dataclasses import replace

    from tvau_bench.cli import main
    from tvau_bench.harness.dataset import load_benchmark
    from tvau_bench.harness.protocol import evaluation_set
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.train_rae import (
        exemplar_prefix,
        frame_reader,
        heatmap_source,
        load_tvau,
        training_messages,
    )
    from tvau_bench.models.tvau_inputs import TvauInputs
    from tvau_bench.sources import open_source

    root, _, _, samples, ahd = setup
    out = tmp_path / "rae"
    args = [*_rae_args(setup, out), "--ahd", str(ahd), "--epochs", "2", "--frames", "2"]
    assert main(args) == 0
    tensors, cfg = load_checkpoint(out)
    assert cfg["kind"] == "tvau" and cfg["epochs_done"] == 2 and len(cfg["loss_history"]) == 2
    # the defaults: AHD heatmaps, one-shot harness format with the protocol's exemplar
    exemplar = evaluation_set({"train": samples}, "train", 1, 0)[1]
    assert cfg["heatmaps"] == "ahd" and cfg["ahd"] == str(ahd) and cfg["exemplar"] == exemplar["sample_id"]
    assert cfg["rae"]["shots"] == 1 and "harness messages" in cfg["input_format"]
    assert all(k.startswith(("rae.", "lora.")) for k in tensors) and any(
        k.startswith("lora.") for k in tensors
    )
    assert not [k for k in tensors if "visual" in k]
    model, tok, trained = load_tvau(out)
    state = model.trainable_state_dict()
    for k, v in tensors.items():
        assert torch.allclose(state[k].float(), v.float()), k
    # generate the first answer of a query from the training inputs (exemplar exchange first), with
    # ground-truth heatmaps read from the source (the dataset has no videos config: paths come from the source)
    assert trained.frames == 2
    rcfg = replace(trained, heatmaps="ground-truth")
    source = open_source(root)
    s = next(x for x in samples if x["sample_id"] != exemplar["sample_id"])
    reader = frame_reader(load_benchmark(setup[1]), source, root, rcfg, [s, exemplar])
    inputs = TvauInputs(model, tok, rcfg, heatmap_source(rcfg, None, source, [s, exemplar]))
    prefix = exemplar_prefix(reader, exemplar, rcfg)
    messages = training_messages(reader, prefix, s, rcfg)[: len(prefix) + 1]  # up to the first question
    batch = inputs.encode(messages, generation_prompt=True)
    assert [h.shape for h in batch["heatmaps"]] == [torch.Size([1, 2, 64, 64])] * 2
    assert batch["heatmaps"][0].max() == 1  # the exemplar's target is in its frames
    ids = model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert ids.shape[1] == batch["input_ids"].shape[1] + 3 or int(ids[0, -1]) == tok.convert_tokens_to_ids(
        "<|im_end|>"
    )
    # a rerun with the same output folder resumes and has nothing left to do
    assert main(args) == 0
    assert load_checkpoint(out)[1]["epochs_done"] == 2


def test_gpu_script_runs_tiny_on_cpu(capsys):
    spec = importlib.util.spec_from_file_location("gpu_tvau", ROOT / "benchmarks" / "gpu_tvau.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(["--tiny", "--device", "cpu", "--new-tokens", "4"])
    assert res["generated_tokens"] == 4 and res["anomaly_tokens"] == 80 and res["train_step_s"] > 0
    assert res["trainable_params"] < res["params"]
    assert '"train_step_s"' in capsys.readouterr().out


def test_ahd_on_the_qwen_vision_tower(setup, tmp_path, capsys):
    """`train ahd --backbone qwen-vision` taps the tower's blocks (frozen, not saved) and detects from them."""
    from tvau_bench.cli import main
    from tvau_bench.models.checkpoint import load_checkpoint

    root, _, lvlm_dir, _, _ = setup
    ckpt = tmp_path / "ahd_qwen"
    args = [
        "train",
        "ahd",
        "--source",
        str(root),
        "--out",
        str(ckpt),
        "--backbone",
        "qwen-vision",
        "--lvlm",
        str(lvlm_dir),
    ]
    extra = [
        "--vision-layers",
        "1,3",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--batch",
        "1",
        "--max-side",
        "64",
    ]
    assert main([*args, *extra]) == 0
    tensors, cfg = load_checkpoint(ckpt)
    # no --text: the LVLM's text embeddings are the default with an LVLM, and the config says so
    assert cfg["ahd"]["text"] == "lvlm" and "E_t" in cfg["text_source"]
    assert cfg["ahd"]["backbone"] == "qwen-vision" and not [
        k for k in tensors if k.startswith("backbone.visual.")
    ]
    assert (
        main(
            [
                "detect",
                "--ckpt",
                str(ckpt),
                "--source",
                str(root),
                "--out",
                str(tmp_path / "det"),
                "--overlays",
                "0",
            ]
        )
        == 0
    )
    assert "micro AUC" in capsys.readouterr().out


def test_answer_weighted_loss_weighs_every_answer_the_same():
    from tvau_bench.models.train_rae import answer_weighted_loss

    torch.manual_seed(0)
    logits = torch.randn(1, 9, 5)
    # labels are next-token targets: position t's label is predicted from logits[t-1]
    labels = torch.tensor([[-100, 1, -100, -100, 2, 3, 4, 0, -100]])
    nll = torch.nn.functional.cross_entropy(
        logits[0, :-1], labels[0, 1:], ignore_index=-100, reduction="none"
    )
    want = nll[0] + nll[3:7].mean()  # a 1-token answer and a 4-token answer, each its own mean
    assert torch.allclose(answer_weighted_loss(logits, labels), want)
    token_mean = nll[[0, 3, 4, 5, 6]].mean()  # the LVLM's own loss weighs the lone token 1/5
    assert not torch.allclose(want, token_mean)
    assert float(answer_weighted_loss(logits, torch.full_like(labels, -100))) == 0.0


def test_train_rae_records_the_loss_weighting(setup, tmp_path, capsys):
    from tvau_bench.cli import main
    from tvau_bench.models.checkpoint import load_checkpoint

    out = tmp_path / "answer"
    args = [
        *_rae_args(setup, out),
        "--frames",
        "2",
        "--gt-heatmaps",
        "--max-samples",
        "1",
        "--loss",
        "answer",
    ]
    assert main(args) == 0
    cfg = load_checkpoint(out)[1]
    assert cfg["rae"]["loss"] == "answer" and cfg["loss_history"][0] > 0
