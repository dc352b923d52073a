"""Measured rows: real harness runs of offline baselines admitted, rendered beside the paper, tampering refused.

The datasets are small annotation-output folders (``samples.jsonl``) named like the two sources, so that one
model's runs fill both the ShanghaiTech and UBnormal columns. Runs go through the real runner and adapters.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tvau_bench._io import iter_jsonl, read_json, sha256_json, write_json, write_jsonl
from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.harness.adapters.base import Adapter, SampleContext
from tvau_bench.harness.dataset import load_benchmark
from tvau_bench.harness.model_config import load_model_config, model_config_from_dict
from tvau_bench.harness.runner import RunOptions, results_from_log, run
from tvau_bench.harness.scoring import parse_answer, sample_scores
from tvau_bench.leaderboard.render import render
from tvau_bench.leaderboard.store import add_run, dataset_family, dataset_group, load_stored, log_chain

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = {
    "yes_no": "Is there an abnormal event in this video? Answer Yes or No.",
    "target": "Describe the appearance of the anomalous target.",
    "trajectory": "Describe the motion trajectory of the anomalous target.",
}
COLOURS = ["red", "blue", "green", "white", "black", "grey"]
MOVES = [
    "enters from the left and walks right",
    "runs toward the upper-right corner",
    "stops, then turns back",
]


def _sample(vid: str, split: str, k: int, abnormal: bool) -> dict[str, Any]:
    start = 8 * k
    sid = f"{vid}:{start}-{start + 7}" + (":1" if abnormal else "")
    dialogue = [
        {"turn": 1, "kind": "yes_no", "question": QUESTIONS["yes_no"], "answer": "Yes" if abnormal else "No"}
    ]
    if abnormal:
        colour, move = COLOURS[(k + len(vid)) % len(COLOURS)], MOVES[k % len(MOVES)]
        dialogue += [
            {
                "turn": 2,
                "kind": "target",
                "question": QUESTIONS["target"],
                "answer": f"A person in a {colour} top and dark trousers carrying a bag.",
            },
            {
                "turn": 3,
                "kind": "trajectory",
                "question": QUESTIONS["trajectory"],
                "answer": f"The person {move} and exits.",
            },
        ]
    return {
        "sample_id": sid,
        "video_id": vid,
        "split": split,
        "start_frame": start,
        "end_frame": start + 7,
        "frame_indices": list(range(start, start + 8)),
        "label": "Yes" if abnormal else "No",
        "target_id": f"{vid}:1" if abnormal else None,
        "dialogue": dialogue,
    }


def make_dataset(folder: Path, n_test: int = 10) -> Path:
    """A benchmark folder: 6 train samples (4 abnormal) and ``n_test`` test samples (about 60% abnormal)."""
    train = [_sample("train_video_a", "train", k, abnormal=k % 3 != 0) for k in range(6)]
    test = [_sample(f"test_video_{k % 3}", "test", k, abnormal=k % 5 < 3) for k in range(n_test)]
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "samples.jsonl", train + test)
    return folder


class ScriptedAdapter(Adapter):
    """A deterministic 'model': right on most Yes/No turns, descriptions that overlap the references in part.

    It is handed the dataset's answers here, by the test: the runner gives a non-oracle adapter none."""

    needs_images = False

    def __init__(self, config, dataset: Path) -> None:
        super().__init__(config)
        self.gold = {s["sample_id"]: s for _, s in iter_jsonl(Path(dataset) / "samples.jsonl")}

    def generate(self, messages, ctx: SampleContext) -> str:
        sample = self.gold[ctx.sample["sample_id"]]
        gold = {d["kind"]: d["answer"] for d in sample["dialogue"]}
        flip = sum(map(ord, sample["sample_id"])) % 4 == 0
        if ctx.kind == "yes_no":
            other = "No" if sample["label"] == "Yes" else "Yes"
            return f"{other if flip else sample['label']}, I think so."
        words = gold[ctx.kind].split()
        return " ".join(words[: max(3, len(words) - 3)])


def scripted_config():
    return model_config_from_dict(
        {"name": "scripted", "display_name": "Scripted (test)", "adapter": "replay"}
    )


