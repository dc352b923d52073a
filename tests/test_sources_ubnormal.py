"""UBnormal reader on a hand-made root: every quirk of FORMATS.md, and the writer -> reader round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fixtures_sources import (
    CLASSES,
    LISTS,
    NEW_TRACKS_B,
    RECTS_A,
    RECTS_B,
    T_A,
    T_D,
    TRACKS_A,
    draw,
    make_ubnormal,
)

from tvau_bench.errors import TvauWarning
from tvau_bench.sources import SourceVideo, open_source
from tvau_bench.sources.ubnormal import UBnormalSource, merge_intervals, parse_tracks_text

A = "abnormal_scene_1_scenario_1"
B = "abnormal_scene_1_scenario_2_fog"
C = "normal_scene_2_scenario_1"
D = "abnormal_scene_2_scenario_3"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_ubnormal(tmp_path_factory.mktemp("ub"))


@pytest.fixture(scope="module")
def src(root):
    return open_source(root)


def test_layout_and_splits(src):
    assert isinstance(src, UBnormalSource)
    assert src.splits() == ["train", "validation", "test"]
    assert [v.video_id for v in src.videos("train")] == [A, C]
    assert [v.video_id for v in src.videos("validation")] == [B]
    assert [v.video_id for v in src.videos("test")] == [D]
    v = src.video(A)
    assert isinstance(v, SourceVideo)
    assert (v.split, v.scene, v.video_path) == ("train", "Scene1", f"Scene1/{A}.mp4")


def test_split_lists_without_trailing_newline(root, src):
    raw = (root / "scripts" / "abnormal_training_video_names.txt").read_bytes()
    assert raw == A.encode()
    assert src.list_origin["abnormal_training"] == str(root / "scripts" / "abnormal_training_video_names.txt")


def test_video_metadata_and_frames(src):
    v = src.video(A)
    assert (v.num_frames, v.width, v.height) == (T_A, 64, 48)
    assert v.fps == pytest.approx(30.0)
    frames = list(v.frames())
    assert len(frames) == T_A and frames[0].shape == (48, 64, 3)
    expected, _ = draw(RECTS_A, T_A)
    picked = list(v.frames([5, 1, 5]))
    assert len(picked) == 3
    # mp4v is lossy: compare loosely, and check the order of the requested indices was kept
    assert np.abs(picked[1].astype(int) - expected[1]).mean() < 6
    assert np.abs(picked[0].astype(int) - expected[5]).mean() < 6
    assert np.array_equal(picked[0], picked[2])


def test_crlf_tracks_and_two_intervals(root, src):
    raw = (root / "Scene1" / f"{A}_annotations" / f"{A}_tracks.txt").read_bytes()
    assert b"\r\n" in raw and not raw.endswith(b"\n")
    v = src.video(A)
    assert v.track_rows == TRACKS_A
    assert v.abnormal_intervals() == [(2, 12)]  # (2,5) (6,9) (10,12) touch: one merged interval
    labels = v.frame_labels()
    assert labels.dtype == np.uint8 and labels.tolist() == [0, 0] + [1] * 11 + [0] * 7


def test_objects_categories_and_intervals(src):
    objs = {o.object_id: o for o in src.video(A).objects()}
    assert sorted(objs) == [1, 2, 3]
    assert objs[1].category == "person"  # absent from the pickle
    assert objs[2].category == "car" and objs[3].category == "bicycle"
    assert objs[2].abnormal_intervals == ((2, 5), (10, 12))
    assert objs[3].abnormal_intervals == ((6, 9),)
    assert not objs[1].is_abnormal and objs[2].is_abnormal
    assert (objs[1].first_frame, objs[1].last_frame) == (0, T_A - 1)


def test_boxes_and_masks_equal_drawing(src):
    v = src.video(A)
    for r in RECTS_A:
        boxes = v.object_boxes(r.oid)
        assert boxes == {f: r.box(f) for f in range(T_A) if r.visible(f)}
    masks = v.object_masks(7)
    assert sorted(masks) == [1, 2]  # the bicycle is absent from frame 7
    _, maps = draw(RECTS_A, T_A)
    for oid, m in masks.items():
        assert m.dtype == bool and np.array_equal(m, maps[7] == oid)
    assert v.object_boxes(99) == {}


def test_reference_tracks_skip_absent_frame(src):
    v = src.video(A)
    with pytest.warns(TvauWarning, match="absent"):
        rows = v.reference_tracks()
    assert v.reference_skipped == 1
    # rows sorted by object id: (2,2,5) -> track 0, (2,10,12) -> track 1, (3,6,9) -> track 2
    expected = []
    for tid, (oid, s, e) in enumerate(sorted(TRACKS_A, key=lambda r: r[0])):
        rect = RECTS_A[oid - 1]
        for f in range(s, e + 1):
            if rect.visible(f):
                x0, y0, x1, y1 = rect.box(f)
                expected.append((tid, f, x0, y0, x1 + 1, y1 + 1))  # x_max = x + w
    assert [(r.track_id, r.frame, r.x_min, r.y_min, r.x_max, r.y_max) for r in rows] == expected


def test_new_tracks_preferred_and_single_row(root, src):
    v = src.video(B)
    assert v.tracks_path.name == f"{B}_new_tracks.txt"
    assert v.track_rows == NEW_TRACKS_B
    objs = {o.object_id: o for o in v.objects()}
    assert objs[4].category == "van" and objs[4].abnormal_intervals == ((2, 8),)
    assert not objs[1].is_abnormal
    x1 = RECTS_B[1].box(0)[2]
    assert {(r.frame, r.x_max) for r in v.reference_tracks()} == {(f, x1 + 1) for f in range(2, 9)}


def test_normal_video(src):
    v = src.video(C)
    assert v.tracks_path is None
    assert v.abnormal_intervals() == [] and v.frame_labels().sum() == 0
    assert v.reference_tracks() == []
    assert [o.category for o in v.objects()] == ["person"]


def test_all_abnormal_video(src):
    v = src.video(D)
    assert v.frame_labels().tolist() == [1] * T_D
    assert v.abnormal_intervals() == [(0, T_D - 1)]
    assert len(v.reference_tracks()) == T_D


def test_report_counts(src):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = src.report()
    assert rep.problems == []
    assert rep.counts["train"]["videos"] == 2
    assert rep.counts["train"]["frames"] == T_A + 6
    assert rep.counts["train"]["anomalies"] == 3
    assert rep.counts["train"]["regions"] == sum(e - s + 1 for _, s, e in TRACKS_A)
    assert rep.counts["train"]["abnormal_frames"] == 11
    assert rep.counts["test"] == {**rep.counts["test"], "videos": 1, "frames": T_D, "abnormal_frames": T_D}


def test_parse_tracks_variants():
    assert parse_tracks_text("1,0,5") == [(1, 0, 5)]
    assert parse_tracks_text("1,0,5\r\n2,3,4\r\n") == [(1, 0, 5), (2, 3, 4)]
    assert parse_tracks_text("\n1, 0, 5\n\n") == [(1, 0, 5)]


def test_merge_intervals():
    assert merge_intervals([(5, 9), (0, 4), (20, 22), (21, 25)]) == [(0, 9), (20, 25)]
    assert merge_intervals([]) == []


def test_classes_written_without_persons(src):
    assert src.classes == {k: v for k, v in CLASSES.items()}
    assert set(LISTS) == {k for k in src.lists}
