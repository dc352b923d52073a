"""Identical inputs by construction: a non-oracle adapter gets the protocol's messages (exemplar included) and
the clip's public fields, never the answers or the source; oracles are flagged and shown apart as ceilings;
samples whose target failed verification are left out by default."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from harness_fixtures import build_bench, records

from tvau_bench._io import read_json, write_jsonl
from tvau_bench.annotate.dialogue import abnormal_sample, normal_sample
from tvau_bench.cli import main
from tvau_bench.harness.adapters.base import PUBLIC_SAMPLE_KEYS, PUBLIC_VIDEO_KEYS, Adapter, model_hash
from tvau_bench.harness.dataset import load_benchmark
from tvau_bench.harness.frames import FrameReader
from tvau_bench.harness.model_config import model_config_from_dict
from tvau_bench.harness.protocol import evaluation_set
from tvau_bench.harness.runner import RunOptions, run
from tvau_bench.schemas import validate


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    base = tmp_path_factory.mktemp("inputs")
    data, source = build_bench(base)
    return base, data, source


class Recorder(Adapter):
    """Answers "No" and keeps everything the runner handed it."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self.prepared: dict = {}
        self.calls: list = []

    def prepare(self, data, *, split, source_root=None) -> None:
        self.prepared = {"data": data, "split": split, "source_root": source_root}

    def generate(self, messages, ctx) -> str:
        self.calls.append((messages, ctx))
        return "No"


class OracleRecorder(Recorder):
    is_oracle = True


def _config(name: str = "rec"):
    return model_config_from_dict({"name": name, "adapter": "replay", "shots": 1})


def _texts(messages, role: str) -> list[str]:
    return [p["text"] for m in messages if m["role"] == role for p in m["content"] if p["type"] == "text"]


def test_a_non_oracle_sees_the_messages_and_public_fields_only(bench, tmp_path):
    _, data_dir, source = bench
    adapter = Recorder(_config())
    res = run(
        adapter.config, RunOptions(dataset=str(data_dir), out=tmp_path, video_root=source), adapter=adapter
    )
    assert adapter.prepared["source_root"] is None
    shown = adapter.prepared["data"]
    for s in shown.samples["test"]:
        assert set(s) <= set(PUBLIC_SAMPLE_KEYS)  # no label, target or dialogue of the evaluated split
    for vid in {s["video_id"] for s in shown.samples["test"]}:
        assert set(shown.videos[vid]) <= set(PUBLIC_VIDEO_KEYS)
    assert all("dialogue" in s for s in shown.samples["train"])  # training data stays whole
    assert adapter.calls
    for _, ctx in adapter.calls:
        assert set(ctx.sample) <= set(PUBLIC_SAMPLE_KEYS) and ctx.source_root is None
        assert set(ctx.video) <= set(PUBLIC_VIDEO_KEYS)
    assert res["oracle"] is False and read_json(tmp_path / "run.json")["oracle"] is False


def test_the_exemplar_reaches_a_non_oracle_in_its_messages(bench, tmp_path):
    _, data_dir, source = bench
    data = load_benchmark(str(data_dir))
    _, exemplar = evaluation_set(data.samples, "test", 1, 0)
    want = FrameReader(source, data.videos).read(exemplar["video_id"], exemplar["frame_indices"])
    adapter = Recorder(_config())
    run(adapter.config, RunOptions(dataset=str(data_dir), out=tmp_path, video_root=source), adapter=adapter)
    ex_refs = [f"{exemplar['video_id']}#{i}" for i in exemplar["frame_indices"]]
    answers = [d["answer"] for d in exemplar["dialogue"]]
    for messages, _ in adapter.calls:
        first = messages[0]["content"]
        images = [p for p in first if p["type"] == "image"]
        assert [p["ref"] for p in images] == ex_refs
        assert all(np.array_equal(p["image"], w) for p, w in zip(images, want, strict=True))
        assert _texts(messages, "assistant")[: len(answers)] == answers


def test_an_oracle_gets_the_records_and_the_source_and_is_flagged(bench, tmp_path):
    _, data_dir, source = bench
    adapter = OracleRecorder(_config("oracle-rec"))
    res = run(
        adapter.config, RunOptions(dataset=str(data_dir), out=tmp_path, video_root=source), adapter=adapter
    )
    assert Path(adapter.prepared["source_root"]) == Path(source)
    assert all("dialogue" in s for s in adapter.prepared["data"].samples["test"])
    assert all("dialogue" in ctx.sample and ctx.source_root for _, ctx in adapter.calls)
    assert res["oracle"] is True


