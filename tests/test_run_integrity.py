"""Benchmark integrity: rows logged as samples finish, one process per run folder, hostile submission text."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from harness_fixtures import VIDEOS, build_bench, records, write_model
from loopback_openai import LoopbackServer
from test_harness_openai import PROMPTS, model_for, query_images, scripted, square_colour

from tvau_bench._io import iter_jsonl, read_json
from tvau_bench._lock import folder_lock
from tvau_bench.cli import main
from tvau_bench.errors import EXCERPT_CHARS
from tvau_bench.harness.runner import _execute

KINDS = ("yes_no", "target", "trajectory")
TEST_SAMPLES = [s for s in records()[0] if s["split"] == "test"]
COLOUR = {v[0]: v[3] for v in VIDEOS}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return build_bench(tmp_path_factory.mktemp("bench"))


def run_args(model: Path, data: Path, source: Path, out: Path) -> list[str]:
    return [
        "run",
        "--model",
        str(model),
        "--dataset",
        str(data),
        "--video-root",
        str(source),
        "--out",
        str(out),
    ]


def start_run(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "TVAU_NO_PROGRESS": "1"}
    cmd = [sys.executable, "-m", "tvau_bench.cli", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.02)


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


class Gate:
    """A scripted model whose answers to one video's samples, from one turn on, wait until released."""

    def __init__(self, colour: str, kind: str) -> None:
        self.colour, self.kind, self.open = colour, kind, threading.Event()

    def __call__(self, body: dict) -> str:
        question = body["messages"][-1]["content"][-1]["text"]
        if square_colour(query_images(body)[0]) == self.colour and question == PROMPTS.question(self.kind):
            self.open.wait(30)
        return scripted(body)


def chat_bodies(srv: LoopbackServer) -> list[dict]:
    return [e.body for e in srv.log if e.path.endswith("/chat/completions")]


# --- 2: every finished sample is logged at once --------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
def test_execute_sinks_each_result_as_it_finishes(workers):
    release, sunk = threading.Event(), []

    def fn(item):
        if item == 3:
            release.wait(10)
        return item

    worker = threading.Thread(
        target=_execute, args=(fn, list(range(12)), workers, sunk.append), kwargs={"desc": "t"}
    )
    worker.start()
    before = [0, 1, 2] if workers == 1 else [i for i in range(12) if i != 3]  # one worker waits in order
    deadline = time.monotonic() + 10
    while sorted(sunk) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(sunk) == before, f"sunk {sorted(sunk)} while item 3 was still running"
    release.set()
    worker.join(10)
    assert sorted(sunk) == list(range(12))


@pytest.mark.parametrize("seed", [0, 1])
def test_kill_with_concurrency_4_keeps_finished_samples_and_resume_sends_only_the_rest(bench, tmp_path, seed):
    """One video's samples hang at a random turn; the others finish and must be in the log before the kill."""
    data, source = bench
    rng = random.Random(seed)
    colour = rng.choice(["yellow", "red", "green"])  # the test videos' squares
    kind = "yes_no" if colour == "green" else rng.choice(KINDS)  # green is normal: one turn
    hung = {s["sample_id"] for s in TEST_SAMPLES if COLOUR[s["video_id"]] == colour}
    out = tmp_path / "run"
    gate = Gate(colour, kind)
    with LoopbackServer(gate, check_shape=False) as srv:
        model = model_for(tmp_path / "m.yaml", srv.url, max_concurrency=4, timeout_s=60)
        proc = start_run(run_args(model, data, source, out))
        try:
            wait_for(
                lambda: lines(out / "samples.jsonl") >= len(TEST_SAMPLES) - len(hung), proc, "finished rows"
            )
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            gate.open.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    logged = {r["sample_id"] for _, r in iter_jsonl(out / "samples.jsonl")}
    assert logged == {s["sample_id"] for s in TEST_SAMPLES} - hung and not (out / "results.json").exists()

    with LoopbackServer(scripted, check_shape=False) as srv:
        model = model_for(tmp_path / "m.yaml", srv.url, max_concurrency=4, timeout_s=60)
        assert main(run_args(model, data, source, out)) == 0
        resent = chat_bodies(srv)
    # exactly the turns of the samples not logged, and no request of a logged sample
    assert len(resent) == sum(len(s["dialogue"]) for s in TEST_SAMPLES if s["sample_id"] in hung)
    assert {square_colour(query_images(b)[0]) for b in resent} == {colour}
    res = read_json(out / "results.json")
    assert res["complete"] and res["timings"]["samples_skipped"] == len(TEST_SAMPLES) - len(hung)
    assert res["yes_no_accuracy"] == 100.0


# --- 3: one process per run folder and per leaderboard --------------------------------------------------------


def test_second_process_on_a_run_folder_is_refused_with_the_holders_pid(bench, tmp_path, capsys):
    data, source = bench
    out = tmp_path / "run"
    gate = Gate("red", "target")
    with LoopbackServer(gate, check_shape=False) as slow, LoopbackServer(scripted, check_shape=False) as fast:
        first = start_run(run_args(model_for(tmp_path / "a.yaml", slow.url, timeout_s=60), data, source, out))
        try:
            wait_for(lambda: chat_bodies(slow), first, "a request of the first run")  # it is running
            second = model_for(tmp_path / "b.yaml", fast.url, max_concurrency=4)
            capsys.readouterr()
            assert main(run_args(second, data, source, out)) == 2
            assert main(["score", str(out)]) == 2
            errors = capsys.readouterr().err.splitlines()
            assert len(errors) == 2 and all(
                f"another tvau-bench process (pid {first.pid})" in e for e in errors
            )
            assert chat_bodies(fast) == []  # refused before any request
            os.kill(first.pid, signal.SIGKILL)  # the kernel drops a dead holder's lock
            first.wait()
        finally:
            gate.open.set()
            if first.poll() is None:
                first.kill()
                first.wait()
        assert main(run_args(second, data, source, out)) == 0
    rows = [r["sample_id"] for _, r in iter_jsonl(out / "samples.jsonl")]
    assert sorted(rows) == sorted(s["sample_id"] for s in TEST_SAMPLES)  # each sample once