def do_run(config, dataset: Path, out: Path, adapter: Adapter | None = None, **kw) -> Path:
    run(config, RunOptions(dataset=str(dataset), out=out, **kw), adapter=adapter)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """Two datasets (UB and ST named), majority and scripted runs on each, and an empty leaderboard root."""
    base = tmp_path_factory.mktemp("world")
    ub = make_dataset(base / "synth-ubnormal")
    st = make_dataset(base / "synth-shanghaitech", n_test=8)
    majority = load_model_config(REPO / "baselines" / "majority.yaml")
    scripted = scripted_config()
    runs = {
        "majority-ub": do_run(majority, ub, base / "runs" / "majority-ub"),
        "majority-st": do_run(majority, st, base / "runs" / "majority-st"),
        "scripted-ub": do_run(scripted, ub, base / "runs" / "scripted-ub", ScriptedAdapter(scripted, ub)),
        "scripted-st": do_run(scripted, st, base / "runs" / "scripted-st", ScriptedAdapter(scripted, st)),
    }
    return {"base": base, "ub": ub, "st": st, **runs}


def fresh_root(tmp_path: Path) -> Path:
    """A new leaderboard folder holding only the reported tables."""
    n = len(list(tmp_path.glob("leaderboard*")))
    root = tmp_path / f"leaderboard{n}"
    shutil.copytree(REPO / "leaderboard" / "reported", root / "reported")
    return root


def copy_run(src: Path, tmp_path: Path, name: str = "run") -> Path:
    dest = tmp_path / name
    shutil.copytree(src, dest)
    return dest


def rewrite_log(rundir: Path, edit) -> None:
    rows = [row for _, row in iter_jsonl(rundir / "samples.jsonl")]
    write_jsonl(rundir / "samples.jsonl", edit(rows))


def rescore(rundir: Path) -> None:
    """What a careful forger does after editing answers: fix parsed/scores and recompute results.json."""
    rows = [row for _, row in iter_jsonl(rundir / "samples.jsonl")]
    for row in rows:
        for t in row["turns"]:
            t["parsed"] = parse_answer(t["kind"], t["raw"])
        row["scores"] = sample_scores(row["turns"], row["references"])
    write_jsonl(rundir / "samples.jsonl", rows)
    results = read_json(rundir / "results.json")
    results.update({k: v for k, v in results_from_log(rundir).items() if k != "timings"})
    write_json(rundir / "results.json", results)


# --- admission and rendering ------------------------------------------------------------------------------------


