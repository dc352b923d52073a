"""Acceptance on real UBnormal metadata: the official split lists, class pickle and train/val tracks files
reproduce the UBnormal paper's Table 1 counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvau_bench.sources import ubnormal
from tvau_bench.sources.pickle_safe import load_restricted

TRACKS = Path(__file__).parent / "data" / "ubnormal_tracks_train_val"
SHARED_TRACKS = Path("/work/shared/ubnormal-meta/tracks-train-val")
META = ubnormal.SHIPPED_META


def _lists() -> dict[str, list[str]]:
    return {
        k: ubnormal.parse_split_list((META / f"{k}_video_names.txt").read_text()) for k in ubnormal.LIST_KEYS
    }


def test_split_list_counts():
    counts = {k: len(v) for k, v in _lists().items()}
    assert counts == {
        "abnormal_training": 82,
        "normal_training": 186,
        "abnormal_validation": 38,
        "normal_validation": 26,
        "abnormal_test": 158,
        "normal_test": 53,
    }
    names = [n for v in _lists().values() for n in v]
    assert len(set(names)) == 543
    for name in names:  # every name maps to a scene folder
        assert ubnormal.scene_folder(name).startswith("Scene")


def test_official_lists_have_no_trailing_newline():
    for key in ubnormal.LIST_KEYS:
        assert not (META / f"{key}_video_names.txt").read_bytes().endswith(b"\n")


def test_class_pickle_restricted_load():
    classes = load_restricted(META / ubnormal.CLASS_PICKLE)
    assert len(classes) == 91
    assert all(type(k) is str for k in classes)  # numpy str_ keys rebuilt as plain str
    assert classes["abnormal_scene_7_scenario_4"] == {5: "car"}
    seen = {c for objs in classes.values() for c in objs.values()}
    assert seen == {
        "car",
        "bicycle",
        "motorcycle",
        "motocycle",
        "skateboard",
        "ambulance",
        "smoke",
        "policecar",
        "fire",
        "van",
    }


@pytest.mark.parametrize("folder", [TRACKS, SHARED_TRACKS])
def test_table1_counts_from_real_tracks(folder: Path):
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    lists = _lists()
    for split, key, videos, anomalies, regions in (
        ("train", "abnormal_training", 82, 195, 38_048),
        ("validation", "abnormal_validation", 38, 76, 21_321),
    ):
        rows = []
        for name in lists[key]:
            rows += ubnormal.read_tracks_file(folder / f"{name}_tracks.txt")
            assert (folder / f"{name}_tracks.txt").is_file()
        assert len(lists[key]) == videos, split
        assert len(rows) == anomalies, split
        assert sum(e - s + 1 for _, s, e in rows) == regions, split


def test_real_tracks_include_crlf_and_single_row_files():
    files = sorted(TRACKS.glob("*_tracks.txt"))
    assert len(files) == 120
    raw = [p.read_bytes() for p in files]
    assert any(b"\r\n" in r for r in raw)
    assert any(len(ubnormal.read_tracks_file(p)) == 1 for p in files)
