"""truth.jsonl: exact fields, valid values, consistent behaviours/intervals/boxes; sentence and geometry rules;
palette colours recoverable from masked pixels; scenes not separable by a single cue."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from tvau_bench._io import iter_jsonl
from tvau_bench.synth.actors import Appearance, Pose, rasterise
from tvau_bench.synth.behaviours import ANOMALY_KINDS
from tvau_bench.synth.palette import COLOUR_NAMES, PALETTE, nearest_colour
from tvau_bench.synth.truth import appearance_sentence, direction_of, trajectory_truth
from tvau_bench.synth.writer import PRESETS, plan_shanghaitech, plan_ubnormal

FIELDS = {
    "video_id", "object_id", "category", "colours", "carried", "behaviours", "abnormal_intervals", "first_frame",
    "last_frame", "boxes", "appearance", "trajectory", "direction", "enter_side", "exit_side",
}  # fmt: skip
DIRECTIONS = {"left", "right", "up", "down", "up-left", "up-right", "down-left", "down-right", "none"}
SIDES = {"left", "right", "top", "bottom", "inside"}
ABNORMAL_BEHAVIOURS = {
    "running", "cycling on the walkway", "skateboarding on the walkway", "driving on the walkway", "falling",
    "lying down", "loitering", "zig-zagging", "walking against the flow", "jumping", "fighting",
}  # fmt: skip
NORMAL_BEHAVIOURS = {"walking", "standing", "driving", "cycling"}


def _records(root: Path) -> list[dict]:
    return [r for _, r in iter_jsonl(root / "truth.jsonl")]


@pytest.mark.parametrize("layout", ["ubnormal", "shanghaitech"])
def test_truth_records_are_complete_and_consistent(synth_small: Path, layout: str) -> None:
    rows = _records(synth_small / layout)
    assert rows
    keys = [(r["video_id"], r["object_id"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for r in rows:
        assert set(r) == FIELDS
        assert r["category"] in {"person", "bicycle", "skateboard", "car"}
        assert set(r["colours"]) == {"top", "bottom", "body"}
        for slot, colour in r["colours"].items():
            assert colour is None or colour in COLOUR_NAMES, (slot, colour)
        if r["category"] == "car":
            assert r["colours"]["top"] is None and r["colours"]["body"] in COLOUR_NAMES
        else:
            assert r["colours"]["top"] in r["appearance"] and r["colours"]["bottom"] in r["appearance"]
        assert set(r["carried"]) <= {"backpack", "bag", "umbrella"}
        assert all(c in r["appearance"] for c in r["carried"])
        assert r["direction"] in DIRECTIONS and r["enter_side"] in SIDES and r["exit_side"] in SIDES
        assert r["trajectory"].startswith(("enters from the", "starts "))
        assert ", then " in r["trajectory"]
        # boxes: one per visible frame, inside the image, from first_frame to last_frame
        frames = [b[0] for b in r["boxes"]]
        assert (
            frames == sorted(set(frames)) and frames[0] == r["first_frame"] and frames[-1] == r["last_frame"]
        )
        for _, x0, y0, x1, y1 in r["boxes"]:
            assert 0 <= x0 <= x1 < 320 and 0 <= y0 <= y1 < 240
        # behaviours: consecutive, non-overlapping, within the visible span, labels from the vocabulary
        beh = r["behaviours"]
        assert beh[0]["start"] == r["first_frame"] and beh[-1]["end"] == r["last_frame"]
        for a, b in itertools.pairwise(beh):
            assert a["end"] + 1 == b["start"]
        for b in beh:
            assert b["behaviour"] in (ABNORMAL_BEHAVIOURS if b["abnormal"] else NORMAL_BEHAVIOURS)
        # abnormal intervals: visible frames of abnormal behaviours, maximal runs
        abnormal_frames = {t for b in beh if b["abnormal"] for t in range(b["start"], b["end"] + 1)}
        labelled = {t for s, e in r["abnormal_intervals"] for t in range(s, e + 1)}
        assert labelled == abnormal_frames & set(frames)
        for (_, e1), (s2, _) in itertools.pairwise(r["abnormal_intervals"]):
            assert s2 > e1 + 1


def test_every_behaviour_is_shown(synth_small: Path) -> None:
    rows = _records(synth_small / "ubnormal")
    seen = {b["behaviour"] for r in rows for b in r["behaviours"]}
    assert seen >= ABNORMAL_BEHAVIOURS | {"walking", "driving"}
    cats = {r["category"] for r in rows if r["abnormal_intervals"]}
    assert cats == {"person", "bicycle", "skateboard", "car"}


@pytest.mark.slow  # builds the default (CI-sized) synthetic set
def test_not_separable_by_one_cue(synth_root: Path) -> None:
    """Some normal objects are faster / larger than some abnormal ones, and colours occur on both sides."""
    rows = _records(synth_root / "ubnormal")

    def speed(r: dict) -> float:
        b = r["boxes"]
        if len(b) < 2:
            return 0.0
        c = [((x0 + x1) / 2, (y0 + y1) / 2) for _, x0, y0, x1, y1 in b]
        return math.dist(c[0], c[-1]) / (b[-1][0] - b[0][0])

    def area(r: dict) -> float:
        return float(np.median([(x1 - x0 + 1) * (y1 - y0 + 1) for _, x0, y0, x1, y1 in r["boxes"]]))

    normal = [r for r in rows if not r["abnormal_intervals"]]
    abnormal = [r for r in rows if r["abnormal_intervals"]]
    assert max(map(speed, normal)) > np.median([speed(r) for r in abnormal])
    assert max(map(area, normal)) > max(map(area, abnormal)) * 0.8
    assert min(map(speed, abnormal)) < np.median([speed(r) for r in normal])
    tops_n = {r["colours"]["top"] for r in normal if r["category"] == "person"}
    tops_a = {r["colours"]["top"] for r in abnormal if r["category"] == "person"}
    assert len(tops_n & tops_a) >= 3


def test_every_split_holds_every_anomaly_kind() -> None:
    cfg = PRESETS["ci"]
    plan = plan_ubnormal(cfg, 0)
    for split in ("train", "test"):
        kinds = {k for pv in plan if pv.split == split for k in pv.spec.anomalies}
        assert kinds == set(ANOMALY_KINDS), split
        assert {pv.abnormal for pv in plan if pv.split == split} == {True, False}
    assert {pv.abnormal for pv in plan if pv.split == "validation"} == {True, False}
    st = plan_shanghaitech(cfg, 0)
    assert [pv.split for pv in st].count("train") == 4 and [pv.split for pv in st].count("test") == 6
    assert sum(pv.spec.all_abnormal for pv in st) == 1
    assert not any(pv.abnormal for pv in st if pv.split == "train")


def test_palette_is_well_separated_and_recoverable() -> None:
    for a, b in itertools.combinations(PALETTE.values(), 2):
        assert math.dist(a, b) > 90
    rng = np.random.default_rng(0)
    for top, bottom in [
        ("red", "blue"),
        ("orange", "brown"),
        ("pink", "white"),
        ("grey", "black"),
        ("purple", "green"),
    ]:
        app = Appearance("person", top=top, bottom=bottom)
        _, _, crop, mask = rasterise(app, Pose(60.0, 100.0, amp=0.6, phase=1.0), 60.0, 160, 120)
        noisy = np.clip(crop.astype(int) + rng.normal(0, 4, crop.shape), 0, 255)
        rows = np.flatnonzero(mask.any(1))
        h = rows[-1] - rows[0] + 1
        upper = mask.copy()
        upper[: rows[0] + int(0.25 * h)] = False  # below the head
        upper[rows[0] + int(0.45 * h) :] = False
        lower = mask.copy()
        lower[: rows[0] + int(0.7 * h)] = False
        for region, want in ((upper, top), (lower, bottom)):
            b, g, r = np.median(noisy[region], axis=0)
            assert nearest_colour((r, g, b)) == want


def test_geometry_rules() -> None:
    assert direction_of(10, 0, 1) == "right" and direction_of(-10, 0, 1) == "left"
    assert direction_of(0, -10, 1) == "up" and direction_of(0, 10, 1) == "down"
    assert direction_of(-10, -10, 1) == "up-left" and direction_of(10, 10, 1) == "down-right"
    assert direction_of(1, 1, 5) == "none"
    # enters at the right edge, moves to the upper-left, leaves through the top before the clip ends
    boxes = {t: (300 - 4 * t, 150 - 4 * t, 339 - 4 * t, 190 - 4 * t) for t in range(5, 41)}
    boxes = {t: (max(0, b[0]), max(0, b[1]), min(319, b[2]), min(239, b[3])) for t, b in boxes.items()}
    sentence, direction, enter, leave = trajectory_truth(boxes, 320, 240, 60)
    assert (direction, enter, leave) == ("up-left", "right", "top")
    assert sentence == "enters from the right, moves toward the upper-left, then exits at the top"
    # a still object inside the view for the whole clip
    still = {t: (100, 100, 120, 140) for t in range(60)}
    sentence, direction, enter, leave = trajectory_truth(still, 320, 240, 60)
    assert (direction, enter, leave) == ("none", "inside", "inside")
    assert sentence == "starts in the centre, stays in place, then remains in view in the centre"
    # up the vertical walkway, then a turn to the left: two moves
    path = [(160, 245 - 4 * t) for t in range(30)] + [(160 - 5 * t, 125) for t in range(1, 30)]
    boxes = {t: (x - 5, y - 20, x + 5, min(239, y)) for t, (x, y) in enumerate(path)}
    sentence, *_ = trajectory_truth(boxes, 320, 240, 80)
    assert (
        sentence
        == "enters from the bottom, moves toward the top, turns toward the left, then remains in view at the left"
    )


def test_appearance_sentences() -> None:
    assert (
        appearance_sentence(Appearance("person", "red", "blue", carried=("backpack",)))
        == "a person in a red top and blue trousers carrying a backpack"
    )
    assert appearance_sentence(Appearance("person", "orange", "black", carried=("umbrella",))).startswith(
        "a person in an orange top and black trousers holding an umbrella"
    )
    assert appearance_sentence(Appearance("car", body="white")) == "a white car"
    assert (
        appearance_sentence(Appearance("bicycle", "green", "grey", "yellow"))
        == "a person in a green top and grey trousers riding a yellow bicycle"
    )
    assert appearance_sentence(Appearance("skateboard", "pink", "blue", "orange")).endswith(
        "on an orange skateboard"
    )
