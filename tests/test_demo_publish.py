"""`tvau-bench demo --publish REPO`: the demo's runs refresh a clone's leaderboard/ and docs/, and the README's
demo figures are rendered from the published summary (so they are checked, not typed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_leaderboard_detection import make_detect_output

from tvau_bench import shipped
from tvau_bench._io import read_json, write_json
from tvau_bench.demo import pipeline, publish
from tvau_bench.demo.steps import cli
from tvau_bench.demo.summary import summary_lines
from tvau_bench.errors import TvauError
from tvau_bench.hub.export import export

REPO = Path(__file__).resolve().parents[1]
DETECT = {"micro_auc": 0.96351, "macro_auc": 0.99849, "rbdc": 0.55191, "tbdc": 0.85634}


def _fake_demo(out: Path, tiny_bench: Path) -> None:
    """A demo folder with one dialogue run (majority, on the tiny UBnormal-layout export) and one detect output."""
    hub = pipeline.hub_dir(out / "hub", "ubnormal")
    export(tiny_bench / "ann", hub, repo_id=pipeline.dataset_name("ubnormal"), check=False)
    run = out / "runs" / "ubnormal" / "majority"
    cli(
        [
            "run",
            "--model",
            "majority",
            "--dataset",
            str(hub),
            "--split",
            "test",
            "--shots",
            "1",
            "--out",
            str(run),
        ]
    )
    make_detect_output(out / "detect" / "ahd")
    (out / "figures").mkdir()
    for name in publish.FIGURES:
        (out / "figures" / name).write_bytes(b"png " + name.encode())
    summary = {"detect": {"ahd": DETECT}, "figures": {"anomaly_example": "/abs/path.png"}, "train": {"e": 1}}
    write_json(out / "summary.json", summary)


def test_publish_refreshes_leaderboard_and_docs_with_named_synthetic_rows(tiny_bench, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "DIALOGUE_RUNS", {"ubnormal": ("majority",)})
    monkeypatch.setattr(publish, "DETECT_METHODS", ("ahd",))
    out, repo = tmp_path / "demo_out", tmp_path / "clone"
    _fake_demo(out, tiny_bench)
    shutil.copytree(shipped.reported_dir(), repo / "leaderboard" / "reported")
    stale = repo / "leaderboard" / "results" / "synthetic-ubnormal" / "old"
    stale.mkdir(parents=True)
    written = publish.publish(out, repo)

    board = repo / "leaderboard"
    assert not stale.exists()  # results are replaced, not merged with an old demo's
    readme, tex = (board / "README.md").read_text(), (board / "tables.tex").read_text()
    # dialogue and detection rows alike name the synthetic export they ran on
    assert readme.count("measured on synthetic-ubnormal-fg (test") == 2
    assert "Majority answer" in readme and "toy-heatmaps" in readme
    assert "ubnormal-fg" not in readme.replace("synthetic-ubnormal-fg", "")
    assert tex.count(r"\textit{measured on synthetic-ubnormal-fg (test)}") == 2
    docs = repo / "docs"
    assert read_json(docs / publish.SUMMARY) == {"detect": {"ahd": DETECT}, "train": {"e": 1}}
    assert (docs / "trajectory_boxes.png").read_bytes() == b"png trajectory_boxes.png"
    assert docs / publish.SUMMARY in written
    # the committed leaderboard is what a render of its evidence gives: render again, same bytes
    before = {
        p.name: p.read_bytes()
        for p in board.iterdir()
        if p.is_file() and p.name in ("README.md", "tables.tex", "dialogue.csv", "detection.csv")
    }
    cli(["leaderboard", "render", "--root", str(board), "--out", str(tmp_path / "again")])
    assert before == {n: (tmp_path / "again" / n).read_bytes() for n in before}


def test_publish_needs_a_finished_demo_and_a_clone(tmp_path):
    with pytest.raises(TvauError, match="no finished demo"):
        publish.publish(tmp_path / "nothing", tmp_path)
    write_json(tmp_path / "demo" / "summary.json", {})
    with pytest.raises(TvauError, match="no leaderboard/ folder"):
        publish.publish(tmp_path / "demo", tmp_path / "elsewhere")


def test_readme_figures_render_the_detection_table():
    text = publish.readme_figures({"detect": {"ahd": DETECT, "classical": DETECT}})
    assert text.splitlines()[0] == "| method | micro AUC | macro AUC | RBDC | TBDC |"
    assert "| AHD | 0.9635 | 0.9985 | 0.5519 | 0.8563 |" in text
    assert "| classical (background/frame differencing) | 0.9635 |" in text
    with pytest.raises(TvauError, match="no detection figures"):
        publish.readme_figures({})


def test_readme_demo_figures_match_the_committed_demo_summary():
    path = REPO / "docs" / publish.SUMMARY
    if not path.is_file():
        pytest.skip(
            "docs/demo_summary.json not published yet: run `tvau-bench demo --out demo_out --publish .`"
        )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert publish.readme_figures(read_json(path)) in readme, (
        "README's demo table differs from docs/demo_summary.json: paste what `tvau-bench demo --publish .` prints"
    )


def test_summary_counts_targets_and_quarantine_notes_separately(tmp_path):
    from tvau_bench.demo.steps import StepResult

    report = {
        "counts": {"targets": 165, "quarantined_records": 102},
        "stages": {
            "stage3": {"verified": 164, "flagged": 1, "quarantined": 0},
            "quarantine_by_reason": {"stage3: appearance outlier": 101, "stage3: target flagged": 1},
        },
    }
    results = [
        StepResult("annotate", "annotate", {"ubnormal": {"report": report, "fidelity": {}}}, 1.0, False)
    ]
    text = "\n".join(summary_lines(tmp_path, results))
    line = "annotation (ubnormal): 165 targets: 164 verified, 1 flagged, 0 quarantined; "
    assert line + "notes in quarantine.jsonl: 101 appearance outlier" in text
    assert "102" not in text  # the record count never reads as a number of targets


def test_demo_exports_say_their_data_is_synthetic():
    for source in pipeline.SOURCES:
        name = pipeline.dataset_name(source)
        assert "synthetic" in name and source in name
        assert pipeline.hub_dir(Path("hub"), source).name == name.split("/")[1]
