"""``tvau-bench sources info`` and ``sources tracks`` on hand-made roots of both layouts."""

from __future__ import annotations

import json

import pytest
from fixtures_sources import T_A, T_D, TRACKS_A, make_shanghaitech, make_ubnormal

from tvau_bench import cli
from tvau_bench.cli import main


@pytest.fixture(autouse=True)
def only_sources_area(monkeypatch):
    """The real entry point with only this area registered, so another area's work in progress cannot break
    these tests."""
    monkeypatch.setattr(cli, "AREAS", ("sources",))


@pytest.fixture(scope="module")
def ub(tmp_path_factory):
    return make_ubnormal(tmp_path_factory.mktemp("cli_ub"))


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return make_shanghaitech(tmp_path_factory.mktemp("cli_st"), layout="HWT")


def test_info_text(ub, capsys):
    assert main(["sources", "info", str(ub)]) == 0
    out = capsys.readouterr().out
    assert "layout: ubnormal" in out and "problems: 0" in out
    assert "regions" in out and "split lists read from" in out


def test_info_json(st, capsys):
    assert main(["sources", "info", str(st), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["layout"] == "shanghaitech" and rep["problems"] == []
    assert rep["counts"]["test"]["videos"] == 2 and rep["counts"]["test"]["pixel_masks_hwt"] == 2
    assert any("(H, W, T)" in n for n in rep["notes"])


def test_info_strict_and_error_exit(ub, tmp_path, capsys):
    assert main(["sources", "info", str(tmp_path)]) == 2
    assert "cannot tell the layout" in capsys.readouterr().err
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "abnormal_test_video_names.txt").write_text("abnormal_scene_3_scenario_1")
    assert (
        main(["sources", "info", str(tmp_path), "--strict"]) == 1
    )  # listed videos missing, no Scene folders
    out = capsys.readouterr().out
    assert "no Scene{N} folders" in out and "not on disk" in out


def test_tracks_ubnormal(ub, tmp_path, capsys):
    out_dir = tmp_path / "tracks"
    assert main(["sources", "tracks", str(ub), "--split", "train", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    assert f"total frames: {T_A + 6}" in captured.out
    assert "skipped 1 abnormal frame" in captured.err
    files = sorted(p.name for p in out_dir.iterdir())
    assert files == ["abnormal_scene_1_scenario_1.txt"]  # only abnormal videos
    rows = [list(map(int, line.split(","))) for line in (out_dir / files[0]).read_text().splitlines()]
    assert len(rows) == sum(e - s + 1 for _, s, e in TRACKS_A) - 1
    assert {r[0] for r in rows} == {0, 1, 2} and all(len(r) == 6 for r in rows)
    assert main(["sources", "tracks", str(ub), "--out", str(tmp_path / "t2")]) == 0
    assert f"total frames: {T_D}" in capsys.readouterr().out


def test_tracks_shanghaitech(st, tmp_path, capsys):
    out_dir = tmp_path / "tracks"
    assert main(["sources", "tracks", str(st), "--split", "test", "--out", str(out_dir)]) == 0
    assert "total frames: 17" in capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == ["01_0001.txt", "04_0011.txt"]
    first = (out_dir / "01_0001.txt").read_text().splitlines()[0]
    assert first == "0,2,9,10,19,20"
