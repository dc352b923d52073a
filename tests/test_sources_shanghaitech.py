"""ShanghaiTech reader on hand-made roots: (T,H,W) and (H,W,T) masks, target linking, an all-abnormal video."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_sources import T_S, make_shanghaitech, shanghaitech_masks

from tvau_bench.sources import ShanghaiTechSource, SourceVideo, open_source
from tvau_bench.sources.masks import mask_box
from tvau_bench.sources.shanghaitech import detect_mask_layout, link_targets


@pytest.fixture(scope="module", params=["THW", "HWT"])
def src(request, tmp_path_factory):
    return open_source(
        make_shanghaitech(tmp_path_factory.mktemp(f"st_{request.param}"), layout=request.param)
    )


def test_layout_and_splits(src):
    assert isinstance(src, ShanghaiTechSource)
    assert src.splits() == ["train", "test"]
    assert [v.video_id for v in src.videos("test")] == ["01_0001", "04_0011"]
    assert [v.video_id for v in src.videos("train")] == ["01_001"]
    assert src.videos("validation") == []
    v = src.video("01_0001")
    assert isinstance(v, SourceVideo)
    assert (v.split, v.scene, v.video_path) == ("test", "01", "testing/frames/01_0001")


def test_pixel_mask_layout_detected(src, request):
    v = src.video("01_0001")
    v.objects()
    assert v.mask_layout == request.node.callspec.params["src"]
    assert np.array_equal(v.pixel_mask(7), shanghaitech_masks()[7] > 0)


def test_frames_and_labels(src):
    v = src.video("01_0001")
    assert (v.num_frames, v.width, v.height, v.fps) == (T_S, 64, 48, 25.0)
    frames = list(v.frames([3, 0]))
    assert abs(int(frames[0].mean()) - 90) <= 2 and abs(int(frames[1].mean()) - 60) <= 2
    expected = (shanghaitech_masks().reshape(T_S, -1) > 0).any(1).astype(np.uint8)
    assert v.frame_labels().tolist() == expected.tolist()
    assert v.abnormal_intervals() == [(2, 4), (6, 9), (11, 11)]


def test_targets_linked_over_gap(src):
    v = src.video("01_0001")
    objs = v.objects()
    assert [o.object_id for o in objs] == [1, 2, 3]
    assert all(o.category == "unknown" for o in objs)
    assert objs[0].abnormal_intervals == ((2, 4), (6, 9))  # one target across the frame-5 dropout
    assert objs[1].abnormal_intervals == ((6, 8),)
    assert objs[2].abnormal_intervals == ((11, 11),)
    pm = shanghaitech_masks()
    assert v.object_boxes(1) == {f: (5 + 2 * f, 10, 14 + 2 * f, 19) for f in (2, 3, 4, 6, 7, 8, 9)}
    assert v.object_boxes(2) == {f: (45, 35, 54, 44) for f in (6, 7, 8)}
    masks = v.object_masks(7)
    assert sorted(masks) == [1, 2]
    assert np.array_equal(masks[1] | masks[2], pm[7] > 0)
    assert v.object_masks(0) == {}


def test_reference_tracks(src):
    rows = src.video("01_0001").reference_tracks()
    assert [r.track_id for r in rows] == [0] * 7 + [1] * 3 + [2]
    first = rows[0]
    assert (first.frame, first.x_min, first.y_min, first.x_max, first.y_max) == (2, 9, 10, 19, 20)


def test_all_abnormal_video(src):
    v = src.video("04_0011")
    assert v.frame_labels().tolist() == [1] * 5
    assert len(v.objects()) == 1 and v.objects()[0].abnormal_intervals == ((0, 4),)


def test_training_video(src):
    v = src.video("01_001")
    assert (v.num_frames, v.split) == (7, "train")
    assert v.frame_labels().sum() == 0 and v.objects() == [] and v.reference_tracks() == []
    assert len(list(v.frames())) == 7


def test_report(src, request):
    rep = src.report()
    assert rep.problems == []
    t = rep.counts["test"]
    assert (t["videos"], t["frames"], t["abnormal_frames"], t["anomalies"]) == (2, T_S + 5, 8 + 5, 4)
    assert t["regions"] == 7 + 3 + 1 + 5
    assert t["pixel_masks_hwt"] == (2 if request.node.callspec.params["src"] == "HWT" else 0)
    assert rep.counts["train"]["frames"] == 7


def test_link_merges_split_body_and_starts_new_targets():
    masks = np.zeros((3, 20, 30), bool)
    masks[0, 5:15, 5:10] = True
    masks[1, 5:9, 5:10] = True  # the body splits into two parts: both join target 1
    masks[1, 11:15, 5:10] = True
    masks[2, 5:15, 25:29] = True  # far away: a new target
    links = link_targets(masks)
    assert links == [{0: [0], 1: [0, 1]}, {2: [0]}]


def test_link_fast_motion_by_centroid():
    masks = np.zeros((2, 20, 40), bool)
    masks[0, 5:15, 5:15] = True
    masks[1, 5:15, 16:26] = True  # no overlap, centroid 11 px away, half diagonal ~7.1 -> no link
    assert len(link_targets(masks)) == 2
    masks[1] = False
    masks[1, 5:15, 14:24] = True  # overlap 1 column: IoU 0.05 < 0.1, not linked by overlap
    assert len(link_targets(masks)) == 2
    masks[1] = False
    masks[1, 6:16, 11:21] = True  # IoU > 0.1
    assert len(link_targets(masks)) == 1
    thin = np.zeros((2, 30, 30), bool)
    thin[0, 2:22, 5:7] = True
    thin[1, 2:22, 8:10] = True  # a thin object moved 3 px: no overlap, centroid within half its diagonal
    assert link_targets(thin) == [{0: [0], 1: [0]}]


def test_detect_mask_layout():
    assert detect_mask_layout((10, 4, 5), 10, (4, 5)) == "THW"
    assert detect_mask_layout((4, 5, 10), 10, (4, 5)) == "HWT"
    assert detect_mask_layout((9, 4, 5), 10, (4, 5)) is None
    assert mask_box(np.zeros((3, 3))) is None
