"""``metrics region`` with detections and tracks files whose names do not pair up: warned with the names and
listed in the JSON (an error under --strict), not silently scored RBDC = TBDC = 0."""

from __future__ import annotations

import json

import pytest

from tvau_bench import cli
from tvau_bench.cli import main


@pytest.fixture(autouse=True)
def only_metrics_area(monkeypatch):
    monkeypatch.setattr(cli, "AREAS", ("metrics",))


@pytest.fixture
def folders(tmp_path):
    tracks, dets = tmp_path / "tracks", tmp_path / "det"
    tracks.mkdir()
    dets.mkdir()
    (tracks / "01_0014.txt").write_text("0,0,0,0,9,9\n0,1,0,0,9,9\n")
    (tracks / "01_0015.txt").write_text("0,2,5,5,15,15\n")
    return tracks, dets


def _region(tracks, dets, *extra) -> int:
    return main(
        [
            "metrics",
            "region",
            "--tracks",
            str(tracks),
            "--detections",
            str(dets),
            "--num-frames",
            "20",
            *extra,
        ]
    )


def test_misnamed_and_missing_detection_files_are_named(folders, capsys):
    tracks, dets = folders
    (dets / "01_0014_dets.txt").write_text("0,0,0,9,9,0.9\n1,0,0,9,9,0.8\n")  # should be 01_0014.txt
    assert _region(tracks, dets, "--json") == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["rbdc"] == out["tbdc"] == 0
    assert out["videos_without_tracks"] == ["01_0014_dets"]
    assert out["videos_without_detections"] == ["01_0014", "01_0015"]
    assert "warning: 2 tracks file(s)" in captured.err and "missed: 01_0014, 01_0015" in captured.err
    assert "warning: 1 detections file(s)" in captured.err and "01_0014_dets" in captured.err

    assert _region(tracks, dets, "--json", "--strict") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "metrics: error: 2 tracks file(s)" in captured.err
    assert "01_0015" in captured.err and "01_0014_dets" in captured.err


def test_paired_files_and_declared_normal_videos_pass_strict(folders, capsys):
    tracks, dets = folders
    (dets / "01_0014.txt").write_text("0,0,0,9,9,0.9\n1,0,0,9,9,0.8\n")
    (dets / "01_0015.txt").write_text("")  # nothing detected: an empty file says so
    (dets / "01_0001.txt").write_text("3,0,0,5,5,0.95\n")  # a normal video ...
    (tracks / "01_0001.txt").write_text("")  # ... declared by an empty tracks file
    assert _region(tracks, dets, "--json", "--strict") == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["videos_without_tracks"] == out["videos_without_detections"] == []
    assert out["num_false_positives"] == 1 and out["rbdc"] > 0 and "warning" not in captured.err
