"""The openai backend through the whole pipeline against the loopback server: faults retried or quarantined with
nothing lost, and SIGKILL half-way then rerun gives byte-identical outputs with the finished requests cached."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from annotate_responders import pipeline_responder
from loopback_openai import LoopbackServer

from tvau_bench._io import iter_jsonl
from tvau_bench.annotate.pipeline import OUTPUTS, run
from tvau_bench.annotate.recipe import load_recipe


def _recipe_file(tmp_path: Path, url: str, **backend) -> Path:
    cfg = {
        "name": "loopback",
        "backend": {
            "kind": "openai",
            "model": "loopback-vlm",
            "endpoints": [url],
            "max_concurrency": 2,
            "timeout_s": 2.0,
            "max_retries": 3,
            "backoff_s": 0.01,
            "backoff_max_s": 0.05,
            **backend,
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is YAML
    return path


def _videos(root: Path, n: int = 2) -> list[str]:
    from tvau_bench.sources import open_source

    src = open_source(root)
    vids = sorted(v.video_id for s in src.splits() for v in src.videos(s))
    abnormal = [v for v in vids if v.startswith("abnormal")][: n - 1]
    return abnormal + [v for v in vids if v.startswith("normal")][:1]


def _outputs(d: Path) -> dict[str, bytes]:
    return {name: (d / name).read_bytes() for name in OUTPUTS[:4]}


def _fault(body: dict, seen: int) -> str | None:
    """A fault on the first arrival of about 40% of requests, chosen by content (order independent)."""
    h = int(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest(), 16)
    kinds = ("429", "500", "drop", "invalid_json", "timeout", "bad_body", None, None, None, None)
    return kinds[h % len(kinds)] if seen == 0 else None


@pytest.fixture(scope="module")
def clean_run(synth_small, tmp_path_factory):
    root = synth_small / "ubnormal"
    vids = _videos(root)
    base = tmp_path_factory.mktemp("clean")
    with LoopbackServer(pipeline_responder) as srv:
        recipe = load_recipe(_recipe_file(base, srv.url))
        report = run(recipe, root, base / "out", videos=vids)
    assert srv.shape_errors == []
    return vids, base / "out", report, len(srv.log)


def test_openai_pipeline_outputs(clean_run):
    vids, out, report, n_requests = clean_run
    assert report["requests"]["requests_total"] == n_requests > 0
    assert report["requests"]["cache_hits_total"] == 0
    assert report["backend"]["model_id"] == "loopback-vlm"
    videos = [v for _, v in iter_jsonl(out / "videos.jsonl")]
    assert [v["video_id"] for v in videos] == sorted(vids)
    # the scripted VLM claims motion at random: stage 3 must have re-asked and recorded disagreements
    assert report["stages"]["stage3"]["reasked"] > 0
    assert any(t["appearance"].startswith("A person in a") for v in videos for t in v["targets"])


def test_faults_are_retried_and_nothing_changes(clean_run, synth_small, tmp_path):
    vids, out, _, _ = clean_run
    with LoopbackServer(pipeline_responder, faults=_fault, hang_s=1.0) as srv:
        recipe = load_recipe(_recipe_file(tmp_path, srv.url, timeout_s=0.5))
        report = run(recipe, synth_small / "ubnormal", tmp_path / "out", videos=vids)
    assert {e.fault for e in srv.log} >= {"429", "500", "drop", "invalid_json", "timeout", "bad_body"}
    assert sum(report["requests"]["failures"].values()) == 0
    assert report["requests"]["faults"]
    assert _outputs(tmp_path / "out") == _outputs(out)


def test_persistent_failures_are_quarantined_not_lost(clean_run, synth_small, tmp_path):
    vids, out, _, _ = clean_run

    def stage2_always_500(body, seen):
        return "500" if "close-up crops" in json.dumps(body) else None

    with LoopbackServer(pipeline_responder, faults=stage2_always_500) as srv:
        recipe = load_recipe(_recipe_file(tmp_path, srv.url, max_retries=1))
        report = run(recipe, synth_small / "ubnormal", tmp_path / "out", videos=vids)
    assert report["requests"]["failures"]["stage2"] == report["stages"]["stage2"]["targets_asked"] > 0
    quarantine = [q for _, q in iter_jsonl(tmp_path / "out" / "quarantine.jsonl")]
    failed = {q["item"] for q in quarantine if q["stage"] == "stage2" and q["reason"] == "request failed"}
    samples = [s for _, s in iter_jsonl(tmp_path / "out" / "samples.jsonl")]
    assert not any(s["target_id"] in failed for s in samples)
    # each abnormal sample of the clean run is now a quarantine record
    clean_yes = [s["sample_id"] for _, s in iter_jsonl(out / "samples.jsonl") if s["label"] == "Yes"]
    assert set(clean_yes) <= {q["item"] for q in quarantine}
    # a rerun against a healthy server asks only what failed and completes the outputs
    with LoopbackServer(pipeline_responder) as srv:
        recipe = load_recipe(_recipe_file(tmp_path, srv.url))
        report = run(recipe, synth_small / "ubnormal", tmp_path / "out", videos=vids)
    assert report["requests"]["cache_hits_total"] > 0
    assert _outputs(tmp_path / "out") == _outputs(out)


def test_sigkill_half_way_then_rerun_is_byte_identical(clean_run, synth_small, tmp_path):
    vids, out, _, total = clean_run
    with LoopbackServer(pipeline_responder, latency=0.05) as srv:
        recipe = _recipe_file(tmp_path, srv.url)
        cmd = [
            sys.executable,
            "-m",
            "tvau_bench.cli",
            "annotate",
            str(recipe),
            "--source",
            str(synth_small / "ubnormal"),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
        for v in vids:
            cmd += ["--video", v]
        env = {**os.environ, "TVAU_NO_PROGRESS": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(srv.served()) < total // 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = len(srv.log)
        assert 0 < first < total
        assert not (tmp_path / "out" / "videos.jsonl").exists()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert report["requests"]["cache_hits_total"] > 0
    # nothing is asked twice except the requests that were in flight at the kill
    assert report["requests"]["requests_total"] <= total - report["requests"]["cache_hits_total"]
    assert report["requests"]["cache_hits_total"] + report["requests"]["requests_total"] == total
    assert _outputs(tmp_path / "out") == _outputs(out)
    assert not list((tmp_path / "out").glob(".tracks*"))


def test_reask_with_evidence_repairs_the_motion_claim(clean_run):
    _, out, report, _ = clean_run
    assert report["stages"]["stage3"]["reasked"] == report["stages"]["stage2"]["targets_asked"]
    videos = [v for _, v in iter_jsonl(out / "videos.jsonl")]
    abnormal = [t for v in videos for t in v["targets"] if t["is_abnormal"]]
    # the corrected answer agrees with the geometry: abnormal targets end up consistent
    assert abnormal and all(t["consistency"] >= 0.75 for t in abnormal)
