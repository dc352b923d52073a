"""Runs end to end through the CLI: logs and results, resume, refusal to mix, torn tails, SIGKILL, score."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from harness_fixtures import build_bench, write_model

from tvau_bench._io import iter_jsonl, read_json
from tvau_bench.cli import main
from tvau_bench.harness.run_log import row_schema_errors
from tvau_bench.harness.runner import results_from_log
from tvau_bench.harness.scoring import row_problems, score_rows
from tvau_bench.schemas import schema_errors

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    data, source = build_bench(base)
    model = write_model(base / "majority.yaml", "majority-test", "majority")
    return data, source, model


def run_cli(*args) -> int:
    return main(["run", *map(str, args)])


def strip(results: dict) -> dict:
    return {k: v for k, v in results.items() if k != "timings"}


def test_run_writes_log_rows_and_results(bench, tmp_path):
    data, _source, model = bench
    assert run_cli("--model", model, "--dataset", data, "--out", tmp_path) == 0
    rows = [r for _, r in iter_jsonl(tmp_path / "samples.jsonl")]
    results = read_json(tmp_path / "results.json")
    assert schema_errors(results, "results") == []
    assert len(rows) == results["n_samples"] == results["n_expected"] == 6 and results["complete"]
    for row in rows:
        assert set(row) >= {
            "sample_id",
            "video_id",
            "label",
            "fingerprint",
            "input_hash",
            "turns",
            "references",
            "scores",
        }
        assert row_schema_errors(row) == []  # the schema the leaderboard admits logs by
        assert [t["kind"] for t in row["turns"]] == (
            ["yes_no", "target", "trajectory"] if row["label"] == "Yes" else ["yes_no"]
        )
        assert row_problems(row) == []
    # the majority answers: training labels are mostly Yes, so 4 of 6 test samples are right
    assert results["yes_no_accuracy"] == pytest.approx(100 * 4 / 6)
    assert results["model"] == {"name": "majority-test", "hf_id": None, "revision": None}
    assert results["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert strip(results_from_log(tmp_path)) == strip(results)
    assert strip(score_rows(list(reversed(rows)))) == {k: results[k] for k in score_rows(rows)}


def test_rerun_skips_logged_samples_and_limit_extends(bench, tmp_path):
    data, _source, model = bench
    run_cli("--model", model, "--dataset", data, "--out", tmp_path, "--limit", "2")
    assert len(list(iter_jsonl(tmp_path / "samples.jsonl"))) == 2
    assert read_json(tmp_path / "results.json")["complete"] is False
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    res = read_json(tmp_path / "results.json")
    assert res["timings"]["samples_skipped"] == 2 and res["timings"]["samples_run"] == 4
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    assert read_json(tmp_path / "results.json")["timings"]["samples_run"] == 0
    assert len(list(iter_jsonl(tmp_path / "samples.jsonl"))) == 6


def test_changed_fingerprint_refuses_unless_new_run(bench, tmp_path, capsys):
    data, _source, model = bench
    run_cli("--model", model, "--dataset", data, "--out", tmp_path, "--limit", "2")
    assert run_cli("--model", model, "--dataset", data, "--out", tmp_path, "--history", "gold") == 2
    assert "refusing to mix" in capsys.readouterr().err
    assert (
        run_cli("--model", model, "--dataset", data, "--out", tmp_path, "--history", "gold", "--new-run") == 0
    )
    assert read_json(tmp_path / "results.json")["history"] == "gold"
    assert len(list((tmp_path / "archive").iterdir())) == 1
    other = write_model(tmp_path / "other.yaml", "other-model", "majority")
    assert run_cli("--model", other, "--dataset", data, "--out", tmp_path, "--history", "gold") == 2


def test_torn_last_line_is_cut_and_rerun(bench, tmp_path):
    data, _source, model = bench
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    full = read_json(tmp_path / "results.json")
    log = tmp_path / "samples.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3]) + lines[3][:40])  # a kill in the middle of the fourth append
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    assert len(list(iter_jsonl(log))) == 6
    assert strip(read_json(tmp_path / "results.json")) == strip(full)


def test_score_command_recomputes_from_the_log(bench, tmp_path, capsys):
    data, _source, model = bench
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    capsys.readouterr()
    assert main(["score", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert strip(printed) == strip(read_json(tmp_path / "results.json"))
    (tmp_path / "results.json").unlink()
    assert main(["score", str(tmp_path), "--write"]) == 0
    assert strip(read_json(tmp_path / "results.json")) == strip(printed)


def test_frame_decoding_needs_the_video_root(bench, tmp_path, capsys):
    data, source, _model = bench
    slow = write_model(tmp_path / "o.yaml", "o", "openai", adapter_args={"base_url": "http://127.0.0.1:9/v1"})
    assert run_cli("--model", slow, "--dataset", data, "--out", tmp_path / "r") == 2
    assert "--video-root" in capsys.readouterr().err
    assert (
        run_cli(
            "--model", slow, "--dataset", data, "--out", tmp_path / "r2", "--video-root", tmp_path / "nowhere"
        )
        == 2
    )
    assert "video root is not a folder" in capsys.readouterr().err
    assert run_cli("--model", slow, "--dataset", data, "--out", tmp_path / "r3", "--video-root", source) == 2
    assert "no server answers" in capsys.readouterr().err


def test_bad_model_config_names_the_field(tmp_path, bench, capsys):
    data, _source, _model = bench
    bad = write_model(tmp_path / "bad.yaml", "bad", "majority", shots=3)
    assert run_cli("--model", bad, "--dataset", data, "--out", tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "shots" in err
    unknown = write_model(tmp_path / "u.yaml", "u", "majority", adapter_args={"colour": "red"})
    assert run_cli("--model", unknown, "--dataset", data, "--out", tmp_path / "r") == 2
    assert "does not take ['colour']" in capsys.readouterr().err


def test_frame_reader_decodes_each_video_once_and_caps_resolution(bench, monkeypatch):
    from tvau_bench.errors import TvauError
    from tvau_bench.harness import frames as frames_mod
    from tvau_bench.harness.dataset import load_benchmark

    data, source, _model = bench
    bench_data = load_benchmark(data)
    calls = []
    real = frames_mod.iter_frames
    monkeypatch.setattr(
        frames_mod, "iter_frames", lambda path, idx: calls.append(list(idx)) or real(path, idx)
    )
    clips = [(s["video_id"], s["frame_indices"]) for s in bench_data.split("test")]
    reader = frames_mod.FrameReader(source, bench_data.videos, max_side=32)
    reader.plan(clips)
    got = [reader.read(v, idx) for v, idx in clips]
    assert len(calls) == len({v for v, _ in clips})  # one sequential pass per video
    assert all(img.shape == (24, 32, 3) and not img.flags.writeable for clip in got for img in clip)
    fresh = frames_mod.FrameReader(source, bench_data.videos, max_side=32)
    for (v, idx), clip in zip(clips, got, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(fresh.read(v, idx), clip, strict=True))
    evil = frames_mod.FrameReader(source, {"v": {"video_path": "../outside.mp4"}})
    with pytest.raises(TvauError, match="leaves the source root"):
        evil.read("v", [0])
    with pytest.raises(TvauError, match="ends before it"):
        fresh.read(clips[0][0], [999])


def test_score_warns_about_an_edited_log(bench, tmp_path, capsys):
    data, _source, model = bench
    run_cli("--model", model, "--dataset", data, "--out", tmp_path)
    log = tmp_path / "samples.jsonl"
    rows = [r for _, r in iter_jsonl(log)]
    rows[0]["turns"][0]["raw"] = "No" if rows[0]["turns"][0]["parsed"] == "Yes" else "Yes"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    capsys.readouterr()
    assert main(["score", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "samples.jsonl:1: warning: turn yes_no: parsed" in captured.err
    assert (
        json.loads(captured.out)["yes_no_accuracy"] != read_json(tmp_path / "results.json")["yes_no_accuracy"]
    )


def test_adapter_arg_overrides_parse_yaml_scalars_and_reject_malformed():
    from tvau_bench.errors import TvauError
    from tvau_bench.harness.cli import parse_adapter_args

    assert parse_adapter_args(["ckpt=models/ahd", "max_concurrency=4", "flag=true", "empty="]) == {
        "ckpt": "models/ahd",
        "max_concurrency": 4,
        "flag": True,
        "empty": "",
    }
    with pytest.raises(TvauError, match="KEY=VALUE"):
        parse_adapter_args(["novalue"])
