"""Submissions: every malformed file is refused with a precise message; a valid one scores exactly as a run."""

from __future__ import annotations

import json

import pytest
from harness_fixtures import build_bench, records, write_model, write_predictions_from_log

from tvau_bench._io import iter_jsonl, read_json
from tvau_bench.cli import main
from tvau_bench.harness import submissions

SAMPLES, _ = records()
TEST_IDS = [s["sample_id"] for s in sorted(SAMPLES, key=lambda s: s["sample_id"]) if s["split"] == "test"]
METRICS = (
    "yes_no_accuracy",
    "yes_no_accuracy_ci95",
    "target_bleu4",
    "target_bleu4_ci95",
    "trajectory_bleu4",
    "trajectory_bleu4_ci95",
    "unknown_rate",
    "n_samples",
    "n_missing",
    "signature",
    "fingerprint",
)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return build_bench(tmp_path_factory.mktemp("bench"))


def line(sid, yes_no="Yes", target="A red square.", trajectory="Moves toward the left.", **extra) -> str:
    return json.dumps(
        {"sample_id": sid, "answers": {"yes_no": yes_no, "target": target, "trajectory": trajectory}, **extra}
    )


def valid_lines() -> list[str]:
    return [line(sid, "No" if sid.startswith("normal") else "Yes") for sid in TEST_IDS]


def submit(bench, tmp_path, text: str | bytes, *extra) -> int:
    data, _ = bench
    pred = tmp_path / "pred.jsonl"
    pred.write_bytes(text if isinstance(text, bytes) else text.encode())
    argv = ["submit", str(pred), "--dataset", str(data), "--out", str(tmp_path / "run"), "--name", "mine"]
    return main([*argv, *extra])


