"""The whole protocol against a loopback OpenAI-compatible server: scripted answers, latency, faults, kills."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from harness_fixtures import COLOURS, build_bench, write_model
from loopback_openai import LoopbackServer, Reply

from tvau_bench._io import iter_jsonl, read_json
from tvau_bench.cli import main
from tvau_bench.harness.dataset import load_benchmark
from tvau_bench.harness.frames import FrameReader
from tvau_bench.harness.prompts import load_prompt_set

PROMPTS = load_prompt_set()
RGB = {name: bgr[::-1] for name, bgr in COLOURS.items()}


def decode(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    bgr = cv2.imdecode(np.frombuffer(base64.b64decode(url[len(prefix) :]), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def query_images(body: dict) -> list[np.ndarray]:
    """The frames of the last clip in a request (the query, after any exemplar)."""
    firsts = [
        m
        for m in body["messages"]
        if m["role"] == "user" and any(p["type"] == "image_url" for p in m["content"])
    ]
    return [decode(p["image_url"]["url"]) for p in firsts[-1]["content"] if p["type"] == "image_url"]


def square_colour(img: np.ndarray) -> str:
    """The colour name of the square: the palette colour with most pixels near it (the video is lossy)."""
    px = img.reshape(-1, 3).astype(int)
    return max(RGB, key=lambda c: int((np.abs(px - np.array(RGB[c])).max(axis=1) < 50).sum()))


def scripted(body: dict) -> str:
    """A 'model' that looks at the pixels: red/yellow squares are anomalies, it names the colour it sees."""
    question = body["messages"][-1]["content"][-1]["text"]
    colour = square_colour(query_images(body)[0])
    if question == PROMPTS.question("yes_no"):
        return "Yes." if colour in ("red", "yellow") else "No, nothing unusual."
    if question == PROMPTS.question("target"):
        return f"A {colour} square."
    return "Moves toward the left."


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return build_bench(tmp_path_factory.mktemp("bench"))


def model_for(path: Path, url: str, **args) -> Path:
    adapter_args = {
        "base_url": url,
        "model": "loopback",
        "max_concurrency": 1,
        "timeout_s": 5,
        "backoff_s": 0.01,
        **args,
    }
    return write_model(path, "loopback-model", "openai", adapter_args=adapter_args)


def run(model, data, source, out, *extra) -> int:
    return main(
        [
            "run",
            "--model",
            str(model),
            "--dataset",
            str(data),
            "--video-root",
            str(source),
            "--out",
            str(out),
            *extra,
        ]
    )


def strip(results: dict) -> dict:
    return {k: v for k, v in results.items() if k != "timings"}


def test_protocol_against_loopback_server(bench, tmp_path):
    data, source = bench
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow_scripted(body):  # counts requests being answered at once (the client's concurrency)
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.03)
        try:
            return scripted(body)
        finally:
            with lock:
                active["now"] -= 1

    with LoopbackServer(slow_scripted, check_shape=False) as srv:
        assert (
            run(model_for(tmp_path / "m.yaml", srv.url, max_concurrency=4), data, source, tmp_path / "run")
            == 0
        )
        bodies = [e.body for e in srv.log if e.path.endswith("/chat/completions")]
    in_flight = active["max"]
    res = read_json(tmp_path / "run" / "results.json")
    assert res["yes_no_accuracy"] == 100.0 and res["target_bleu4"] == pytest.approx(100.0)
    assert 0 < res["trajectory_bleu4"] < 100
    assert len(bodies) == 4 * 3 + 2 and 2 <= in_flight <= 4
    # every request: greedy settings, the one-shot exemplar with its gold answers and 4 frames, then the query
    bench_data = load_benchmark(data)
    reader = FrameReader(source, bench_data.videos)
    rows = {r["sample_id"]: r for _, r in iter_jsonl(tmp_path / "run" / "samples.jsonl")}
    for body in bodies:
        assert body["temperature"] == 0.0 and body["max_tokens"] == 128 and body["model"] == "loopback"
        msgs = body["messages"]
        assert [m["role"] for m in msgs[:6]] == ["user", "assistant"] * 3
        ex = bench_data.sample(res["exemplar"])
        assert [m["content"] for m in msgs[1:6:2]] == [d["answer"] for d in ex["dialogue"]]
        ex_images = [decode(p["image_url"]["url"]) for p in msgs[0]["content"] if p["type"] == "image_url"]
        want = reader.read(ex["video_id"], ex["frame_indices"])
        assert all(np.array_equal(a, b) for a, b in zip(ex_images, want, strict=True))
    # own history: the answers shown at turn 3 are the ones the server gave at turns 1 and 2
    last_turns = [
        b for b in bodies if b["messages"][-1]["content"][-1]["text"] == PROMPTS.question("trajectory")
    ]
    for body in last_turns:
        shown = [m["content"] for m in body["messages"][6:] if m["role"] == "assistant"]
        colour = square_colour(query_images(body)[0])
        assert shown == ["Yes.", f"A {colour} square."]
    for row in rows.values():
        images = reader.read(row["video_id"], bench_data.sample(row["sample_id"])["frame_indices"])
        assert row["frames_sha256"] is not None and len(images) == 4


def test_gold_history_shows_reference_answers(bench, tmp_path):
    data, source = bench
    with LoopbackServer(lambda body: "Maybe.", check_shape=False) as srv:
        run(
            model_for(tmp_path / "m.yaml", srv.url),
            data,
            source,
            tmp_path / "run",
            "--history",
            "gold",
            "--shots",
            "0",
        )
        bodies = [e.body for e in srv.log if e.path.endswith("/chat/completions")]
    res = read_json(tmp_path / "run" / "results.json")
    assert res["unknown_rate"] == 1.0 and res["yes_no_accuracy"] == 0.0 and res["shots"] == 0
    for body in bodies:
        assert (
            body["messages"][0]["role"] == "user" and sum(m["role"] == "user" for m in body["messages"]) <= 3
        )
        shown = [m["content"] for m in body["messages"] if m["role"] == "assistant"]
        assert "Maybe." not in shown and (not shown or shown[0] == "Yes")


def test_faults_are_retried_and_change_nothing(bench, tmp_path):
    data, source = bench
    with LoopbackServer(scripted, check_shape=False) as srv:
        run(model_for(tmp_path / "a.yaml", srv.url), data, source, tmp_path / "clean")
    kinds = ["429", "500", "503", "drop", "timeout", "bad_body"]

    def faults(body, seen):
        if seen:
            return None
        return kinds[sum(map(ord, str(body["messages"][-1]))) % len(kinds)]

    with LoopbackServer(scripted, check_shape=False, faults=faults, hang_s=1.5) as srv:
        model = model_for(tmp_path / "b.yaml", srv.url, timeout_s=0.5, max_concurrency=4)
        assert run(model, data, source, tmp_path / "faulty") == 0
        injected = {e.fault for e in srv.log} - {None}
    assert len(injected) >= 3
    clean, faulty = read_json(tmp_path / "clean/results.json"), read_json(tmp_path / "faulty/results.json")
    transport = {"model": None, "adapter_info": None}  # another server (port): same model, same answers
    assert strip(clean) | transport == strip(faulty) | transport


def test_persistent_failure_stops_with_a_clear_error_and_keeps_logged_rows(bench, tmp_path, capsys):
    data, source = bench
    calls = {"n": 0}

    def faults(body, seen):
        calls["n"] += 1
        return "500" if calls["n"] > 3 else None

    with LoopbackServer(scripted, check_shape=False, faults=faults) as srv:
        assert (
            run(model_for(tmp_path / "m.yaml", srv.url, max_retries=2), data, source, tmp_path / "run") == 2
        )
    err = capsys.readouterr().err
    assert "failed after 3 attempts: HTTP 500" in err
    with LoopbackServer(scripted, check_shape=False) as srv:
        assert (
            run(model_for(tmp_path / "m.yaml", srv.url, max_retries=2), data, source, tmp_path / "run") == 0
        )
    assert read_json(tmp_path / "run/results.json")["n_samples"] == 6


def test_sigkill_then_rerun_gives_the_same_results(bench, tmp_path):
    data, source = bench
    with LoopbackServer(scripted, check_shape=False, latency=0.08) as srv:
        model = model_for(tmp_path / "m.yaml", srv.url)
        assert run(model, data, source, tmp_path / "whole") == 0
        out = tmp_path / "killed"
        cmd = [sys.executable, "-m", "tvau_bench.cli", "run", "--model", str(model), "--dataset", str(data)]
        cmd += ["--video-root", str(source), "--out", str(out)]
        env = {**os.environ, "TVAU_NO_PROGRESS": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = out / "samples.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log.is_file() and log.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        logged = log.read_bytes().count(b"\n")
        assert 2 <= logged < 6 and not (out / "results.json").exists()
        assert run(model, data, source, out) == 0
    killed = read_json(out / "results.json")
    assert killed["timings"]["samples_skipped"] == logged
    assert strip(killed) == strip(read_json(tmp_path / "whole/results.json"))


def test_retry_after_is_honoured(bench, tmp_path):
    data, source = bench
    with LoopbackServer(scripted, check_shape=False) as srv:
        run(model_for(tmp_path / "a.yaml", srv.url), data, source, tmp_path / "clean")
    calls = {"n": 0}

    def busy_once(body):  # the first request is told to come back in a second
        calls["n"] += 1
        return Reply("busy", status=429, headers={"Retry-After": "1"}) if calls["n"] == 1 else scripted(body)

    with LoopbackServer(busy_once, check_shape=False) as srv:
        assert run(model_for(tmp_path / "b.yaml", srv.url), data, source, tmp_path / "busy") == 0
        first, retry = srv.log[0], srv.log[1]
    assert first.status == 429 and retry.body == first.body and retry.status == 200
    assert retry.t_start - first.t_end >= 0.9  # backoff_s alone would have waited 0.01 s
    clean, busy = read_json(tmp_path / "clean/results.json"), read_json(tmp_path / "busy/results.json")
    transport = {"model": None, "adapter_info": None}
    assert strip(clean) | transport == strip(busy) | transport


def test_requests_fan_out_over_several_endpoints(bench, tmp_path):
    data, source = bench
    with LoopbackServer(scripted, check_shape=False) as srv:
        run(model_for(tmp_path / "a.yaml", srv.url), data, source, tmp_path / "one")
    with (
        LoopbackServer(scripted, check_shape=False, latency=0.02) as a,
        LoopbackServer(scripted, check_shape=False, latency=0.02) as b,
        LoopbackServer(scripted, check_shape=False, faults=lambda body, seen: "503") as dead,
    ):
        model = model_for(tmp_path / "b.yaml", [a.url, b.url, dead.url], max_concurrency=1)
        assert run(model, data, source, tmp_path / "three") == 0
        served = (len(a.served()), len(b.served()), len(dead.served()))
        urls = [a.url, b.url, dead.url]
    assert served[0] > 0 and served[1] > 0 and served[2] == 0 and sum(served) == 4 * 3 + 2
    one, three = read_json(tmp_path / "one/results.json"), read_json(tmp_path / "three/results.json")
    transport = {"model": None, "adapter_info": None}
    assert strip(one) | transport == strip(three) | transport
    assert read_json(tmp_path / "three/run.json")["adapter_info"]["base_url"] == urls
