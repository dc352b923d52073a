"""``--engine ray``: the same bytes as the single-process engine, and a SIGKILL at a random point resumes to the
same bytes without redoing the videos already finished. One local cluster for the module (start-up paid once)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tvau_bench.annotate.pipeline import OUTPUTS, run
from tvau_bench.annotate.recipe import load_recipe

ray = pytest.importorskip("ray", reason='the Ray engine needs the extra: pip install "tvau-bench[ray]"')
pytest.importorskip("ray.data", reason='the Ray engine needs Ray Data: pip install "tvau-bench[ray]"')

from tvau_bench.annotate.engine_ray import PARTS, run_key, run_ray  # noqa: E402

# Both xdist workers would otherwise each start a cluster: the tests of this module run in one.
pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for this module; 4 logical CPUs so 2 actors and Ray Data's own tasks all fit."""
    ray.init(num_cpus=4, include_dashboard=False, logging_level="WARNING")
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def default_run(synth_small, tmp_path_factory):
    """The single-process engine on the small UBnormal source: the bytes every Ray run must give."""
    out = tmp_path_factory.mktemp("default") / "out"
    report = run(load_recipe("synthetic"), synth_small / "ubnormal", out)
    return out, report


def _files(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS if name != "report.json"}


def test_ray_engine_is_byte_identical(cluster, default_run, synth_small, tmp_path):
    out, report = default_run
    ray_report = run_ray(load_recipe("synthetic"), synth_small / "ubnormal", tmp_path / "out", workers=2)
    assert _files(tmp_path / "out") == _files(out)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)  # parts removed
    assert ray_report["counts"] == report["counts"]
    assert ray_report["stages"] == report["stages"]
    assert ray_report["requests"] == report["requests"]  # per-worker accounting summed on the driver
    assert ray_report["backend"] == report["backend"]
    assert ray_report["engine"] == {"name": "ray", "workers": 2, "videos_resumed": 0}


def test_sigkill_at_a_random_point_resumes_without_redoing_videos(
    cluster, default_run, synth_small, tmp_path
):
    out_default, report = default_run
    out = tmp_path / "out"
    n_videos = report["counts"]["videos"]
    kill_after = random.Random(os.getpid()).randint(1, n_videos - 2)
    cmd = [sys.executable, "-m", "tvau_bench.cli", "annotate", "synthetic", "--source"]
    cmd += [str(synth_small / "ubnormal"), "--out", str(out), "--engine", "ray", "--workers", "1"]
    cmd += ["--ray-address", cluster]
    proc = subprocess.Popen(cmd, env={**os.environ, "TVAU_NO_PROGRESS": "1"}, stderr=subprocess.PIPE)
    parts = out / PARTS / run_key(load_recipe("synthetic"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(parts.glob("*.json"))) >= kill_after:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before the kill: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    finished = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in parts.glob("*.json")}
    assert kill_after <= len(finished) < n_videos
    assert not (out / "videos.jsonl").exists()

    resumed = run_ray(load_recipe("synthetic"), synth_small / "ubnormal", out, workers=2)
    assert _files(out) == _files(out_default)
    assert resumed["engine"]["videos_resumed"] == len(finished)
    # The finished videos sent no request again: the rerun asked exactly the others' requests.
    asked_before = sum(
        p["counts"].get(k, 0)
        for p in finished.values()
        for k in ("stage1_frames", "stage2_targets", "stage3_reasked")
    )
    total = report["requests"]["requests_total"]
    assert resumed["requests"]["requests_total"] == total - asked_before < total
    assert resumed["counts"] == report["counts"]


def test_parts_of_another_recipe_are_not_reused(cluster, synth_small, tmp_path):
    base = load_recipe("synthetic")
    other = load_recipe("synthetic", {"waypoints": base.waypoints + 1})
    assert run_key(base) != run_key(other)


@pytest.mark.parametrize("adapter", ["majority", "geometry-oracle"])
def test_benchmark_run_on_ray_gives_the_same_log_and_results(cluster, tmp_path, adapter):
    from harness_fixtures import build_bench, write_model

    from tvau_bench._io import iter_jsonl, read_json
    from tvau_bench.cli import main

    data, source = build_bench(tmp_path / "bench")
    model = write_model(tmp_path / "m.yaml", "m", adapter)
    args = ["run", "--model", str(model), "--dataset", str(data), "--video-root", str(source)]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    # half the samples first, then the rest: the Ray engine resumes from the driver's durable log
    assert main([*args, "--out", str(tmp_path / "ray"), "--engine", "ray", "--limit", "3"]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 0

    def rows(d: Path) -> dict[str, dict]:
        return {r["sample_id"]: {**r, "elapsed_s": None} for _, r in iter_jsonl(d / "samples.jsonl")}

    assert rows(tmp_path / "ray") == rows(tmp_path / "local")
    assert len(rows(tmp_path / "ray")) == 6
    local, dist = read_json(tmp_path / "local" / "results.json"), read_json(tmp_path / "ray" / "results.json")
    assert {**dist, "timings": None} == {**local, "timings": None}
    assert dist["timings"]["samples_skipped"] == 3
    assert (
        read_json(tmp_path / "ray" / "run.json")["adapter_info"]
        == read_json(tmp_path / "local" / "run.json")["adapter_info"]
    )
