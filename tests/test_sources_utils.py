"""Mask utilities, the video helpers and the restricted unpickler, on tiny arrays."""

from __future__ import annotations

import collections
import pickle

import numpy as np
import pytest

from tvau_bench.errors import TvauError
from tvau_bench.sources import video as vio
from tvau_bench.sources.masks import (
    connected_components,
    mask_box,
    masks_iou,
    reference_box,
    rle_decode,
    rle_encode,
)
from tvau_bench.sources.pickle_safe import load_restricted


def test_mask_box_and_reference_box():
    m = np.zeros((20, 30), np.uint8)
    m[2:6, 3:9] = 1  # small part
    m[10:18, 12:25] = 1  # large part
    assert mask_box(m) == (3, 2, 24, 17)  # inclusive, over both parts
    assert reference_box(m) == (12, 10, 25, 18)  # largest contour only, x + w
    assert mask_box(np.zeros((4, 4))) is None and reference_box(np.zeros((4, 4))) is None
    one = np.zeros((5, 5), bool)
    one[2, 3] = True
    assert mask_box(one) == (3, 2, 3, 2) and reference_box(one) == (3, 2, 4, 3)


def test_reference_box_with_hole_uses_outer_contour():
    m = np.zeros((20, 20), np.uint8)
    m[2:18, 2:18] = 1
    m[6:14, 6:14] = 0  # RETR_TREE also returns the hole; the outer contour is larger
    assert reference_box(m) == (2, 2, 18, 18)


def test_connected_components_8_vs_4():
    m = np.zeros((6, 6), bool)
    m[1, 1] = m[2, 2] = True  # diagonal neighbours
    m[4:6, 4:6] = True
    assert len(connected_components(m, 8)) == 2
    comps4 = connected_components(m, 4)
    assert len(comps4) == 3 and all(c.dtype == bool for c in comps4)
    assert np.array_equal(np.logical_or.reduce(comps4), m)
    with pytest.raises(ValueError):
        connected_components(m, 6)


def test_rle_round_trip():
    rng = np.random.default_rng(0)
    m = rng.random((37, 53)) > 0.7
    rle = rle_encode(m)
    assert rle["size"] == [37, 53] and isinstance(rle["counts"], str)
    assert np.array_equal(rle_decode(rle), m)
    assert np.array_equal(rle_decode({**rle, "counts": rle["counts"].encode()}), m)
    assert masks_iou(m, m) == 1.0 and masks_iou(np.zeros((2, 2)), np.zeros((2, 2))) == 0.0


def test_video_write_probe_and_indices(tmp_path):
    frames = [np.full((24, 32, 3), 10 * i, np.uint8) for i in range(9)]
    path = tmp_path / "v.mp4"
    assert vio.write_video(path, frames, 30.0) == 9
    assert vio.probe(path) == (9, 30.0, 32, 24)
    assert vio.count_decodable(path) == 9
    got = [int(f.mean()) for f in vio.iter_frames(path, [8, 2, 4])]
    assert [abs(g - e) <= 3 for g, e in zip(got, [80, 20, 40], strict=True)] == [True] * 3
    assert len(list(vio.iter_frames(path, [1, 1, 3]))) == 3
    with pytest.raises(TvauError, match="ends before it"):
        list(vio.iter_frames(path, [2, 9]))
    grey = tmp_path / "g.avi"
    assert vio.write_video(grey, [np.zeros((8, 8), np.uint8)] * 3, 25.0) == 3


def test_video_writer_rejects_bad_input(tmp_path):
    with pytest.raises(TvauError, match="cannot write video container"):
        vio.write_video(tmp_path / "v.mkv", [np.zeros((4, 4, 3), np.uint8)], 30)
    with pytest.raises(TvauError, match="frame 1 is 8x4"):
        vio.write_video(
            tmp_path / "v.mp4", [np.zeros((4, 4, 3), np.uint8), np.zeros((4, 8, 3), np.uint8)], 30
        )
    with pytest.raises(TvauError, match="no frames"):
        vio.write_video(tmp_path / "w.mp4", [], 30)
    with pytest.raises(TvauError, match="video file not found"):
        vio.probe(tmp_path / "missing.mp4")


def test_restricted_unpickler_accepts_plain_and_defaultdict(tmp_path):
    path = tmp_path / "c.pkl"
    dd = collections.defaultdict(dict, {"a": {1: "car"}, "b": {}})
    path.write_bytes(pickle.dumps(dd, protocol=2))
    got = load_restricted(path)
    assert got == {"a": {1: "car"}, "b": {}} and type(got) is dict
    path.write_bytes(pickle.dumps({np.str_("v"): {np.int64(3): "bicycle"}}))
    got = load_restricted(path)
    assert got == {"v": {3: "bicycle"}} and type(next(iter(got))) is str