def test_leaderboard_add_and_render_are_refused_while_another_process_holds_the_root(tmp_path, capsys):
    root = tmp_path / "leaderboard"
    root.mkdir()
    code = "import sys, time\nfrom tvau_bench._lock import folder_lock\nwith folder_lock(sys.argv[1], 'x'):\n"
    code += "    print('held', flush=True)\n    time.sleep(60)\n"
    holder = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        capsys.readouterr()
        assert main(["leaderboard", "add", str(tmp_path / "somerun"), "--root", str(root)]) == 2
        assert main(["leaderboard", "render", "--root", str(root)]) == 2
        errors = capsys.readouterr().err.splitlines()
        assert len(errors) == 2 and all(f"(pid {holder.pid})" in e for e in errors)
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(root, "leaderboard"):  # free again once the holder is gone
        pass


def _majority_run(bench, tmp_path) -> tuple[Path, Path, list[str]]:
    data, _source = bench
    model = write_model(tmp_path / "majority.yaml", "majority-test", "majority")
    out = tmp_path / "run"
    assert main(["run", "--model", str(model), "--dataset", str(data), "--out", str(out)]) == 0
    return out, model, (out / "samples.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)


def test_repair_keeps_the_first_copy_of_repeated_rows_and_refuses_copies_that_disagree(
    bench, tmp_path, capsys
):
    out, model, original = _majority_run(bench, tmp_path)
    log, clean = out / "samples.jsonl", read_json(out / "results.json")
    # what two processes appending to one log leave: the same answers again, other timings, interleaved
    again = [json.loads(line) | {"elapsed_s": 9.0} for line in original[:2]]
    log.write_text(
        "".join(original[:3] + [json.dumps(r) + "\n" for r in again] + original[3:]), encoding="utf-8"
    )
    capsys.readouterr()
    assert main(["score", str(out)]) == 2
    assert main(["run", "--model", str(model), "--dataset", str(bench[0]), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is logged twice (first at line 1, same answers)" in err and "--repair" in err
    assert main(["score", str(out), "--repair", "--write"]) == 0
    assert (
        log.read_text(encoding="utf-8").splitlines(keepends=True) == original
    )  # first copies, byte for byte
    repaired = read_json(out / "results.json")
    assert {k: v for k, v in repaired.items() if k != "timings"} == {
        k: v for k, v in clean.items() if k != "timings"
    }

    other = json.loads(original[0])
    other["turns"][0]["raw"] = "No." if other["turns"][0]["raw"] != "No." else "Yes."
    log.write_text("".join(original) + json.dumps(other) + "\n", encoding="utf-8")
    before = log.read_bytes()
    capsys.readouterr()
    assert main(["score", str(out), "--repair"]) == 2
    assert "different answers (lines 1 and 7)" in capsys.readouterr().err
    assert log.read_bytes() == before  # nothing dropped when no copy can be chosen


# --- 8: hostile submission text -------------------------------------------------------------------------------


def _answers(s: dict) -> dict:
    got = {d["kind"]: d["answer"] for d in s["dialogue"]}
    return {k: got.get(k) for k in KINDS}


def _submit(bench, tmp_path, lines_: list[str]) -> int:
    pred = tmp_path / "pred.jsonl"
    pred.write_text("\n".join(lines_) + "\n", encoding="utf-8")
    return main(["submit", str(pred), "--dataset", str(bench[0]), "--out", str(tmp_path / "sub")])


def test_lone_surrogate_in_a_submission_names_the_file_line_and_field(bench, tmp_path, capsys):
    rows = [json.dumps({"sample_id": s["sample_id"], "answers": _answers(s)}) for s in TEST_SAMPLES]
    rows[2] = rows[2].replace('"target": "', '"target": "\\ud800', 1)
    assert "\\ud800" in rows[2]
    capsys.readouterr()
    assert _submit(bench, tmp_path, rows) == 2
    err = capsys.readouterr().err.strip()
    assert "pred.jsonl:3: answers.target: holds a lone surrogate" in err and len(err.splitlines()) == 1


def test_error_messages_echo_at_most_an_excerpt_of_the_input(bench, tmp_path, capsys):
    good = [{"sample_id": s["sample_id"], "answers": _answers(s)} for s in TEST_SAMPLES]
    cases = {  # filler of the input -> its one line
        "}, {": [json.dumps(good * 12)],  # a whole file as one JSON array: 4.6 KB on one line
        "Yes": [json.dumps({**good[0], "answers": {**good[0]["answers"], "yes_no": "Yes" * 3000}})],
        "x": [json.dumps({**good[0], "sample_id": "x" * 60000})],
        "k": [json.dumps({**good[0], "k" * 5000: 1})],
    }
    for filler, rows in cases.items():
        capsys.readouterr()
        assert _submit(bench, tmp_path, rows) == 2, filler
        err = capsys.readouterr().err.strip()
        assert len(rows[0]) > 4000 and len(err.splitlines()) == 1 and "line is over" not in err, filler
        assert err.count(filler) * len(filler) <= EXCERPT_CHARS + 50, f"{filler!r}: {err}"
        assert len(err) < EXCERPT_CHARS + 300, f"{filler!r}: {len(err)} characters: {err}"