CASES = {
    "invalid_json": (lambda ls: [ls[0], "{not json", *ls[1:]], "pred.jsonl:2: invalid JSON"),
    "missing_answers": (
        lambda ls: [json.dumps({"sample_id": TEST_IDS[0]}), *ls[1:]],
        "pred.jsonl:1: <root>: 'answers' is a required property",
    ),
    "extra_field": (
        lambda ls: [*ls[:2], line(TEST_IDS[2], run="rm -rf /"), *ls[3:]],
        "pred.jsonl:3: <root>: Additional properties are not allowed ('run' was unexpected)",
    ),
    "wrong_type": (
        lambda ls: [line(TEST_IDS[0], yes_no=1), *ls[1:]],
        "pred.jsonl:1: answers.yes_no: 1 is not of type 'string'",
    ),
    "too_long": (
        lambda ls: [line(TEST_IDS[0], target="x" * 5000), *ls[1:]],
        "pred.jsonl:1: answers.target: ",
    ),
    "path_like_id": (
        lambda ls: [*ls, line("../../etc/passwd")],
        "pred.jsonl:7: sample_id: '../../etc/passwd' does not match",
    ),
    "unknown_id": (
        lambda ls: [*ls, line("abnormal_scene_9_scenario_9:0-7:1")],
        "pred.jsonl:7: sample_id: unknown sample_id 'abnormal_scene_9_scenario_9:0-7:1'",
    ),
    "train_id": (
        lambda ls: [*ls, line("normal_scene_1_scenario_3:0-7")],
        "pred.jsonl:7: sample_id: unknown sample_id 'normal_scene_1_scenario_3:0-7'",
    ),
    "duplicate_id": (
        lambda ls: [*ls, ls[1]],
        f"pred.jsonl:7: sample_id: duplicate sample_id {TEST_IDS[1]!r} (first on line 2)",
    ),
    "missing_ids": (lambda ls: ls[:4], "2 of 6 samples have no answers"),
    "nan": (
        lambda ls: [ls[0].replace('"Yes"', "NaN"), *ls[1:]],
        "pred.jsonl:1: invalid JSON: NaN is not valid JSON",
    ),
    "not_an_object": (lambda ls: ["[1, 2]", *ls[1:]], "pred.jsonl:1: <root>: [1, 2] is not of type 'object'"),
    "empty": (lambda ls: [], "6 of 6 samples have no answers"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_submission_is_refused_precisely(bench, tmp_path, capsys, case):
    change, message = CASES[case]
    assert submit(bench, tmp_path, "\n".join(change(valid_lines())) + "\n") == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "run" / "results.json").exists()


def test_non_utf8_and_size_limits(bench, tmp_path, capsys, monkeypatch):
    text = "\n".join(valid_lines()).encode()
    assert submit(bench, tmp_path, text.replace(b"Yes", b"Y\xffs", 1)) == 2
    assert "pred.jsonl:1: not valid UTF-8" in capsys.readouterr().err
    monkeypatch.setattr(submissions, "MAX_LINE_BYTES", 100)
    assert submit(bench, tmp_path, text) == 2
    assert "pred.jsonl:1: line is over the 100-byte limit" in capsys.readouterr().err
    monkeypatch.setattr(submissions, "MAX_FILE_BYTES", 50)
    assert submit(bench, tmp_path, text) == 2
    assert "over the 50-byte limit" in capsys.readouterr().err


def test_allow_missing_counts_them_wrong(bench, tmp_path):
    assert submit(bench, tmp_path, "\n".join(valid_lines()[:4]), "--allow-missing") == 0
    res = read_json(tmp_path / "run" / "results.json")
    assert res["n_missing"] == 2 and res["n_samples"] == 6 and res["complete"] is False
    rows = {r["sample_id"]: r for _, r in iter_jsonl(tmp_path / "run" / "samples.jsonl")}
    for sid in TEST_IDS[4:]:
        assert rows[sid]["missing"] and rows[sid]["scores"]["yes_no"] == "Unknown"
    assert res["unknown_rate"] == pytest.approx(2 / 6)


def test_a_submission_needs_a_name(bench, tmp_path, capsys):
    data, _ = bench
    (tmp_path / "pred.jsonl").write_text("\n".join(valid_lines()), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["submit", str(tmp_path / "pred.jsonl"), "--dataset", str(data), "--out", str(tmp_path / "run")])
    assert exc.value.code == 2 and "--name" in capsys.readouterr().err


def test_resubmitting_other_answers_refuses_to_mix(bench, tmp_path, capsys):
    assert submit(bench, tmp_path, "\n".join(valid_lines())) == 0
    other = [line(sid, "No") for sid in TEST_IDS]
    assert submit(bench, tmp_path, "\n".join(other)) == 2
    assert "refusing to mix" in capsys.readouterr().err
    assert submit(bench, tmp_path, "\n".join(other), "--new-run") == 0


def test_valid_submission_scores_exactly_as_the_replay_run(bench, tmp_path):
    data, _ = bench
    # answers of a real run (the majority baseline), exported as a submission
    base = write_model(tmp_path / "maj.yaml", "maj", "majority")
    assert main(["run", "--model", str(base), "--dataset", str(data), "--out", str(tmp_path / "maj")]) == 0
    pred = write_predictions_from_log(tmp_path / "maj" / "samples.jsonl", tmp_path / "pred.jsonl")
    assert (
        main(["submit", str(pred), "--dataset", str(data), "--out", str(tmp_path / "sub"), "--name", "maj"])
        == 0
    )
    replay = write_model(
        tmp_path / "replay.yaml", "replayed", "replay", adapter_args={"predictions": str(pred)}
    )
    assert main(["run", "--model", str(replay), "--dataset", str(data), "--out", str(tmp_path / "rep")]) == 0
    maj, sub, rep = (read_json(tmp_path / d / "results.json") for d in ("maj", "sub", "rep"))
    assert {k: sub[k] for k in METRICS} == {k: rep[k] for k in METRICS} == {k: maj[k] for k in METRICS}
    sub_rows = {r["sample_id"]: r for _, r in iter_jsonl(tmp_path / "sub" / "samples.jsonl")}
    rep_rows = {r["sample_id"]: r for _, r in iter_jsonl(tmp_path / "rep" / "samples.jsonl")}
    for sid, row in sub_rows.items():
        assert row["turns"] == rep_rows[sid]["turns"] and row["input_hash"] == rep_rows[sid]["input_hash"]