def test_the_detection_rule_enters_the_model_hash():
    from tvau_bench.metrics.detections import DetectionRule
    from tvau_bench.models.adapter import AhdTemplateAdapter
    from tvau_bench.models.detect import DEFAULT_RULE

    config = model_config_from_dict({"name": "t", "adapter": "ahd-template", "adapter_args": {"ckpt": "x"}})
    adapter = AhdTemplateAdapter(config, ckpt="x")
    assert adapter.rule == DEFAULT_RULE  # the rule of `tvau-bench detect`
    before = model_hash(config, adapter)
    assert before != config.hash()
    adapter.rule = DetectionRule(thresholds=(0.5,), min_area=20)
    assert model_hash(config, adapter) != before
    assert model_hash(config, Recorder(config)) == config.hash()  # adapters without settings: unchanged


# --- verified samples ------------------------------------------------------------------------------------------


def _flagged_dataset(folder: Path, flag: bool | None) -> tuple[Path, str]:
    """The harness fixture dataset with one abnormal test sample's target flagged (``verified`` false)."""
    samples, videos = records()
    target = next(s for s in samples if s["split"] == "test" and s["label"] == "Yes")
    if flag is not None:
        for s in samples:
            s["verified"] = not (flag and s is target)
    write_jsonl(folder / "samples.jsonl", samples)
    write_jsonl(folder / "videos.jsonl", videos)
    return folder, target["sample_id"]


def test_unverified_samples_are_left_out_by_default_and_counted(tmp_path, capsys):
    data_dir, flagged = _flagged_dataset(tmp_path / "ds", True)
    n_test = len(load_benchmark(str(data_dir)).samples["test"])
    cfg = model_config_from_dict({"name": "maj", "adapter": "majority", "shots": 0})
    res = run(cfg, RunOptions(dataset=str(data_dir), out=tmp_path / "a"))
    assert res["n_expected"] == n_test - 1 and res["n_unverified_excluded"] == 1
    logged = [json.loads(x)["sample_id"] for x in (tmp_path / "a" / "samples.jsonl").read_text().splitlines()]
    assert flagged not in logged
    majority = Path(__file__).resolve().parents[1] / "baselines" / "majority.yaml"
    args = ["run", "--model", str(majority), "--dataset", str(data_dir), "--shots", "0"]
    assert main([*args, "--out", str(tmp_path / "c")]) == 0
    assert "1 samples whose target failed verification were left out" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--include-unverified"]) == 0
    both = read_json(tmp_path / "b" / "results.json")
    assert both["n_expected"] == n_test and both["n_unverified_excluded"] == 0
    assert read_json(tmp_path / "b" / "run.json")["protocol"]["include_unverified"] is True


def test_datasets_without_the_field_score_every_sample(tmp_path):
    data_dir, _ = _flagged_dataset(tmp_path / "ds", None)
    n_test = len(load_benchmark(str(data_dir)).samples["test"])
    cfg = model_config_from_dict({"name": "maj", "adapter": "majority", "shots": 0})
    res = run(cfg, RunOptions(dataset=str(data_dir), out=tmp_path / "a"))
    assert res["n_expected"] == n_test and res["n_unverified_excluded"] == 0
    assert "include_unverified" not in read_json(tmp_path / "a" / "run.json")["protocol"]


def test_built_samples_carry_their_verification():
    flagged = abnormal_sample("v", "test", (0, 15), 1, "A person.", "Stays.", 8, verified=False)
    ok = normal_sample("v", "test", (16, 31), 8)
    assert flagged["verified"] is False and ok["verified"] is True
    validate(flagged, "sample")
    validate(ok, "sample")


# --- leaderboard -----------------------------------------------------------------------------------------------


def test_oracle_rows_are_a_separate_unranked_block():
    from tvau_bench.leaderboard.layouts import LAYOUTS
    from tvau_bench.leaderboard.render import CEILING_PREFIX, MeasuredRow, build_table

    layout = next(v for v in LAYOUTS.values() if v.measured_by == "dialogue")
    fam = next(c.family for c in layout.columns if c.metric)

    def row(model: str, value: float, oracle: bool) -> MeasuredRow:
        metrics = {fam: {c.metric: value for c in layout.columns if c.metric} | {"n_samples": 5}}
        return MeasuredRow(model, model, None, "synthetic-*", "test", ["synthetic-ubnormal"], metrics, {}, 1,
                           "own", oracle)  # fmt: skip

    table = build_table(layout, [], [row("oracle", 0.99, True), row("a", 0.2, False), row("b", 0.4, False)])
    blocks = [r.block for r in table.rows]
    assert blocks[-1].startswith(CEILING_PREFIX) and not any(
        b.startswith(CEILING_PREFIX) for b in blocks[:-1]
    )
    oracle = table.rows[-1]
    assert not any(c.bold for c in oracle.cells.values())  # a ceiling is never ranked
    best = next(r for r in table.rows if r.method == "b")
    assert any(c.bold for c in best.cells.values())  # models are ranked among themselves, without it
