"""Heatmaps to scored boxes and frame scores: the rule, its record, and the round trip into the metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.metrics.detections import (
    RULE_FILE,
    DetectionRule,
    detect_frame,
    detect_video,
    export_heatmaps,
)
from tvau_bench.metrics.io import read_detections_dir, read_values_dir
from tvau_bench.sources.masks import reference_box


def _blob(h=20, w=30, box=(5, 4, 12, 9), value=0.8, peak=None):
    hm = np.zeros((h, w))
    x0, y0, x1, y1 = box
    hm[y0 : y1 + 1, x0 : x1 + 1] = value
    if peak is not None:
        hm[peak[1], peak[0]] = peak[2]
    return hm


def test_box_conventions_and_score():
    hm = _blob(peak=(7, 6, 0.95))
    ref = detect_frame(hm, DetectionRule(thresholds=(0.5,)))
    inc = detect_frame(hm, DetectionRule(thresholds=(0.5,), box="inclusive"))
    np.testing.assert_array_equal(ref, [[5, 4, 13, 10, 0.95]])
    np.testing.assert_array_equal(inc, [[5, 4, 12, 9, 0.95]])
    # The default matches the reference track script's box of the same mask.
    assert tuple(ref[0, :4]) == reference_box(hm >= 0.5)


def test_eight_connectivity_min_area_and_levels():
    hm = np.zeros((10, 10))
    hm[2, 2] = hm[3, 3] = 0.9  # diagonal neighbours: one component with 8-connectivity
    hm[8, 8] = 0.6  # one isolated pixel
    assert len(detect_frame(hm, DetectionRule(thresholds=(0.5,)))) == 2
    assert len(detect_frame(hm, DetectionRule(thresholds=(0.5,), connectivity=4))) == 3
    assert len(detect_frame(hm, DetectionRule(thresholds=(0.5,), min_area=2))) == 1
    two = detect_frame(hm, DetectionRule(thresholds=(0.5, 0.8)))
    assert len(two) == 3 and sorted(two[:, 4].tolist()) == [0.6, 0.9, 0.9]
    assert len(detect_frame(np.zeros((4, 4)), DetectionRule())) == 0


def test_nms_removes_nested_boxes_of_lower_levels():
    hm = _blob(box=(2, 2, 12, 12), value=0.6)
    hm[3:12, 3:12] = 0.9
    rule = DetectionRule(thresholds=(0.5, 0.8))
    assert len(detect_frame(hm, rule)) == 2
    kept = detect_frame(hm, DetectionRule(thresholds=(0.5, 0.8), nms_iou=0.5))
    assert len(kept) == 1 and kept[0, 4] == 0.9


def test_detect_video_streams_frames_and_pools():
    frames = (f for f in [np.zeros((8, 8)), _blob(8, 8, (1, 1, 3, 3), 0.7), np.full((8, 8), 0.2)])
    rows, scores = detect_video(frames, DetectionRule(thresholds=(0.5,)), video="v")
    np.testing.assert_array_equal(rows, [[1, 1, 1, 4, 4, 0.7]])
    np.testing.assert_array_equal(scores, [0.0, 0.7, 0.2])
    _, mean = detect_video([np.full((2, 2), 0.5)], DetectionRule(frame_pooling="mean"))
    assert mean.tolist() == [0.5]


def test_bad_heatmaps_and_rules():
    with pytest.raises(TvauError, match="video 'v' frame 1: heatmap holds NaN"):
        detect_video([np.zeros((2, 2)), np.full((2, 2), np.nan)], DetectionRule(), video="v")
    with pytest.raises(TvauError, match="2-D"):
        detect_video([np.zeros((2, 2, 3))], DetectionRule(), video="v")
    for kw in ({"thresholds": ()}, {"connectivity": 6}, {"min_area": 0}, {"box": "xywh"}, {"nms_iou": 2.0}):
        with pytest.raises(TvauError):
            DetectionRule(**kw)


def test_export_writes_rule_and_round_trips_into_metrics(tmp_path, capsys):
    rule = DetectionRule(thresholds=(0.5,), min_area=2)
    gt_box = (10, 5, 20, 15)  # written like the reference tracks: x + w, y + h
    videos = {
        "abn": [
            _blob(box=(10, 5, 19, 14), value=0.9) if t in (1, 2) else np.zeros((20, 30)) for t in range(4)
        ],
        "norm": [np.zeros((20, 30)), _blob(box=(0, 0, 3, 3), value=0.55)],
    }
    counts = export_heatmaps(videos, tmp_path / "out", rule)
    assert counts == {"videos": 2, "frames": 6, "detections": 3}
    for sub in ("detections", "scores"):
        rec = json.loads((tmp_path / "out" / sub / RULE_FILE).read_text())
        assert DetectionRule.from_dict(rec) == rule and rec["box_meaning"].startswith("x_max = x + w")
    dets = read_detections_dir(tmp_path / "out/detections")
    np.testing.assert_array_equal(dets["abn"][:, :5], [[1, *gt_box], [2, *gt_box]])
    assert read_values_dir(tmp_path / "out/scores", "scores")["abn"].tolist() == [0, 0.9, 0.9, 0]

    tracks = tmp_path / "tracks"
    tracks.mkdir()
    (tracks / "abn.txt").write_text("".join(f"0,{t},{','.join(map(str, gt_box))}\n" for t in (1, 2, 3)))
    argv = ["metrics", "region", "--tracks", str(tracks), "--detections", str(tmp_path / "out/detections")]
    assert main([*argv, "--num-frames", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_detections"] == 3 and out["num_regions"] == 3 and out["num_true_positives"] == 2
    assert out["tbdc"] > 0.5 and 0 < out["rbdc"] < 1

    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "abn.txt").write_text("0\n1\n1\n1\n")
    (labels / "norm.txt").write_text("0\n0\n")
    argv = ["metrics", "frame", "--labels", str(labels), "--scores", str(tmp_path / "out/scores"), "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["micro_auc"] == pytest.approx(
        7 / 9
    )  # 6 wins + 2 ties of 9 pairs


def test_export_video_without_detections_writes_empty_file(tmp_path):
    counts = export_heatmaps(
        [("quiet", iter([np.zeros((4, 4)), np.zeros((4, 4))]))], tmp_path, DetectionRule()
    )
    assert counts == {"videos": 1, "frames": 2, "detections": 0}
    assert (tmp_path / "detections/quiet.txt").read_text() == ""
    assert read_detections_dir(tmp_path / "detections")["quiet"].shape == (0, 6)
    assert (tmp_path / "scores/quiet.txt").read_text() == "0\n0\n"
