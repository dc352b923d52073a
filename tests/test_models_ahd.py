"""E_t, AHD, RAE units, and the CPU AHD pipeline (train, resume, detect, classical baseline) on a tiny synthetic
source."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tvau_bench.models.ahd import (  # noqa: E402
    AHDModel,
    AnomalyHeatmapDecoder,
    TemporalContext,
    ce_loss,
    coord_channels,
    focal_dice_loss,
    heatmaps_from_logits,
)
from tvau_bench.models.backbones import SmallCNN, temporal_stack  # noqa: E402
from tvau_bench.models.rae import RegionAwareAnomalyEncoder, scatter_prompt_tokens  # noqa: E402
from tvau_bench.models.text_encoder import (  # noqa: E402
    ClassTextEmbeddings,
    class_sentences,
    hashed_embeddings,
    pool_token_embeddings,
)

# ---------------------------------------------------------------- units


def test_class_sentences_and_pooling():
    normal, abnormal = class_sentences("normal"), class_sentences("abnormal")
    assert len(normal) == len(abnormal) > 100 and len(set(normal)) == len(normal)
    assert all("abnormal" not in s for s in normal)
    vocab = {}

    def tokenize(s):
        return [vocab.setdefault(w, len(vocab)) for w in s.split()]

    emb = torch.nn.Embedding(1000, 8)
    s_c = pool_token_embeddings(emb, tokenize)
    ids = [i for s in abnormal for i in tokenize(s)]
    assert s_c.shape == (2, 8)
    assert torch.allclose(s_c[1], emb.weight[ids].mean(0), atol=1e-6)
    assert torch.equal(hashed_embeddings(16), hashed_embeddings(16))  # deterministic
    assert not ClassTextEmbeddings.hashed(16).s_c.requires_grad
    assert ClassTextEmbeddings.hashed(16, learned=True).s_c.requires_grad


def test_temporal_stack_and_coords():
    clip = torch.arange(5.0).view(1, 5, 1, 1, 1).expand(1, 5, 3, 2, 2)
    x = temporal_stack(clip, 1)
    assert x.shape == (1, 5, 9, 2, 2)
    assert x[0, 2, 3].unique().item() == 1.0 and x[0, 0, 3].unique().item() == 0.0  # clamped at the edge
    full = coord_channels(1, 4, 6)
    assert full.shape == (1, 2, 4, 6) and full[0, 0, 0, 0] == pytest.approx(-1 + 1 / 6)
    crop = coord_channels(1, 2, 3, torch.tensor([[2.0, 3.0, 4.0, 6.0]]))
    assert torch.allclose(crop[0], full[0, :, 2:4, 3:6])


def test_temporal_context_starts_as_identity():
    x = torch.randn(2, 3, 4, 5, 5)
    assert torch.allclose(TemporalContext(4)(x), x)


def test_decoder_shapes_and_fusion_weights():
    dec = AnomalyHeatmapDecoder([8, 16], 12)
    feats = [torch.randn(6, 8, 10, 12), torch.randn(6, 16, 5, 6)]
    out = dec(feats, torch.randn(2, 12), batch=2)
    assert out.shape == (2, 3, 2, 10, 12)
    assert dec.layer_weights().sum().item() == pytest.approx(1.0)
    model = AHDModel(SmallCNN(9 + 2, (8, 16)), ClassTextEmbeddings.hashed(12), context=2, coords=True)
    logits = model(torch.rand(1, 4 + 4, 3, 32, 48))
    assert logits.shape == (1, 4, 2, 32, 48)
    h = heatmaps_from_logits(logits)
    assert h.shape == (1, 4, 32, 48) and float(h.min()) >= 0 and float(h.max()) <= 1


def test_losses_prefer_correct_logits():
    target = torch.zeros(1, 2, 8, 8, dtype=torch.bool)
    target[0, :, 2:5, 2:5] = True
    good = torch.stack([(~target).float(), target.float()], dim=2) * 8 - 4
    bad = -good
    for loss in (ce_loss, focal_dice_loss):
        assert float(loss(good, target)) < 0.2 < float(loss(bad, target))


def test_ahd_learns_a_moving_square():
    """Abnormal = the square that moves; a static square of the same look is normal."""
    torch.manual_seed(0)
    model = AHDModel(SmallCNN(9, (8, 16)), ClassTextEmbeddings.hashed(16), context=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def clip(shift):
        x = torch.zeros(1, 6, 3, 24, 24)
        y = torch.zeros(1, 4, 24, 24, dtype=torch.bool)
        for t in range(6):
            x[0, t, :, 2:8, 14:20] = 1.0  # static
            c = 2 + shift * t
            x[0, t, :, 14:20, c : c + 6] = 1.0
            if 1 <= t <= 4:
                y[0, t - 1, 14:20, c : c + 6] = shift > 0
        return x, y

    losses = []
    for step in range(40):
        x, y = clip(step % 2 + 1)
        loss = ce_loss(model(x), y, abnormal_weight=3.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    with torch.no_grad():
        h = heatmaps_from_logits(model(clip(2)[0]))[0, 1]
    assert float(h[14:20].mean()) > float(h[2:8, 14:20].mean())


def test_rae_tokens_and_scatter_checks():
    rae = RegionAwareAnomalyEncoder(24, regions=9, width=8, size=32)
    tokens = rae(torch.rand(2, 3, 40, 40))
    assert tokens.shape == (2, rae.num_tokens(3), 24) and rae.num_tokens(3) == 30
    # the tokens depend on where the heat is
    a, b = torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    a[..., :8, :8] = 1
    b[..., -8:, -8:] = 1
    assert not torch.allclose(rae(a), rae(b))
    ids = torch.tensor([[5, 9, 9, 5], [9, 5, 5, 9]])
    emb = torch.zeros(2, 4, 3)
    prompts = torch.arange(12.0).view(2, 2, 3)
    out = scatter_prompt_tokens(emb, ids, 9, prompts)
    assert torch.equal(out[0, 1], prompts[0, 0]) and torch.equal(out[1, 3], prompts[1, 1])
    with pytest.raises(ValueError):
        scatter_prompt_tokens(emb, ids, 9, prompts[:, :1])


# ---------------------------------------------------------------- pipeline on a tiny synthetic source


@pytest.fixture(scope="module")
def tiny_source(tiny_bench):
    return tiny_bench / "ubnormal"


def test_train_resume_matches_uninterrupted(tiny_source, tiny_ahd_config, tmp_path):
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.train_ahd import train_ahd

    straight = train_ahd(tiny_source, tmp_path / "a", tiny_ahd_config(), log=lambda *_: None)
    assert straight["epochs"] == 2 and straight["steps"] == 4
    # "killed" after the first epoch, then rerun with the same settings
    first = train_ahd(tiny_source, tmp_path / "b", tiny_ahd_config(), max_steps=2, log=lambda *_: None)
    assert first["epochs"] == 1
    messages = []
    resumed = train_ahd(tiny_source, tmp_path / "b", tiny_ahd_config(), log=messages.append)
    assert resumed["epochs"] == 2 and any("resuming after epoch 1" in m for m in messages)
    wa, cfg_a = load_checkpoint(tmp_path / "a")
    wb, _ = load_checkpoint(tmp_path / "b")
    assert cfg_a["kind"] == "ahd" and cfg_a["epochs_done"] == 2
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-5), k
    from tvau_bench.errors import TvauError

    with pytest.raises(TvauError, match="other settings"):
        train_ahd(tiny_source, tmp_path / "b", tiny_ahd_config(lr=1.0), log=lambda *_: None)


def test_cli_train_detect_and_metrics(tiny_source, tmp_path, capsys):
    from tvau_bench.cli import main
    from tvau_bench.metrics.io import read_detections_dir, read_labels_dir, read_values_dir

    ckpt, out = tmp_path / "ckpt", tmp_path / "det"
    args = [
        "train",
        "ahd",
        "--source",
        str(tiny_source),
        "--out",
        str(ckpt),
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
    ]
    assert main([*args, "--max-side", "64", "--batch", "2"]) == 0
    assert (ckpt / "model.safetensors").is_file() and (ckpt / "config.json").is_file()
    assert (
        main(["detect", "--ckpt", str(ckpt), "--source", str(tiny_source), "--out", str(out), "--json"]) == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["metrics"]) == {"micro_auc", "macro_auc", "rbdc", "tbdc"}
    labels, scores = read_labels_dir(out / "labels"), read_values_dir(out / "scores", "scores")
    assert labels.keys() == scores.keys() and sum(len(v) for v in scores.values()) == summary["num_frames"]
    assert all(s.min() >= 0 and s.max() <= 1 for s in scores.values())
    dets = read_detections_dir(out / "detections")
    assert dets.keys() == scores.keys()
    assert (out / "detections" / "detection_rule.json").is_file() and list((out / "tracks").glob("*.txt"))
    assert list((out / "overlays").glob("*.png"))
    # the files are what `tvau-bench metrics` reads
    assert (
        main(["metrics", "frame", "--labels", str(out / "labels"), "--scores", str(out / "scores"), "--json"])
        == 0
    )
    frame = json.loads(capsys.readouterr().out)
    assert frame["micro_auc"] == pytest.approx(summary["metrics"]["micro_auc"])
    n = str(summary["num_frames"])
    assert (
        main(
            [
                "metrics",
                "region",
                "--tracks",
                str(out / "tracks"),
                "--detections",
                str(out / "detections"),
                "--num-frames",
                n,
                "--json",
            ]
        )
        == 0
    )
    region = json.loads(capsys.readouterr().out)
    assert region["rbdc"] == pytest.approx(summary["metrics"]["rbdc"])


def test_classical_baseline_detects(tiny_source, tmp_path, capsys):
    from tvau_bench.cli import main

    out = tmp_path / "classical"
    assert (
        main(
            [
                "detect",
                "--method",
                "classical",
                "--source",
                str(tiny_source),
                "--out",
                str(out),
                "--max-side",
                "64",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["method"] == "classical" and summary["detections"] > 0


def test_detect_without_checkpoint_is_a_clear_error(tiny_source, tmp_path, capsys):
    from tvau_bench.cli import main

    assert main(["detect", "--source", str(tiny_source), "--out", str(tmp_path / "x")]) == 2
    assert "--ckpt" in capsys.readouterr().err
    assert (
        main(["detect", "--ckpt", str(tmp_path), "--source", str(tiny_source), "--out", str(tmp_path / "y")])
        == 2
    )
    assert "not a checkpoint folder" in capsys.readouterr().err


def test_learning_rate_follows_steps_or_time_budget():
    from tvau_bench.models.train_ahd import _progress_of, lr_factor

    assert lr_factor(0.0) == pytest.approx(0.05) and lr_factor(0.05) == pytest.approx(1.0)
    assert lr_factor(1.0) == pytest.approx(0.02) and lr_factor(0.5) < lr_factor(0.3)
    assert _progress_of(10, 100, 5.0, None) == pytest.approx(0.1)
    assert _progress_of(10, 100, 50.0, 100.0) == pytest.approx(0.5)  # the budget is further along


def test_color_jitter_keeps_clip_consistent():
    from tvau_bench.models.data import jitter_colours

    rng = np.random.default_rng(0)
    clip = np.repeat(np.random.default_rng(1).integers(0, 255, (1, 8, 8, 3), dtype=np.uint8), 3, axis=0)
    out = jitter_colours(clip, rng)
    assert out.dtype == np.uint8 and out.shape == clip.shape
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])  # same change on every frame


# ---------------------------------------------------------------- paper-faithful defaults


def test_ahd_config_defaults_follow_the_backbone():
    from tvau_bench.errors import TvauError
    from tvau_bench.models.train_ahd import ahd_config, text_source

    cpu = ahd_config("cnn")
    assert cpu.text == "hashed" and cpu.train_splits == ["train"] and cpu.shots is None
    assert "not the paper's E_t" in text_source(cpu)
    # an LVLM given: S_c comes from its text embeddings, whatever the backbone
    assert ahd_config("cnn", lvlm_path="/lvlm").text == "lvlm"
    real = ahd_config("qwen-vision", lvlm_path="/lvlm")
    assert (real.text, real.context, real.coords, real.crop, real.max_side) == ("lvlm", 0, False, [], 448)
    assert (
        real.vision_layers == [7, 15, 23] and "E_t" in text_source(real) and "hashed" not in text_source(real)
    )
    assert ahd_config("qwen-vision", lvlm_path="/lvlm", max_side=None, text="learned").text == "learned"
    with pytest.raises(TvauError, match="stand-in"):
        ahd_config("qwen-vision", lvlm_path="/lvlm", text="hashed")
    with pytest.raises(TvauError, match="shots"):
        ahd_config("cnn", shots=2)


def test_ahd_trains_on_the_train_split_only(tiny_source, tiny_ahd_config, tmp_path, monkeypatch):
    from tvau_bench.models import data
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.train_ahd import AHDConfig, train_ahd

    splits = []
    real = data.load_split
    monkeypatch.setattr(
        data,
        "load_split",
        lambda source, split, *a, **k: splits.append(split) or real(source, split, *a, **k),
    )
    cfg = tiny_ahd_config(epochs=1)
    assert cfg.train_splits == AHDConfig().train_splits == ["train"]
    train_ahd(tiny_source, tmp_path / "a", cfg, log=lambda *_: None)
    assert splits == ["train"]
    config = load_checkpoint(tmp_path / "a")[1]
    assert config["ahd"]["train_splits"] == ["train"] and config["training"] == "fine-tuned (FT)"
    assert "hashed" in config["text_source"]


def test_one_shot_ahd_sees_one_abnormal_video_the_protocols_exemplar(
    tiny_bench, tiny_ahd_config, tmp_path, monkeypatch
):
    from tvau_bench.harness.dataset import load_benchmark
    from tvau_bench.harness.protocol import evaluation_set
    from tvau_bench.models import data
    from tvau_bench.models.checkpoint import load_checkpoint
    from tvau_bench.models.train_ahd import source_exemplar, train_ahd
    from tvau_bench.sources import open_source

    root = tiny_bench / "ubnormal"
    source = open_source(root)
    loaded = []
    real = data.load_video
    monkeypatch.setattr(data, "load_video", lambda v, *a, **k: loaded.append(v.video_id) or real(v, *a, **k))
    # with the benchmark dataset: its protocol exemplar's video
    exemplar = evaluation_set(load_benchmark(tiny_bench / "ann").samples, "test", 1, 0)[1]
    train_ahd(
        root,
        tmp_path / "ds",
        tiny_ahd_config(epochs=1, shots=1),
        dataset=tiny_bench / "ann",
        log=lambda *_: None,
    )
    cfg = load_checkpoint(tmp_path / "ds")[1]
    assert cfg["ahd"]["exemplar_video"] == exemplar["video_id"] and cfg["training"] == "one-shot (1S)"
    assert cfg["ahd"]["exemplar_from"] == str(tiny_bench / "ann") and cfg["ahd"]["exemplar_split"] == "train"
    abnormal = {
        v.video_id
        for s in source.splits()
        for v in source.videos(s)
        if any(o.is_abnormal for o in v.objects())
    }
    assert loaded[-1] == exemplar["video_id"] and set(loaded[:-1]).isdisjoint(abnormal)
    assert set(loaded[:-1]) == {v.video_id for v in source.videos("train")} - abnormal
    # from the source alone: a deterministic abnormal train video, recorded
    video, split = source_exemplar(source, 0)
    assert (video, split) == source_exemplar(source, 0) and video in abnormal and split == "train"
    loaded.clear()
    train_ahd(root, tmp_path / "src", tiny_ahd_config(epochs=1, shots=1), log=lambda *_: None)
    cfg = load_checkpoint(tmp_path / "src")[1]["ahd"]
    assert (cfg["exemplar_video"], cfg["exemplar_split"], cfg["exemplar_from"]) == (video, "train", "source")
    assert sum(v in abnormal for v in loaded) == 1
