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


@pytest.fixture(scope="module")
def setup(tiny_bench, tmp_path_factory):
    from tvau_bench.models.tiny import save_tiny_lvlm
    from tvau_bench.sources import open_source

    base = tmp_path_factory.mktemp("rae")
    root = tiny_bench / "ubnormal"
    source = open_source(root)
    samples = []
    for v in source.videos("train"):
        abnormal = [o for o in v.objects() if o.is_abnormal]
        frames = list(range(0, 24, 3))
        if abnormal:
            o = abnormal[0]
            samples.append(
                {
                    "sample_id": f"{v.video_id}:0-23:{o.object_id}",
                    "video_id": v.video_id,
                    "split": "train",
                    "start_frame": 0,
                    "end_frame": 23,
                    "frame_indices": frames,
                    "label": "Yes",
                    "target_id": f"{v.video_id}:{o.object_id}",
                    "dialogue": [
                        {
                            "turn": 1,
                            "kind": "yes_no",
                            "question": "Is there an anomaly in this video?",
                            "answer": "Yes.",
                        },
                        {
                            "turn": 2,
                            "kind": "target",
                            "question": "Describe the anomalous target.",
                            "answer": "A person wearing a red top.",
                        },
                        {
                            "turn": 3,
                            "kind": "trajectory",
                            "question": "Describe its motion trajectory.",
                            "answer": "It enters from the left and exits right.",
                        },
                    ],
                }
            )
        else:
            samples.append(
                {
                    "sample_id": f"{v.video_id}:0-23",
                    "video_id": v.video_id,
                    "split": "train",
                    "start_frame": 0,
                    "end_frame": 23,
                    "frame_indices": frames,
                    "label": "No",
                    "target_id": None,
                    "dialogue": [
                        {
                            "turn": 1,
                            "kind": "yes_no",
                            "question": "Is there an anomaly in this video?",
                            "answer": "No.",
                        }
                    ],
                }
            )
    for s in samples:
        assert not schema_errors(s, "sample")
    dataset = base / "annotations"
    write_jsonl(dataset / "samples.jsonl", samples)
    texts = [t["question"] + " " + t["answer"] for s in samples for t in s["dialogue"]]
    lvlm_dir = save_tiny_lvlm(base / "lvlm", texts, seed=0)
    return root, dataset, lvlm_dir, samples


def test_train_rae_cli_checkpoint_reloads_and_generates(setup, tmp_path):
    from tvau_bench.cli import main
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.train_rae import RAEConfig, load_tvau, sample_tensors
    from tvau_bench.models.tvau import collate, encode_dialogue, video_inputs
    from tvau_bench.sources import open_source

    root, dataset, lvlm_dir, samples = setup
    out = tmp_path / "rae"
    args = [
        "train",
        "rae",
        "--dataset",
        str(dataset),
        "--lvlm",
        str(lvlm_dir),
        "--source",
        str(root),
        "--out",
        str(out),
    ]
    assert main([*args, "--epochs", "2", "--frames", "2", "--frame-side", "56", "--lr", "5e-3"]) == 0
    tensors, cfg = load_checkpoint(out)
    assert cfg["kind"] == "tvau" and cfg["epochs_done"] == 2 and len(cfg["loss_history"]) == 2
    assert all(k.startswith(("rae.", "lora.")) for k in tensors) and any(
        k.startswith("lora.") for k in tensors
    )
    assert not [k for k in tensors if "visual" in k]
    model, tok, _ = load_tvau(out)
    state = model.trainable_state_dict()
    for k, v in tensors.items():
        assert torch.allclose(state[k].float(), v.float()), k
    # generate an answer for the first sample
    s = samples[0]
    clip, heat = sample_tensors(open_source(root).video(s["video_id"]), s, RAEConfig(frames=2, frame_side=56))
    pv, grid, counts = video_inputs([clip], model.config.vision_config)
    enc = encode_dialogue(
        tok,
        n_video_tokens=counts[0],
        n_anomaly_tokens=model.rae.num_tokens(2),
        turns=[(s["dialogue"][0]["question"], None)],
    )
    batch = collate([enc], tok.pad_token_id, left_pad=True)
    batch.pop("labels")
    ids = model.generate(
        heatmaps=heat[None],
        pixel_values_videos=pv,
        video_grid_thw=grid,
        max_new_tokens=3,
        do_sample=False,
        **batch,
    )
    assert ids.shape[1] == batch["input_ids"].shape[1] + 3 or int(ids[0, -1]) == tok.convert_tokens_to_ids(
        "<|im_end|>"
    )
    # a rerun with the same output folder resumes and has nothing left to do
    assert main([*args, "--epochs", "2", "--frames", "2", "--frame-side", "56", "--lr", "5e-3"]) == 0
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

    root, _, lvlm_dir, _ = setup
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
        "--text",
        "lvlm",
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