def test_add_and_render_measured_rows_beside_reported(world, tmp_path):
    root = fresh_root(tmp_path)
    for key, ds in (
        ("majority-ub", "ub"),
        ("majority-st", "st"),
        ("scripted-ub", "ub"),
        ("scripted-st", "st"),
    ):
        dest = add_run(world[key], root=root, dataset=world[ds])
        assert (dest / "evidence.json").is_file()
    assert sorted(p.name for p in (root / "results").iterdir()) == ["synth-shanghaitech", "synth-ubnormal"]
    render(root)
    rows = list(csv.DictReader((root / "dialogue.csv").read_text(encoding="utf-8").splitlines()))
    measured = {r["method"]: r for r in rows if r["status"] == "measured"}
    # Display names come from baselines/NAME.yaml; a model without one shows its name.
    assert set(measured) == {"Majority answer (offline)", "scripted"}
    assert sum(r["status"] == "reported (paper)" for r in rows) == 7
    for r in measured.values():
        for fam in ("ST", "UB"):
            for metric in ("Target", "Trajectory", "Yes/No"):
                head = f"{metric} ({fam}) ↑"
                assert r[head] != "--" and r[f"{head} ci95_lo"] and r[f"{head} ci95_hi"]
                lo, value, hi = (
                    float(r[f"{head} ci95_lo"]),
                    float(r[head].rstrip("%")),
                    float(r[f"{head} ci95_hi"]),
                )
                assert lo - 0.01 <= value <= hi + 0.01  # the printed value is rounded to 2 decimals
    # The scripted model is right on most Yes/No turns; majority answers Yes (the train prior) everywhere.
    assert float(measured["scripted"]["Yes/No (UB) ↑"].rstrip("%")) > 50
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "measured on synth-shanghaitech + synth-ubnormal (test, 1-shot, history own" in readme
    assert "| **" in readme and "## Measured runs" in readme
    assert (root / "dialogue.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_is_deterministic_and_reads_logs_not_results(world, tmp_path):
    root = fresh_root(tmp_path)
    add_run(world["scripted-ub"], root=root, dataset=world["ub"])
    render(root, tmp_path / "a")
    # Corrupt the stored aggregate: rendering must not read it, so the output cannot change.
    stored = next((root / "results").glob("*/*"))
    results = read_json(stored / "results.json")
    results["yes_no_accuracy"] = 100.0
    write_json(stored / "results.json", results)
    render(root, tmp_path / "b")
    for name in ("README.md", "tables.tex", "dialogue.csv", "detection.csv", "ablation.csv", "dialogue.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_cli_add_render_and_idempotent_re_add(world, tmp_path, capsys):
    root = fresh_root(tmp_path)
    args = [
        "leaderboard",
        "add",
        str(world["majority-ub"]),
        "--root",
        str(root),
        "--dataset",
        str(world["ub"]),
    ]
    assert main(args) == 0
    assert main(args) == 0  # the same run again: nothing changes
    other = [
        "leaderboard",
        "add",
        str(world["scripted-ub"]),
        "--root",
        str(root),
        "--dataset",
        str(world["ub"]),
    ]
    assert main(other) == 0
    assert main(["leaderboard", "render", "--root", str(root)]) == 0
    assert "| scripted |" in (root / "README.md").read_text(encoding="utf-8")


def test_replacing_a_stored_run_needs_replace(world, tmp_path):
    root = fresh_root(tmp_path)
    add_run(world["majority-ub"], root=root, dataset=world["ub"])
    other = copy_run(world["majority-ub"], tmp_path)
    man = read_json(other / "results.json")
    man["timings"] = {"wall_s": 123.0}  # same evidence in the log, a different results.json file
    write_json(other / "results.json", man)
    with pytest.raises(TvauError, match="already holds another run"):
        add_run(other, root=root, dataset=world["ub"])
    add_run(other, root=root, dataset=world["ub"], replace=True)


# --- tampering ----------------------------------------------------------------------------------------------------


def _first_abnormal(rows):
    return next(r for r in rows if r["label"] == "Yes")


def test_refuses_edited_answer(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)

    def edit(rows):
        _first_abnormal(rows)["turns"][1]["raw"] = "A completely different description."
        return rows

    rewrite_log(run_dir, edit)
    with pytest.raises(TvauError, match=r"samples.jsonl:\d+: .*parsed"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_edited_answer_even_with_rescored_lines(world, tmp_path):
    """Parsed answers and per-sample scores made consistent, results.json left alone: the recomputation differs."""
    run_dir = copy_run(world["majority-ub"], tmp_path)

    def edit(rows):
        for r in rows:
            ref = r["references"]["yes_no"]
            r["turns"][0]["raw"] = ref
            r["turns"][0]["parsed"] = ref
            r["scores"] = sample_scores(r["turns"], r["references"])
        return rows

    rewrite_log(run_dir, edit)
    with pytest.raises(TvauError, match=r"results\.json: yes_no_accuracy"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_dropped_line(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    rewrite_log(run_dir, lambda rows: rows[:3] + rows[4:])
    with pytest.raises(TvauError, match="incomplete: 1 of 10 samples missing"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])
    rescore(run_dir)  # even with results.json recomputed from the shortened log
    with pytest.raises(TvauError, match="incomplete"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_duplicated_line(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    rewrite_log(run_dir, lambda rows: [*rows, rows[0]])
    with pytest.raises(TvauError, match="logged twice"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_changed_fingerprint_in_one_line(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)

    def edit(rows):
        rows[2]["fingerprint"] = "0" * 64
        return rows

    rewrite_log(run_dir, edit)
    with pytest.raises(TvauError, match=r"samples.jsonl:3: fingerprint: fingerprint 000000000000 differs"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_changed_fingerprint_everywhere(world, tmp_path):
    """A consistent forgery (run.json, every line, results.json) fails the fingerprint recomputation."""
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    fake = sha256_json("forged")

    def edit(rows):
        for r in rows:
            r["fingerprint"] = fake
        return rows

    rewrite_log(run_dir, edit)
    for name in ("run.json", "results.json"):
        obj = read_json(run_dir / name)
        obj["fingerprint"] = fake
        write_json(run_dir / name, obj)
    with pytest.raises(TvauError, match=r"run\.json: fingerprint: .*does not match"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_settings_edited_to_look_comparable(world, tmp_path):
    """Claiming one-shot for a zero-shot run (or any protocol edit) breaks the fingerprint check."""
    scripted = scripted_config()
    run_dir = do_run(
        scripted, world["ub"], tmp_path / "zero", ScriptedAdapter(scripted, world["ub"]), shots=0
    )
    man = read_json(run_dir / "run.json")
    man["protocol"]["shots"] = 1
    write_json(run_dir / "run.json", man)
    with pytest.raises(TvauError, match="does not match"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_other_protocol_version_and_partial_runs(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    man = read_json(run_dir / "run.json")
    man["protocol_version"] = "0"
    write_json(run_dir / "run.json", man)
    with pytest.raises(TvauError, match="protocol version '0'"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])
    scripted = scripted_config()
    part = do_run(scripted, world["ub"], tmp_path / "part", ScriptedAdapter(scripted, world["ub"]), limit=4)
    with pytest.raises(TvauError, match="incomplete: 6 of 10"):
        add_run(part, root=fresh_root(tmp_path), dataset=world["ub"])


def test_refuses_edited_reference_and_malformed_line(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)

    def edit(rows):
        row = _first_abnormal(rows)
        row["references"]["target"] = row["turns"][1]["raw"]  # make the answer "perfect"
        row["scores"] = sample_scores(row["turns"], row["references"])
        return rows

    rewrite_log(run_dir, edit)
    with pytest.raises(TvauError, match="references differ from the dataset"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])
    run_dir2 = copy_run(world["scripted-ub"], tmp_path, "run2")

    def drop_field(rows):
        del rows[1]["scores"]
        return rows

    rewrite_log(run_dir2, drop_field)
    with pytest.raises(TvauError, match=r"samples.jsonl:2: 'scores' is a required property"):
        add_run(run_dir2, root=fresh_root(tmp_path), dataset=world["ub"])


def test_render_refuses_a_stored_log_edited_after_admission(world, tmp_path):
    root = fresh_root(tmp_path)
    dest = add_run(world["scripted-ub"], root=root, dataset=world["ub"])
    load_stored(dest)  # intact
    text = (dest / "samples.jsonl").read_text(encoding="utf-8")
    (dest / "samples.jsonl").write_text(text.replace('"raw":"Yes', '"raw":"No', 1), encoding="utf-8")
    with pytest.raises(TvauError, match="changed since it was admitted"):
        render(root)
    assert main(["leaderboard", "render", "--root", str(root)]) == 2


def test_add_errors_name_the_problem_for_missing_files(tmp_path, world):
    with pytest.raises(TvauError, match="run folder not found"):
        add_run(tmp_path / "nope", root=fresh_root(tmp_path), dataset=world["ub"])
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    (run_dir / "results.json").unlink()
    with pytest.raises(TvauError, match=r"results\.json missing"):
        add_run(run_dir, root=fresh_root(tmp_path), dataset=world["ub"])


# --- pure helpers -------------------------------------------------------------------------------------------------


def test_dataset_family_and_group():
    assert dataset_family("tvau/ubnormal-fg") == "UB"
    assert dataset_family("tvau/shanghaitech-fg") == "ST"
    assert dataset_family("other") is None
    assert dataset_group("tvau/ubnormal-fg") == dataset_group("tvau/shanghaitech-fg") == "tvau/*-fg"


def test_log_chain_depends_on_every_line_and_order():
    rows = [{"a": 1}, {"a": 2}]
    assert log_chain(rows) != log_chain(rows[::-1])
    assert log_chain(rows) != log_chain(rows[:1])
    assert log_chain(rows) == log_chain([dict(r) for r in rows])


def test_dataset_loads_as_the_harness_sees_it(world):
    data = load_benchmark(world["ub"])
    assert data.name == "synth-ubnormal" and len(data.split("test")) == 10
    assert json.loads((world["scripted-ub"] / "run.json").read_text())["dataset"] == "synth-ubnormal"


def test_add_needs_the_runs_own_dataset(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run.json records the folder's absolute path: found from anywhere
    assert read_json(world["scripted-ub"] / "run.json")["dataset_origin"] == str(world["ub"].resolve())
    assert add_run(world["scripted-ub"], root=fresh_root(tmp_path)).is_dir()
    moved = copy_run(world["scripted-ub"], tmp_path, "moved")  # the dataset is no longer where it was
    write_json(
        moved / "run.json", {**read_json(moved / "run.json"), "dataset_origin": str(tmp_path / "gone")}
    )
    with pytest.raises(TvauError, match="pass --dataset"):
        add_run(moved, root=fresh_root(tmp_path))
    with pytest.raises(TvauError, match="the run used dataset 'synth-ubnormal', not 'synth-shanghaitech'"):
        add_run(world["scripted-ub"], root=fresh_root(tmp_path), dataset=world["st"])
    assert add_run(moved, root=fresh_root(tmp_path), dataset=world["ub"]).is_dir()


def test_a_partial_submission_is_admitted_only_marked_partial(world, tmp_path, capsys):
    ids = [s["sample_id"] for s in load_benchmark(world["ub"]).split("test")]
    pred = tmp_path / "pred.jsonl"
    answer = {"yes_no": "Yes", "target": "A person.", "trajectory": "Moves left."}
    pred.write_text("".join(json.dumps({"sample_id": i, "answers": answer}) + "\n" for i in ids[2:]))
    out = tmp_path / "mine"
    argv = ["submit", str(pred), "--dataset", str(world["ub"]), "--out", str(out), "--name", "mine"]
    assert main([*argv, "--allow-missing"]) == 0
    assert read_json(out / "results.json")["complete"] is False
    root = fresh_root(tmp_path)
    assert main(["leaderboard", "add", str(out), "--root", str(root)]) == 2
    assert f"partial: 2 of {len(ids)} samples have no answers" in capsys.readouterr().err
    assert main(["leaderboard", "add", str(out), "--root", str(root), "--partial"]) == 0
    assert read_json(root / "results" / "synth-ubnormal" / "mine" / "evidence.json")["n_missing"] == 2
    render(root)
    assert "| mine (partial) |" in (root / "README.md").read_text(encoding="utf-8")


def test_an_interrupted_run_is_told_to_resume(world, tmp_path):
    run_dir = copy_run(world["scripted-ub"], tmp_path)
    (run_dir / "results.json").unlink()  # a run killed before its last write
    with pytest.raises(TvauError, match=r"the run did not finish.*rerun the same `tvau-bench run`"):
        add_run(run_dir, root=fresh_root(tmp_path))


def test_render_refuses_a_log_forged_with_fresh_evidence(world, tmp_path):
    """Editing an answer and rewriting evidence.json to match still fails the per-line raw-answer check."""
    from tvau_bench._io import sha256_file

    root = fresh_root(tmp_path)
    dest = add_run(world["scripted-ub"], root=root, dataset=world["ub"])
    rows = [row for _, row in iter_jsonl(dest / "samples.jsonl")]
    rows[0]["turns"][0]["raw"] = "Maybe."
    write_jsonl(dest / "samples.jsonl", rows)
    ev = read_json(dest / "evidence.json")
    ev["files"]["samples.jsonl"] = sha256_file(dest / "samples.jsonl")
    ev["log_chain"] = log_chain(rows)
    write_json(dest / "evidence.json", ev)
    with pytest.raises(TvauError, match=r"samples.jsonl:1: .*parsed"):
        render(root)


def test_runs_on_unrecognised_datasets_are_left_out_with_a_warning(world, tmp_path):
    from tvau_bench.errors import TvauWarning
    from tvau_bench.harness.scoring import score_rows
    from tvau_bench.leaderboard.render import group_measured

    root = fresh_root(tmp_path)
    dest = add_run(world["scripted-ub"], root=root, dataset=world["ub"])
    run = load_stored(dest)
    run.family, run.dataset = None, "elsewhere"
    with pytest.warns(TvauWarning, match="names neither ShanghaiTech nor UBnormal"):
        assert group_measured([run], score_rows) == []
