"""The models' harness adapters end to end on a tiny synthetic benchmark: ``ahd-template`` (AHD heatmaps → track →
words, CPU) and ``tvau`` (tiny LoRA Qwen2.5-VL + RAE from `train rae`), both through ``tvau-bench run``."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from harness_fixtures import write_model  # noqa: E402

from tvau_bench._io import iter_jsonl, read_json, write_jsonl  # noqa: E402
from tvau_bench.cli import main  # noqa: E402
from tvau_bench.metrics.detections import DetectionRule  # noqa: E402
from tvau_bench.models.adapter import link_track, message_clips  # noqa: E402
from tvau_bench.models.detect import DEFAULT_RULE  # noqa: E402


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


def test_message_clips_keep_the_exemplar_apart():
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
    (ex_refs, ex_images), (refs, images) = message_clips(msgs)
    assert ex_refs == ("ex#3",) and len(ex_images) == 1
    assert refs == ("q#1", "q#2") and len(images) == 2


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


def _template_model(base):
    return write_model(
        base / "tmpl.yaml", "ahd-template", "ahd-template", adapter_args={"ckpt": str(base / "ahd")}
    )


def test_ahd_template_adapter_runs_the_protocol(bench):
    base, root, dataset = bench
    res, rows = _run(base, _template_model(base), root, dataset, "run_tmpl")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "ahd-template"
    assert {r["turns"][0]["raw"] for r in rows} <= {"Yes", "No"}
    # abnormal samples are asked all three turns
    assert all(len(r["turns"]) == 3 for r in rows if r["label"] == "Yes")
    info = read_json(base / "run_tmpl" / "run.json")["adapter_info"]
    assert info["detection_rule"] == DEFAULT_RULE.to_dict()  # the rule of `tvau-bench detect`


@pytest.fixture(scope="module")
def tvau_model(bench):
    """A tiny T-VAU checkpoint (`train rae` on the shared benchmark) and its model config."""
    from tvau_bench.models.tiny import save_tiny_lvlm

    base, root, dataset = bench
    samples = [r for _, r in iter_jsonl(dataset / "samples.jsonl")]
    lvlm_dir = save_tiny_lvlm(
        base / "lvlm", [t["question"] + " " + t["answer"] for s in samples for t in s["dialogue"]]
    )
    ckpt = base / "tvau"
    args = ["train", "rae", "--dataset", str(dataset), "--lvlm", str(lvlm_dir), "--source", str(root)]
    extra = ["--ahd", str(base / "ahd"), "--frames", "2", "--frame-side", "56", "--max-samples", "3"]
    assert main([*args, "--out", str(ckpt), *extra]) == 0
    return write_model(
        base / "tvau.yaml",
        "tvau-tiny",
        "tvau",
        adapter_args={"ckpt": str(ckpt)},
        generation={"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 4, "seed": 0},
    )


def test_tvau_adapter_runs_the_protocol(bench, tvau_model):
    base, root, dataset = bench
    res, rows = _run(base, tvau_model, root, dataset, "run_tvau")
    assert res["n_samples"] == len(rows) > 0 and res["adapter"] == "tvau"
    assert all(r["turns"][0]["raw"] is not None for r in rows)
    assert "exemplar" in read_json(base / "run_tvau" / "run.json")["adapter_info"]


def test_tvau_prompt_holds_the_exemplar(bench, tvau_model, monkeypatch):
    """With one shot, T-VAU's prompt holds two videos (exemplar, query), each with its RAE tokens, and the
    exemplar's gold dialogue as earlier turns."""
    from tvau_bench.harness.model_config import load_model_config
    from tvau_bench.harness.protocol import evaluation_set
    from tvau_bench.harness.runner import RunOptions, run
    from tvau_bench.models.adapter import TvauAdapter
    from tvau_bench.models.tvau import TvauModel

    base, root, dataset = bench
    seen = []
    original = TvauModel.generate

    def spy(self, heatmaps=None, **kwargs):
        seen.append((heatmaps, kwargs["video_grid_thw"], kwargs["input_ids"]))
        return original(self, heatmaps=heatmaps, **kwargs)

    monkeypatch.setattr(TvauModel, "generate", spy)
    config = load_model_config(tvau_model)
    adapter = TvauAdapter(config, **config.adapter_args)
    opts = RunOptions(dataset=str(dataset), out=base / "run_tvau_spy", video_root=root, limit=1)
    run(config, opts, adapter=adapter)
    from tvau_bench.harness.dataset import load_benchmark

    _, exemplar = evaluation_set(load_benchmark(str(dataset)).samples, "test", 1, 0)
    heatmaps, grid, ids = seen[0]
    assert isinstance(heatmaps, list) and len(heatmaps) == 2 and grid.shape[0] == 2
    prompt = ids[0].tolist()
    for turn in exemplar["dialogue"]:
        answer = adapter.tokenizer(turn["answer"], add_special_tokens=False)["input_ids"]
        assert any(prompt[i : i + len(answer)] == answer for i in range(len(prompt))), turn["kind"]


