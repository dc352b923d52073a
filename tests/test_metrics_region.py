"""RBDC/TBDC: the vectorised implementation equals the per-detection loop oracle, plus the edge cases."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvau_bench.cli import main
from tvau_bench.errors import TvauWarning
from tvau_bench.metrics.region import inclusive_iou, region_metrics
from tvau_bench.metrics.region_reference import rbdc_tbdc_loop


def _both(tracks, dets, num_frames, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TvauWarning)
        fast = region_metrics(tracks, dets, num_frames, **kw)
    slow = rbdc_tbdc_loop(tracks, dets, num_frames, recount=True, **kw)
    inc = rbdc_tbdc_loop(tracks, dets, num_frames, **kw)
    return fast, slow, inc


def _assert_same(fast, slow, inc=None):
    assert abs(fast.rbdc - slow["rbdc"]) <= 1e-9
    assert abs(fast.tbdc - slow["tbdc"]) <= 1e-9
    np.testing.assert_array_equal(fast.fpr, slow["fpr"])
    np.testing.assert_array_equal(fast.rbdr, slow["rbdr"])
    np.testing.assert_array_equal(fast.tbdr, slow["tbdr"])
    assert fast.num_true_positives == slow["num_true_positives"]
    assert fast.num_false_positives == slow["num_false_positives"]
    if inc is not None:
        assert inc["rbdc"] == slow["rbdc"] and inc["tbdc"] == slow["tbdc"]
    assert 0.0 <= fast.rbdc <= 1.0 and 0.0 <= fast.tbdc <= 1.0


coord = st.integers(0, 12)
fcoord = st.floats(0, 12, allow_nan=False, allow_infinity=False)


@st.composite
def box(draw):
    if draw(st.integers(0, 4)) == 0:  # sometimes float coordinates: same float operations as the reference
        x0, y0 = draw(fcoord), draw(fcoord)
        return [x0, y0, x0 + draw(st.floats(0, 6)), y0 + draw(st.floats(0, 6))]
    x0, y0 = draw(coord), draw(coord)
    return [x0, y0, x0 + draw(st.integers(0, 6)), y0 + draw(st.integers(0, 6))]


@st.composite
def problem(draw):
    videos = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
    tracks, dets = {}, {}
    for v in videos:
        if draw(st.booleans()):
            rows = []
            for t in range(draw(st.integers(0, 3))):
                frames = draw(st.lists(st.integers(0, 6), min_size=1, max_size=5, unique=True))
                rows += [[t, f, *draw(box())] for f in sorted(frames)]
            tracks[v] = np.asarray(rows, dtype=float).reshape(-1, 6)
        if draw(st.booleans()):
            n = draw(st.integers(0, 12))
            rows = [
                [draw(st.integers(0, 6)), *draw(box()), draw(st.sampled_from([0.1, 0.5, 0.5, 0.9]))]
                for _ in range(n)
            ]
            dets[v] = np.asarray(rows, dtype=float).reshape(-1, 6)
    num_frames = draw(st.integers(1, 30))
    iou = draw(st.sampled_from([0.1, 0.1, 0.3, 0.5, 1.0]))
    frac = draw(st.sampled_from([0.1, 0.1, 0.34, 0.5, 1.0]))
    return tracks, dets, num_frames, iou, frac


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem())
def test_fast_equals_loop_oracle(p):
    tracks, dets, num_frames, iou, frac = p
    _assert_same(*_both(tracks, dets, num_frames, iou=iou, track_fraction=frac))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(box(), box()), min_size=1, max_size=20))
def test_iou_matches_plain_formula(pairs):
    g = np.asarray([p[0] for p in pairs], dtype=float)
    d = np.asarray([p[1] for p in pairs], dtype=float)
    got = inclusive_iou(g, d)
    for (gb, db), v in zip(pairs, got, strict=True):
        inter = max(0, min(gb[2], db[2]) - max(gb[0], db[0]) + 1) * max(
            0, min(gb[3], db[3]) - max(gb[1], db[1]) + 1
        )
        ag = (gb[2] - gb[0] + 1) * (gb[3] - gb[1] + 1)
        ad = (db[2] - db[0] + 1) * (db[3] - db[1] + 1)
        assert v == inter / float(ag + ad - inter)


def test_needed_counts_match_brute_force():
    from tvau_bench.metrics.region import _needed

    sizes = np.arange(1, 400)
    for frac in (0.1, 0.3, 1 / 3, 0.7, 0.999, 1.0, 0.0, -1.0, 1.5):
        got = _needed(sizes, frac)
        want = [next((k for k in range(n + 1) if k / n >= frac), n + 1) for n in sizes.tolist()]
        assert got.tolist() == want, frac


def _t(*rows):
    return np.asarray(rows, dtype=float).reshape(-1, 6)


def test_hand_computed_example():
    # One track of 2 boxes, 4 frames. det1 finds frame 0 (TP), det2 is a FP, det3 re-finds frame 0 (neither).
    tracks = {"v": _t([0, 0, 0, 0, 9, 9], [0, 1, 0, 0, 9, 9])}
    dets = {"v": _t([0, 0, 0, 9, 9, 0.9], [2, 0, 0, 9, 9, 0.8], [0, 1, 1, 9, 9, 0.7])}
    fast, slow, _ = _both(tracks, dets, 4)
    _assert_same(fast, slow)
    np.testing.assert_allclose(fast.fpr, [0, 0, 0.25, 0.25, 1.0])
    np.testing.assert_allclose(fast.rbdr, [0, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(fast.tbdr, [0, 1, 1, 1, 1])
    assert fast.rbdc == pytest.approx(0.5)
    assert fast.tbdc == pytest.approx(1.0)
    assert (fast.num_true_positives, fast.num_false_positives) == (1, 1)


def test_no_detections():
    fast, slow, _ = _both({"v": _t([0, 0, 0, 0, 5, 5])}, {}, 10)
    _assert_same(fast, slow)
    assert fast.rbdc == 0 and fast.tbdc == 0 and list(fast.fpr) == [0, 1]


def test_no_tracks_all_false_positives():
    dets = {"x": _t([0, 0, 0, 5, 5, 0.3], [1, 0, 0, 5, 5, 0.2])}
    with pytest.warns(TvauWarning, match="no ground-truth regions"):
        fast = region_metrics({}, dets, 10)
    slow = rbdc_tbdc_loop({}, dets, 10)
    assert fast.rbdc == slow["rbdc"] == 0 and fast.tbdc == 0
    assert fast.num_false_positives == 2 and fast.num_tracks == 0


def test_all_detections_beyond_fpr_one():
    # 5 false positives over 2 frames: FPR passes 1 at the 2nd; curve is cut there, the rest never counts.
    tracks = {"v": _t([0, 0, 0, 0, 5, 5])}
    dets = {"other": _t(*[[0, 0, 0, 5, 5, 1 - i / 10] for i in range(5)]), "v": _t([0, 0, 0, 5, 5, 0.01])}
    fast, slow, _ = _both(tracks, dets, 2)
    _assert_same(fast, slow)
    assert fast.fpr[-1] == 1 and fast.rbdc == 0 and len(fast.fpr) == 3


def test_cut_appends_flat_point_at_one_from_last_kept_rates():
    tracks = {"v": _t([0, 0, 0, 0, 5, 5])}
    dets = {"v": _t([0, 0, 0, 5, 5, 0.9], [1, 0, 0, 5, 5, 0.8], [2, 0, 0, 5, 5, 0.7], [3, 0, 0, 5, 5, 0.6])}
    fast, slow, _ = _both(tracks, dets, 2)  # FPR 0, 0.5, 1.0, 1.5
    _assert_same(fast, slow)
    np.testing.assert_allclose(fast.fpr, [0, 0, 0.5, 1.0])
    fast3, slow3, _ = _both(tracks, dets, 3)  # FPR 0, 1/3, 2/3, 1 exactly: no extra point
    _assert_same(fast3, slow3)
    assert len(fast3.fpr) == 5


def test_ties_follow_video_name_then_row():
    # Same score everywhere: video "a" comes before "b", so "a"'s FP is counted before "b"'s TP.
    tracks = {"b": _t([0, 0, 0, 0, 5, 5])}
    dets = {"b": _t([0, 0, 0, 5, 5, 0.5]), "a": _t([0, 0, 0, 5, 5, 0.5])}
    fast, slow, _ = _both(tracks, dets, 1)
    _assert_same(fast, slow)
    np.testing.assert_allclose(fast.fpr, [0, 1, 1])
    assert fast.rbdc == 0.0
    # Rename so the TP comes first: now it is found before the FP.
    fast2, slow2, _ = _both({"a": tracks["b"]}, {"a": dets["b"], "b": dets["a"]}, 1)
    _assert_same(fast2, slow2)
    assert fast2.rbdc == 1.0


def test_duplicate_boxes_are_neutral():
    tracks = {"v": _t([0, 0, 0, 0, 5, 5])}
    dets = {"v": _t(*[[0, 0, 0, 5, 5, 0.9]] * 3)}
    fast, slow, _ = _both(tracks, dets, 5)
    _assert_same(fast, slow)
    assert (fast.num_true_positives, fast.num_false_positives) == (1, 0)


def test_one_detection_covers_two_regions():
    tracks = {"v": _t([0, 0, 0, 0, 4, 4], [1, 0, 5, 0, 9, 4])}
    dets = {"v": _t([0, 0, 0, 9, 4, 0.9])}
    fast, slow, _ = _both(tracks, dets, 4)
    _assert_same(fast, slow)
    assert fast.num_true_positives == 2 and fast.rbdr[1] == 1.0 and fast.tbdr[1] == 1.0


def test_tracks_with_gaps_count_present_boxes():
    # Track of frames 0, 5, 9 (3 boxes): finding one is 1/3 >= 0.34? no; fraction 0.3 yes.
    tracks = {"v": _t([0, 0, 0, 0, 5, 5], [0, 5, 0, 0, 5, 5], [0, 9, 0, 0, 5, 5])}
    dets = {"v": _t([5, 0, 0, 5, 5, 0.9])}
    for frac, expect in ((0.3, 1.0), (0.34, 0.0)):
        fast, slow, _ = _both(tracks, dets, 10, track_fraction=frac)
        _assert_same(fast, slow)
        assert fast.tbdr[1] == expect


def test_repeated_track_frame_keeps_last_row():
    tracks = {"v": _t([0, 0, 0, 0, 5, 5], [0, 0, 50, 50, 60, 60])}
    dets = {"v": _t([0, 50, 50, 60, 60, 0.9])}
    with pytest.warns(TvauWarning, match="repeated"):
        fast = region_metrics(tracks, dets, 2)
    assert fast.num_regions == 1 and fast.num_true_positives == 1
    _assert_same(fast, rbdc_tbdc_loop(tracks, dets, 2))


def test_chunking_does_not_change_results():
    from tvau_bench.metrics.region import detections_from_rows, ground_truth_from_rows, rbdc_tbdc

    rng = np.random.default_rng(3)
    rows = [
        [t, f, x, x, x + 9, x + 9] for t in range(4) for f in range(6) for x in [int(rng.integers(0, 20))]
    ]
    tracks = {"v": np.asarray(rows, dtype=float)}
    d = rng.integers(0, 20, size=(200, 2))
    dets = {"v": np.column_stack([rng.integers(0, 6, 200), d, d + 9, rng.random(200)]).astype(float)}
    gt, de = ground_truth_from_rows(tracks), detections_from_rows(dets)
    a, b = rbdc_tbdc(gt, de, 6), rbdc_tbdc(gt, de, 6, chunk=3)
    assert (a.rbdc, a.tbdc) == (b.rbdc, b.tbdc)
    _assert_same(a, rbdc_tbdc_loop(tracks, dets, 6))


def test_bad_num_frames():
    from tvau_bench.errors import TvauError

    with pytest.raises(TvauError, match="num_frames"):
        region_metrics({}, {}, 0)


# --- the CLI on reference-format files ----------------------------------------------------------------------


def _write(path, text, crlf=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", "\r\n").encode() if crlf else text.encode())


def _region_cli(tracks, detections, num_frames, *extra) -> int:
    """``tvau-bench metrics region`` on two folders; its exit code."""
    argv = ["--tracks", str(tracks), "--detections", str(detections), "--num-frames", str(num_frames)]
    return main(["metrics", "region", *argv, *extra])


def test_cli_region_json(tmp_path, capsys):
    # CRLF tracks, a one-row tracks file, an empty detections file, detections for a video without tracks.
    _write(tmp_path / "tracks/v1.txt", "0,0,0,0,9,9\n0,1,0,0,9,9\n1,1,20,20,29,29\n", crlf=True)
    _write(tmp_path / "tracks/v2.txt", "0,3,5,5,15,15")
    _write(tmp_path / "det/v1.txt", "0,0,0,9,9,0.9\n1,21,21,29,29,0.8\n")
    _write(tmp_path / "det/v2.txt", "")
    _write(tmp_path / "det/normal.txt", "2,0,0,5,5,0.95\r\n")
    rc = _region_cli(tmp_path / "tracks", tmp_path / "det", 20, "--json")
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["num_detections"], out["num_regions"], out["num_tracks"]) == (3, 4, 3)
    assert out["videos_without_tracks"] == ["normal"]
    tracks = {
        "v1": _t([0, 0, 0, 0, 9, 9], [0, 1, 0, 0, 9, 9], [1, 1, 20, 20, 29, 29]),
        "v2": _t([0, 3, 5, 5, 15, 15]),
    }
    dets = {
        "v1": _t([0, 0, 0, 9, 9, 0.9], [1, 21, 21, 29, 29, 0.8]),
        "v2": _t(),
        "normal": _t([2, 0, 0, 5, 5, 0.95]),
    }
    ref = rbdc_tbdc_loop(tracks, dets, 20)
    assert out["rbdc"] == pytest.approx(ref["rbdc"], abs=1e-12) and out["tbdc"] == pytest.approx(
        ref["tbdc"], abs=1e-12
    )
    assert 0 < out["rbdc"] <= 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0,0,0,9,9", "expected 6"),
        ("0,0,zero,9,9,0.5", "y_min is not a number"),
        ("0,9,0,2,9,0.5", "x_max < x_min"),
        ("0,0,0,9,9,nan", "score is nan"),
        ("0.5,0,0,9,9,0.5", "frame_id must be a non-negative integer"),
    ],
)
def test_cli_region_malformed_rows_name_file_and_line(tmp_path, capsys, row, message):
    _write(tmp_path / "tracks/v.txt", "0,0,0,0,9,9\n")
    _write(tmp_path / "det/v.txt", f"0,0,0,9,9,0.9\n\n{row}\n")
    rc = _region_cli(tmp_path / "tracks", tmp_path / "det", 5, "--json")
    assert rc == 2
    err = capsys.readouterr().err
    assert "det/v.txt:3" in err.replace("\\", "/") and message in err


def test_cli_region_missing_folder(tmp_path, capsys):
    rc = _region_cli(tmp_path / "nope", tmp_path, 5)
    assert rc == 2 and "tracks folder not found" in capsys.readouterr().err
