"""The annotation pipeline end to end with the geometric backend: outputs, schemas, order, determinism, and
the fidelity acceptance on the default synthetic set."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from tvau_bench._io import iter_jsonl
from tvau_bench.annotate.dialogue import QUESTIONS
from tvau_bench.annotate.evaluate import evaluate
from tvau_bench.annotate.pipeline import OUTPUTS, run
from tvau_bench.annotate.recipe import load_recipe
from tvau_bench.schemas import schema_errors
from tvau_bench.sources import open_source
from tvau_bench.sources.masks import rle_decode


def _rows(path: Path) -> list[dict]:
    return [r for _, r in iter_jsonl(path)]


@pytest.fixture(scope="module")
def small_outputs(synth_small, tmp_path_factory):
    out = {}
    for layout in ("ubnormal", "shanghaitech"):
        d = tmp_path_factory.mktemp(f"ann_{layout}")
        run(load_recipe("synthetic"), synth_small / layout, d)
        out[layout] = d
    return out


@pytest.mark.parametrize("layout", ["ubnormal", "shanghaitech"])
def test_outputs_are_complete_schema_valid_and_sorted(small_outputs, synth_small, layout):
    d = small_outputs[layout]
    for name in OUTPUTS:
        assert (d / name).is_file(), name
    videos, samples, tracks = _rows(d / "videos.jsonl"), _rows(d / "samples.jsonl"), _rows(d / "tracks.jsonl")
    for rows, schema in ((videos, "video"), (samples, "sample"), (tracks, "track")):
        assert rows
        for r in rows:
            assert schema_errors(r, schema) == [], (schema, r.get("sample_id") or r.get("video_id"))
    source = open_source(synth_small / layout)
    expected = sorted(v.video_id for s in source.splits() for v in source.videos(s))
    assert [v["video_id"] for v in videos] == expected
    split = {v["video_id"]: v["split"] for v in videos}
    assert all(s["split"] == split[s["video_id"]] for s in samples)
    # order: tracks by (video, object id, frame); samples by (video, start, end, target)
    oid = {t["target_id"]: t["object_id"] for v in videos for t in v["targets"]}
    keys = [(r["video_id"], oid[r["target_id"]], r["frame"]) for r in tracks]
    assert keys == sorted(keys)
    skeys = [(s["video_id"], s["start_frame"], s["end_frame"], s["target_id"] or "") for s in samples]
    assert skeys == sorted(skeys)
    assert len({s["sample_id"] for s in samples}) == len(samples)
    report = json.loads((d / "report.json").read_text())
    assert report["counts"]["videos"] == len(videos)
    assert report["backend"]["annotator"].startswith("geometric")
    assert sum(report["consistency_histogram"]["counts"]) == report["counts"]["targets"]


@pytest.mark.parametrize("layout", ["ubnormal", "shanghaitech"])
def test_samples_follow_the_protocol(small_outputs, layout):
    d = small_outputs[layout]
    videos = {v["video_id"]: v for v in _rows(d / "videos.jsonl")}
    samples = _rows(d / "samples.jsonl")
    quarantined = {q["item"] for q in _rows(d / "quarantine.jsonl")}
    assert {s["label"] for s in samples} == {"Yes", "No"}
    for s in samples:
        assert s["start_frame"] <= min(s["frame_indices"]) <= max(s["frame_indices"]) <= s["end_frame"]
        assert len(s["frame_indices"]) == min(8, s["end_frame"] - s["start_frame"] + 1)
        assert [t["question"] for t in s["dialogue"]] == [QUESTIONS[t["kind"]] for t in s["dialogue"]]
        if s["label"] == "No":
            assert s["target_id"] is None and s["dialogue"][0]["answer"] == "No" and len(s["dialogue"]) == 1
            assert s["sample_id"] == f"{s['video_id']}:{s['start_frame']}-{s['end_frame']}"
            continue
        assert [t["kind"] for t in s["dialogue"]] == ["yes_no", "target", "trajectory"]
        assert s["dialogue"][0]["answer"] == "Yes"
        vid, oid = s["target_id"].rsplit(":", 1)
        assert s["sample_id"] == f"{vid}:{s['start_frame']}-{s['end_frame']}:{oid}"
        target = next(t for t in videos[vid]["targets"] if t["target_id"] == s["target_id"])
        assert target["is_abnormal"]
        assert s["dialogue"][1]["answer"].startswith(target["appearance"])
    # every abnormal interval of every abnormal target is a sample or a quarantine record: nothing lost
    for v in videos.values():
        for t in v["targets"]:
            for _s0, _e0 in t["abnormal_intervals"]:
                ids = {x["sample_id"] for x in samples if x["target_id"] == t["target_id"]}
                assert any(f":{t['object_id']}" in i for i in ids | quarantined), t["target_id"]


def test_tracks_match_the_source_masks(small_outputs, synth_small):
    d = small_outputs["ubnormal"]
    source = open_source(synth_small / "ubnormal")
    tracks = _rows(d / "tracks.jsonl")
    by_video = defaultdict(list)
    for r in tracks:
        by_video[r["video_id"]].append(r)
    vid = sorted(by_video)[0]
    video = source.video(vid)
    abnormal = {o.object_id: o.abnormal_intervals for o in video.objects()}
    for r in by_video[vid][::7]:
        oid = int(r["target_id"].rsplit(":", 1)[1])
        mask = video.object_masks(r["frame"])[oid]
        assert np.array_equal(rle_decode(r["mask"]), mask)
        ys, xs = np.nonzero(mask)
        assert r["box"] == [xs.min(), ys.min(), xs.max(), ys.max()]
        assert r["is_abnormal"] == any(s <= r["frame"] <= e for s, e in abnormal[oid])


def test_rerun_is_byte_identical(small_outputs, synth_small, tmp_path):
    run(load_recipe("synthetic"), synth_small / "shanghaitech", tmp_path)
    for name in OUTPUTS[:4]:
        assert (tmp_path / name).read_bytes() == (small_outputs["shanghaitech"] / name).read_bytes(), name


@pytest.mark.slow  # annotates the default (CI-sized) synthetic set
def test_default_set_fidelity_acceptance(synth_root, tmp_path):
    """Acceptance: geometric backend on the default synthetic UBnormal-layout set: >= 90% direction and
    enter/exit, >= 80% colours; the CLI prints one JSON object with every field."""
    out = tmp_path / "ub"
    run(load_recipe("synthetic"), synth_root / "ubnormal", out)
    cmd = [
        sys.executable,
        "-m",
        "tvau_bench.cli",
        "annotate-eval",
        str(out),
        "--truth",
        str(synth_root / "ubnormal" / "truth.jsonl"),
        "--json",
    ]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    for key in (
        "category_accuracy",
        "colour_accuracy",
        "direction_accuracy",
        "enter_exit_accuracy",
        "appearance_bleu4",
        "trajectory_bleu4",
    ):
        assert 0.0 <= res[key] <= 100.0, key
    assert res["matched"] == res["truth_objects"]
    assert res["direction_accuracy"] >= 90.0
    assert res["enter_exit_accuracy"] >= 90.0
    assert res["colour_accuracy"] >= 80.0
    assert res["category_accuracy"] >= 90.0
    assert res["appearance_bleu4"] > 20.0 and res["trajectory_bleu4"] > 10.0


def test_shanghaitech_layout_is_evaluated_by_box_matching(small_outputs, synth_small):
    res = evaluate(small_outputs["shanghaitech"], synth_small / "shanghaitech" / "truth.jsonl")
    assert res["matched"] >= 1
    assert res["mean_match_iou"] >= 0.3
    assert res["direction_accuracy"] >= 50.0
