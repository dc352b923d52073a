"""Round trip: generate, read back with the sources readers; every object, interval, map, mask, box and label
equals what the generator drew (compared against the in-memory clips, not only against truth.jsonl)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SMALL_SIZES

from tvau_bench._io import iter_jsonl
from tvau_bench.sources import open_source
from tvau_bench.sources.masks import connected_components
from tvau_bench.sources.shanghaitech import MIN_AREA
from tvau_bench.synth.writer import iter_clips, make_config, truth_lines

CFG = make_config("ci", **SMALL_SIZES)


@pytest.fixture(scope="module")
def ub_clips():
    return list(iter_clips("ubnormal", CFG, 0))


@pytest.fixture(scope="module")
def st_clips():
    return list(iter_clips("shanghaitech", CFG, 0))


def _largest_contour_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The reference script's box, computed here independently of the readers."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    x, y, w, h = cv2.boundingRect(max(contours, key=cv2.contourArea))
    return x, y, x + w, y + h


def test_ubnormal_round_trip(synth_small: Path, ub_clips) -> None:
    root = synth_small / "ubnormal"
    src = open_source(root)
    assert src.layout == "ubnormal"
    assert src.splits() == ["train", "validation", "test"]
    by_split = {s: sorted(v.video_id for v in src.videos(s)) for s in src.splits()}
    assert {s: sorted(pv.name for pv, _ in ub_clips if pv.split == s) for s in by_split} == by_split
    for pv, clip in ub_clips:
        v = src.video(pv.name)
        assert v.split == pv.split and v.scene == f"Scene{pv.scene}"
        assert (v.num_frames, v.width, v.height) == (CFG.frames, CFG.width, CFG.height)
        assert v.fps == pytest.approx(30.0)
        for t in range(clip.num_frames):
            assert np.array_equal(v.id_map(t), clip.id_maps[t]), (pv.name, t)
        decoded = list(v.frames())
        assert len(decoded) == clip.num_frames
        err = np.mean(
            [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(decoded, clip.frames, strict=True)]
        )
        assert err < 6.0, f"{pv.name}: mean abs error {err:.2f} of the decoded mp4"

        objs = v.objects()
        assert [o.object_id for o in objs] == [tr.object_id for tr in clip.tracks]
        for o in objs:
            tr = clip.track(o.object_id)
            assert o.category == tr.appearance.category
            assert list(o.abnormal_intervals) == clip.abnormal_intervals.get(o.object_id, [])
            assert v.object_boxes(o.object_id) == clip.boxes[o.object_id]
            assert (o.first_frame, o.last_frame) == (
                min(clip.boxes[o.object_id]),
                max(clip.boxes[o.object_id]),
            )
        assert v.frame_labels().tolist() == clip.frame_labels().tolist()
        assert bool(v.frame_labels().any()) == pv.abnormal
        masks = v.object_masks(clip.num_frames // 2)
        for oid, m in masks.items():
            assert np.array_equal(m, clip.id_maps[clip.num_frames // 2] == oid)

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an abnormal object absent from its interval would warn
            rows = v.reference_tracks()
        expected = []
        for track_id, (oid, s, e) in enumerate(clip.tracks_rows()):
            expected += [
                (track_id, f, *_largest_contour_box(clip.id_maps[f] == oid)) for f in range(s, e + 1)
            ]
        assert [(r.track_id, r.frame, r.x_min, r.y_min, r.x_max, r.y_max) for r in rows] == expected


def test_ubnormal_truth_file_matches_clips(synth_small: Path, ub_clips) -> None:
    lines = [r for _, r in iter_jsonl(synth_small / "ubnormal" / "truth.jsonl")]
    expected = sorted(
        (r for pv, clip in ub_clips for r in truth_lines(pv.name, clip)),
        key=lambda r: (r["video_id"], r["object_id"]),
    )
    assert lines == expected


def test_ubnormal_format_quirks(synth_small: Path, ub_clips) -> None:
    root = synth_small / "ubnormal"
    tracks = {
        pv.name: (root / f"Scene{pv.scene}" / f"{pv.name}_annotations" / f"{pv.name}_tracks.txt")
        for pv, _ in ub_clips
    }
    abnormal = {pv.name for pv, _ in ub_clips if pv.abnormal}
    assert {n for n, p in tracks.items() if p.is_file()} == abnormal  # normal videos have no tracks file
    texts = {n: tracks[n].read_bytes() for n in abnormal}
    assert any(b"\r\n" in t for t in texts.values()), "a CRLF tracks file"
    assert any(b"\n" in t and b"\r" not in t for t in texts.values()), "an LF tracks file"
    assert any(len(t.splitlines()) == 1 for t in texts.values()), "a single-row tracks file"
    assert all(not t.endswith(b"\n") for t in texts.values())
    # one object with two abnormal intervals
    assert any(len(ivs) >= 2 for _, clip in ub_clips for ivs in clip.abnormal_intervals.values())
    # an outdated _tracks.txt next to the true _new_tracks.txt, which the reader must prefer
    stale = [(pv, clip) for pv, clip in ub_clips if pv.stale_tracks]
    assert len(stale) == 1
    pv, clip = stale[0]
    new = root / f"Scene{pv.scene}" / f"{pv.name}_annotations" / f"{pv.name}_new_tracks.txt"
    assert new.read_text().splitlines() == [f"{o},{s},{e}" for o, s, e in clip.tracks_rows()]
    assert tracks[pv.name].read_bytes() != new.read_bytes()
    # split lists: no trailing newline, both kinds in every split
    for split in ("training", "validation", "test"):
        for kind in ("abnormal", "normal"):
            data = (root / "scripts" / f"{kind}_{split}_video_names.txt").read_bytes()
            assert data and not data.endswith(b"\n")
            assert all(n.startswith(f"{kind}_scene_") for n in data.decode().split("\n"))
    # class pickle: a defaultdict, persons omitted, every other object listed
    with open(root / "scripts" / "object_names_per_video.pkl", "rb") as fh:
        classes = pickle.load(fh)  # our own file, written a moment ago
    assert type(classes).__name__ == "defaultdict"
    for pv, clip in ub_clips:
        want = {
            tr.object_id: tr.appearance.category for tr in clip.tracks if tr.appearance.category != "person"
        }
        assert dict(classes.get(pv.name, {})) == want
    assert any(pv.name.endswith(("_fog", "_smoke")) for pv, _ in ub_clips)


def test_shanghaitech_round_trip(synth_small: Path, st_clips) -> None:
    root = synth_small / "shanghaitech"
    src = open_source(root)
    assert src.layout == "shanghaitech"
    train = [pv for pv, _ in st_clips if pv.split == "train"]
    assert sorted(v.video_id for v in src.videos("train")) == sorted(pv.name for pv in train)
    assert all(
        not pv.abnormal and not clip.abnormal_intervals for pv, clip in st_clips if pv.split == "train"
    )
    assert all((root / "training" / "videos" / f"{pv.name}.avi").is_file() for pv in train)
    all_abnormal = 0
    for pv, clip in st_clips:
        v = src.video(pv.name)
        assert v.num_frames == clip.num_frames and (v.width, v.height) == (CFG.width, CFG.height)
        frames = list(v.frames())
        err = np.mean(
            [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, clip.frames, strict=True)]
        )
        assert err < 6.0
        if pv.split == "train":
            continue
        fm = np.load(root / "testing" / "test_frame_mask" / f"{pv.name}.npy")
        pm = np.load(root / "testing" / "test_pixel_mask" / f"{pv.name}.npy")
        assert fm.dtype == np.uint8 and fm.ndim == 1 and pm.dtype == np.uint8
        assert pm.shape == (clip.num_frames, CFG.height, CFG.width)
        expected = clip.pixel_masks()
        assert np.array_equal(pm, expected)
        assert (
            fm.tolist()
            == clip.frame_labels().tolist()
            == expected.reshape(len(fm), -1).any(1).astype(int).tolist()
        )
        assert v.frame_labels().tolist() == fm.tolist()
        all_abnormal += bool(fm.all())
        # linked targets cover the abnormal pixels and nothing else (the reader ignores specks smaller than
        # MIN_AREA that join no target); their frames are abnormal frames
        for t in range(clip.num_frames):
            union = np.zeros((CFG.height, CFG.width), bool)
            for m in v.object_masks(t).values():
                union |= m
            assert not np.any(union & (expected[t] == 0))
            left = (expected[t] > 0) & ~union
            assert all(c.sum() < MIN_AREA for c in connected_components(left)), (pv.name, t)
        objs = v.objects()
        assert bool(objs) == pv.abnormal
        for o in objs:
            assert all(fm[t] == 1 for t in v.object_boxes(o.object_id))
    assert all_abnormal >= 1


def test_shanghaitech_truth_file_matches_clips(synth_small: Path, st_clips) -> None:
    lines = [r for _, r in iter_jsonl(synth_small / "shanghaitech" / "truth.jsonl")]
    expected = sorted(
        (r for pv, clip in st_clips for r in truth_lines(pv.name, clip)),
        key=lambda r: (r["video_id"], r["object_id"]),
    )
    assert lines == expected
