"""`tvau-bench reproduce table3` end to end on the tiny benchmark (tiny sizes): one run folder per config with
the harness's files, the rendered table, runs admitted with the checkpoint's parameter count as their size, and
a rerun that reuses every finished step. Generation is capped at 4 new tokens (recorded in each run), so the
four tiny-LVLM runs take seconds."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared machine: one intra-op thread each (a second one only waits for cores the other
    test workers hold; measured 5x slower per tiny-LVLM forward under load)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_reproduce_table3_end_to_end_and_resumes(tiny_bench, tmp_path, capsys):
    from tvau_bench._io import iter_jsonl, read_json
    from tvau_bench.cli import main
    from tvau_bench.reproduce.pipeline import ABLATIONS

    out = tmp_path / "t3"
    args = [
        "reproduce",
        "table3",
        "--source",
        str(tiny_bench / "ubnormal"),
        "--dataset",
        str(tiny_bench / "hub"),
    ]
    args += [
        "--out",
        str(out),
        "--ahd-epochs",
        "1",
        "--ahd-steps",
        "2",
        "--rae-epochs",
        "1",
        "--frames",
        "2",
        "--max-new-tokens",
        "4",
        "--max-samples",
        "1",
    ]
    assert main(args) == 0
    for name in ABLATIONS:
        run = out / "runs" / name
        assert (run / "samples.jsonl").is_file() and (run / "results.json").is_file(), name
        ckpt = read_json(out / "models" / name / "config.json")
        params = ckpt["params"]
        assert ckpt["rae"]["loss"] == "answer"  # the default weighting, chosen on the validation split
        evidence = read_json(out / "leaderboard" / "results" / "hub" / name / "evidence.json")
        assert evidence["size_b"] == pytest.approx(params["total"] / 1e9)  # the Size column
        # the generation cap is the run's own setting: in its protocol (so its fingerprint) and its config
        assert read_json(run / "run.json")["protocol"]["generation"]["max_new_tokens"] == 4
        assert all(
            len(t["raw"].split()) <= 4 for _, r in iter_jsonl(run / "samples.jsonl") for t in r["turns"]
        )
    table = (out / "table3.md").read_text()
    assert "at most 4 new tokens" in table
    for row in ("| T-VAU |", "| T-VAU w/o AHD |", "| T-VAU w/o RAE |", "| T-VAU w/o AHD & RAE |"):
        assert row in table
    assert "Paired bootstrap" in table and "Reported (paper)" in table
    # the runs are admitted by `leaderboard add` into a fresh leaderboard too
    board = tmp_path / "board"
    assert (
        main(
            [
                "leaderboard",
                "add",
                str(out / "runs" / "tvau"),
                "--root",
                str(board),
                "--dataset",
                str(tiny_bench / "hub"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(args) == 0  # every step reused
    assert capsys.readouterr().out.count("done before, reused") == 13
    assert main([*args[:-1], "2"]) == 2  # other settings in the same folder are refused


@pytest.mark.parametrize(
    ("table", "runs", "detections", "reported"),
    [
        ("table1", [], ["classical", "ahd-1s", "ahd"], "Reported (paper): AHD (1S): Micro AUC"),
        ("table2", ["majority", "geometry-oracle", "ahd-template", "tvau"], [], "RAE (Ours): Size"),
    ],
)
def test_reproduce_tables_1_and_2_end_to_end(tiny_bench, tmp_path, table, runs, detections, reported):
    """Table 1 (detection: AHD FT and 1S beside the classical baseline) and Table 2 (dialogue: T-VAU beside the
    offline baselines) on the tiny benchmark: every row's run or detection folder, admitted and rendered."""
    from tvau_bench.cli import main

    out = tmp_path / table
    args = [
        "reproduce",
        table,
        "--source",
        str(tiny_bench / "ubnormal"),
        "--dataset",
        str(tiny_bench / "hub"),
    ]
    args += ["--out", str(out), "--ahd-epochs", "1", "--ahd-steps", "2", "--rae-epochs", "1", "--frames", "2"]
    args += ["--max-new-tokens", "4", "--max-samples", "1"]
    assert main(args) == 0
    for name in runs:
        assert (out / "runs" / name / "results.json").is_file(), name
    for name in detections:
        assert any((out / "leaderboard" / "results").glob(f"*/detection/{name}/evidence.json")), name
    text = (out / f"{table}.md").read_text(encoding="utf-8")
    assert reported in text  # the paper's figures beside the measured rows
    assert main(args) == 0  # a rerun reuses every finished step