def test_training_inputs_are_the_adapter_inputs(bench, tvau_model, monkeypatch):
    """`train rae` builds, for a sample's dialogue, exactly the inputs the tvau adapter gets under the protocol:
    at every turn (gold history) the adapter's ids are the training ids up to that turn's answer, whose tokens
    are the training labels; the videos, the RAE placeholder layout and the AHD heatmaps are equal."""
    from tvau_bench.harness.dataset import load_benchmark
    from tvau_bench.harness.model_config import load_model_config
    from tvau_bench.harness.protocol import evaluation_set
    from tvau_bench.harness.runner import RunOptions, run
    from tvau_bench.models import train_rae as tr
    from tvau_bench.models.adapter import TvauAdapter
    from tvau_bench.models.tvau import TvauModel
    from tvau_bench.models.tvau_inputs import TvauInputs
    from tvau_bench.sources import open_source

    base, root, dataset = bench
    seen = []
    original = TvauModel.generate

    def spy(self, **kwargs):
        seen.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(TvauModel, "generate", spy)
    config = load_model_config(tvau_model)
    adapter = TvauAdapter(config, **config.adapter_args)
    data = load_benchmark(str(dataset))
    samples, exemplar = evaluation_set(data.samples, "test", 1, 0)
    sample = next(s for s in samples if s["label"] == "Yes")  # three turns
    sub = base / "one_sample"  # the exemplar (train) and one abnormal test sample
    sub.mkdir(exist_ok=True)
    write_jsonl(sub / "samples.jsonl", [exemplar, sample])
    shutil.copyfile(dataset / "videos.jsonl", sub / "videos.jsonl")
    opts = RunOptions(dataset=str(sub), out=sub / "run", video_root=root, history="gold")
    run(config, opts, adapter=adapter)
    assert len(seen) == 3

    model, cfg = adapter.model, adapter.rcfg
    source = open_source(root)
    reader = tr.frame_reader(load_benchmark(str(sub)), source, root, cfg, [sample, exemplar])
    heatmaps = tr.heatmap_source(cfg, adapter.ahd_ckpt, source, [])
    prefix = tr.exemplar_prefix(reader, exemplar, cfg)
    train = TvauInputs(model, adapter.tokenizer, cfg, heatmaps).encode(
        tr.training_messages(reader, prefix, sample, cfg), label_from=len(prefix)
    )
    ids, labels = train["input_ids"][0], train["labels"][0]
    answers = [i for i in range(1, len(ids)) if labels[i] != -100 and labels[i - 1] == -100]
    assert len(answers) == 3 and model.num_prompt_tokens(2) > 0
    for turn, start in zip(seen, answers, strict=True):
        assert torch.equal(turn["input_ids"][0], ids[:start])
        assert torch.equal(turn["mm_token_type_ids"][0], train["mm_token_type_ids"][0, :start])
        assert torch.equal(turn["pixel_values_videos"], train["pixel_values_videos"])
        assert torch.equal(turn["video_grid_thw"], train["video_grid_thw"])
        assert len(turn["heatmaps"]) == len(train["heatmaps"]) == 2
        assert all(torch.equal(a, b) for a, b in zip(turn["heatmaps"], train["heatmaps"], strict=True))


def _frames_copy(
    root: Path, dataset: Path, out: Path, keep: set[tuple[str, int]] | None
) -> tuple[Path, Path]:
    """A copy of the source whose videos are also PNG frame folders (lossless, so both copies decode the same
    pixels) and a dataset pointing at them; with ``keep``, every other frame is zeroed, in the folders and in
    the source videos."""
    from tvau_bench.sources.video import iter_frames, write_video

    src = out / "source"
    shutil.copytree(root, src)
    videos = [r for _, r in iter_jsonl(dataset / "videos.jsonl")]
    for rec in videos:
        mp4 = src / rec["video_path"]
        frames = list(iter_frames(mp4))
        if keep is not None:
            frames = [f if (rec["video_id"], i) in keep else np.zeros_like(f) for i, f in enumerate(frames)]
            write_video(mp4, frames, rec["fps"])
        folder = src / "frames" / rec["video_id"]
        folder.mkdir(parents=True)
        for i, f in enumerate(frames):
            cv2.imwrite(str(folder / f"{i:05d}.png"), f)
        rec["video_path"] = f"frames/{rec['video_id']}"
    ds = out / "dataset"
    ds.mkdir()
    shutil.copyfile(dataset / "samples.jsonl", ds / "samples.jsonl")
    write_jsonl(ds / "videos.jsonl", videos)
    return src, ds


@pytest.mark.parametrize("which", ["ahd-template", "tvau"])
def test_blanking_unshown_frames_changes_no_answer(bench, tvau_model, which, tmp_path):
    """Acceptance: every source frame that no benchmark sample (nor the exemplar) shows is zeroed; the
    answers stay the same, so the adapter reads nothing beyond the protocol's frames."""
    from tvau_bench.harness.dataset import load_benchmark
    from tvau_bench.harness.protocol import evaluation_set

    base, root, dataset = bench
    model = _template_model(base) if which == "ahd-template" else tvau_model
    scored, exemplar = evaluation_set(load_benchmark(str(dataset)).samples, "test", 1, 0)
    keep = {(s["video_id"], int(f)) for s in [*scored, exemplar] for f in s["frame_indices"]}
    answers = {}
    for name, kept in (("full", None), ("blank", keep)):
        src, ds = _frames_copy(root, dataset, tmp_path / name, kept)
        _, rows = _run(tmp_path, model, src, ds, f"run_{name}")
        answers[name] = {r["sample_id"]: [t["raw"] for t in r["turns"]] for r in rows}
    assert answers["full"] == answers["blank"] and len(answers["full"]) == len(scored)
    n_frames = sum(r["num_frames"] for _, r in iter_jsonl(dataset / "videos.jsonl"))
    assert len(keep) < n_frames  # frames were blanked
