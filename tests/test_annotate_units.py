"""Unit tests of the annotation building blocks: motion in words, colour naming, sampling, dialogue clips,
sentences, votes, recipes, cache, views and the geometric answers."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest

from tvau_bench.annotate import dialogue, motion
from tvau_bench.annotate.backends.base import Request, answer_error
from tvau_bench.annotate.backends.geometric import FrameEvidence, GeometricBackend
from tvau_bench.annotate.cache import RequestCache
from tvau_bench.annotate.colours import COLOUR_NAMES, PROTOTYPES_RGB, dominant_colour, person_colours
from tvau_bench.annotate.recipe import load_recipe, shipped_recipes
from tvau_bench.annotate.sampling import stage1_frames, uniform, uniform_from
from tvau_bench.annotate.sentences import action_sentence, appearance_sentence
from tvau_bench.annotate.stage3 import assess
from tvau_bench.annotate.timelines import Observation, vote
from tvau_bench.annotate.views import target_view
from tvau_bench.annotate.vocab import STAGE1_SCHEMA, STAGE2_SCHEMA
from tvau_bench.annotate.words import shape_category
from tvau_bench.errors import TvauError

W, H, FPS = 320, 240, 30.0


def _walk(points: list[tuple[float, float]], frames_per_leg: int = 40, half: int = 10, start: int = 0):
    """Boxes along straight legs between points (clipped to the image), one per frame."""
    frames, boxes = [], []
    f = start
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        for k in range(frames_per_leg):
            t = k / frames_per_leg
            cx, cy = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            box = (
                max(0, int(cx - half)),
                max(0, int(cy - 2 * half)),
                min(W - 1, int(cx + half)),
                min(H - 1, int(cy + 2 * half)),
            )
            if box[0] <= box[2] and box[1] <= box[3]:
                frames.append(f)
                boxes.append(box)
            f += 1
    return frames, boxes


@pytest.mark.parametrize(
    ("dx", "dy", "name"),
    [
        (1, 0, "right"),
        (-1, 0, "left"),
        (0, -1, "up"),
        (0, 1, "down"),
        (1, -1, "up-right"),
        (-1, 1, "down-left"),
    ],
)
def test_direction_names(dx, dy, name):
    assert motion.direction_of(dx, dy) == name


def test_enter_turn_exit_sentence():
    frames, boxes = _walk([(330, 150), (160, 150), (320, -30)], start=5)
    m = motion.analyse(frames, boxes, width=W, height=H, fps=FPS, span=(0, 200))
    assert m.enter_side == "right" and m.exit_side == "top"
    assert m.turns == ("up-right",)
    assert m.speed == "fast"
    assert motion.describe(m) == (
        "Enters from the right, moves quickly toward the left, turns toward the upper-right corner, then exits at the top."
    )


def test_stop_and_still_and_inside():
    frames, boxes = _walk([(60, 120), (140, 120), (140, 120), (220, 120)], frames_per_leg=40)
    m = motion.analyse(frames, boxes, width=W, height=H, fps=FPS)
    assert m.stops == 1 and m.direction == "right" and m.enter_side == "inside" and m.exit_side == "inside"
    assert "stops for a moment" in motion.describe(m)
    still = motion.analyse(list(range(50)), [(100, 100, 120, 140)] * 50, width=W, height=H, fps=FPS)
    assert still.features() == {
        "direction": "none",
        "speed": "still",
        "enter_side": "inside",
        "exit_side": "inside",
        "stops": 0,
        "turns": 0,
    }
    assert motion.describe(still) == "Stays in place in the centre."


def test_edge_at_first_frame_needs_inward_motion_unless_it_appears_later():
    # touches the left border at frame 0 but walks along it: not an entrance
    frames, boxes = _walk([(5, 40), (5, 200)], half=8)
    assert motion.analyse(frames, boxes, width=W, height=H, fps=FPS, span=(0, 100)).enter_side == "inside"
    # appears at frame 10 touching the left border: entered there
    frames, boxes = _walk([(5, 40), (5, 200)], half=8, start=10)
    assert motion.analyse(frames, boxes, width=W, height=H, fps=FPS, span=(0, 100)).enter_side == "left"


def test_compare_partial_credit():
    truth = {
        "direction": "left",
        "speed": "moderate",
        "enter_side": "right",
        "exit_side": "inside",
        "stops": 0,
        "turns": 1,
    }
    claim = {
        "direction": "up-left",
        "speed": "fast",
        "enter_side": "right",
        "exit_side": "left",
        "stops": 0,
        "turns": 3,
    }
    assert motion.compare(claim, truth) == {
        "direction": 0.5,
        "speed": 0.5,
        "enter_side": 1.0,
        "exit_side": 0.0,
        "stops": 1.0,
        "turns": 0.0,
    }
    assert motion.compare({}, truth)["direction"] == 0.0


def test_waypoints_normalised_and_bounded():
    wps = motion.waypoints(
        list(range(100)), [(i * 3.19, 239.0) for i in range(100)], width=W, height=H, count=5
    )
    assert len(wps) == 5 and wps[0]["x"] == 0.0 and wps[-1]["x"] <= 1.0 and all(w["y"] == 1.0 for w in wps)


@pytest.mark.parametrize("name", COLOUR_NAMES)
def test_colour_prototypes_name_themselves_even_with_noise(name):
    rng = np.random.default_rng(0)
    r, g, b = PROTOTYPES_RGB[name][0]
    img = np.clip(np.array([b, g, r], float) + rng.normal(0, 6, (20, 20, 3)), 0, 255).astype(np.uint8)
    got, share = dominant_colour(img, np.ones((20, 20), bool))
    assert got == name and share > 0.6


def test_person_colours_from_bands():
    img = np.zeros((100, 40, 3), np.uint8)
    mask = np.zeros((100, 40), bool)
    mask[:, 10:30] = True
    img[:20] = (150, 180, 225)  # skin (head)
    img[20:55] = (35, 30, 215)  # red top (BGR)
    img[55:] = (215, 70, 35)  # blue trousers
    assert person_colours(img, mask, top=(0.3, 0.6), bottom=(0.8, 0.98)) == ("red", "blue")
    assert dominant_colour(img, np.zeros((100, 40), bool)) == (None, 0.0)


def test_shape_category():
    def box(h, w):
        m = np.zeros((100, 100), bool)
        m[:h, :w] = True
        return m

    assert shape_category([box(60, 20)]) == "person"
    assert shape_category([box(30, 80)]) == "car"
    assert shape_category([box(50, 48)]) == "bicycle"


def test_sampling():
    assert uniform(0, 99, 5) == [0, 25, 50, 74, 99]
    assert uniform(3, 3, 4) == [3]
    assert uniform_from([1, 2, 3], 8) == [1, 2, 3]
    frames = stage1_frames(120, [list(range(50, 56))], per_video=4, per_target=3, max_frames=10)
    assert sum(50 <= f <= 55 for f in frames) >= 3 and frames == sorted(set(frames))


def test_normal_clips_avoid_abnormal_frames():
    labels = np.zeros(200, np.uint8)
    labels[90:110] = 1
    clips = dialogue.normal_clips(labels, 40, 3, 10)
    assert clips and all(e - s + 1 == 40 for s, e in clips)
    assert all(e < 80 or s > 119 for s, e in clips)
    assert dialogue.normal_clips(np.zeros(20, np.uint8), 48, 2, 5) == [(0, 19)]
    assert dialogue.normal_clips(np.ones(50, np.uint8), 10, 2, 0) == []
    assert dialogue.abnormal_clip((5, 20), 30, 15) == (0, 29)


def test_questions_equal_the_shipped_prompt_set():
    from importlib import resources

    shipped = json.loads(
        resources.files("tvau_bench.prompts").joinpath(f"{dialogue.PROMPT_SET}.json").read_text()
    )
    assert shipped["questions"] == dialogue.QUESTIONS


def test_sentences():
    assert appearance_sentence("person", {"top": "red", "bottom": "blue"}, carried=("backpack",)) == (
        "A person in a red top and blue trousers, carrying a backpack."
    )
    assert appearance_sentence("car", {"body": "orange"}) == "An orange car."
    assert appearance_sentence("bicycle", {"top": "white", "bottom": "grey", "body": "green"}) == (
        "A cyclist in a white top and grey trousers riding a green bicycle."
    )
    assert appearance_sentence("person", {"top": "red", "bottom": "blue"}, "jacket", "jeans") == (
        "A person in a red jacket and blue jeans."
    )
    assert action_sentence(["walking", "walking", "running"]) == "It is walking, then running."
    assert action_sentence([]) == ""


def _obs(frame, top, stage="stage1"):
    return Observation(frame, stage, "person", top, "blue", None, None, None, (), None, "walking")


def test_vote_flags_outliers_and_scores():
    obs = [_obs(0, "red"), _obs(1, "red"), _obs(2, "green"), _obs(-1, "red", "stage2")]
    winners, agreement, outliers = vote(obs, [1, 1, 1, 2])
    assert winners["top"] == "red" and winners["body"] is None
    assert outliers == [
        {"frame": 2, "stage": "stage1", "attribute": "top", "value": "green", "majority": "red"}
    ]
    assert agreement == pytest.approx((1 + 4 / 5 + 1) / 3)
    measured = {
        "direction": "left",
        "speed": "slow",
        "enter_side": "inside",
        "exit_side": "inside",
        "stops": 0,
        "turns": 0,
    }
    v = assess(obs, [1, 1, 1, 2], dict(measured, direction="right"), measured)
    assert v.motion == pytest.approx(5 / 6)
    assert v.consistency == pytest.approx(round((agreement + 5 / 6) / 2, 4))


def test_recipes_load_and_reject_typos(tmp_path):
    assert "synthetic" in shipped_recipes()
    r = load_recipe("synthetic")
    assert r.backend.kind == "geometric" and set(r.prompts) == {"system", "stage1", "stage2", "reask"}
    bad = tmp_path / "r.yaml"
    bad.write_text("name: x\nstage1:\n  frames_per_vdeo: 3\n")
    with pytest.raises(TvauError, match="frames_per_vdeo"):
        load_recipe(bad)
    bad.write_text("name: x\nbackend:\n  kind: openai\n  model: m\n")
    with pytest.raises(TvauError, match="endpoint"):
        load_recipe(bad)
    bad.write_text("name: x\nstage3:\n  accept: yes-please\n")
    with pytest.raises(TvauError, match=r"stage3\.accept"):
        load_recipe(bad)
    with pytest.raises(TvauError, match="no recipe"):
        load_recipe("no-such-recipe")
    (tmp_path / "p.txt").write_text("frame {frame} ids {ids} {width}x{height}")
    good = tmp_path / "g.yaml"
    good.write_text("name: g\nprompts:\n  stage1: p.txt\n")
    assert load_recipe(good).prompts["stage1"].startswith("frame {frame}")


def test_cache_roundtrip_and_corruption(tmp_path):
    cache = RequestCache(tmp_path)
    cache.put("ab" * 32, {"answer": {"x": 1}})
    assert cache.get("ab" * 32)["answer"] == {"x": 1} and len(cache) == 1
    (tmp_path / "ab" / f"{'ab' * 32}.json").write_text("{torn")
    with pytest.warns(UserWarning, match="unreadable"):
        assert cache.get("ab" * 32) is None
    assert cache.get("cd" * 32) is None


def test_request_key_ignores_evidence_but_not_images():
    from tvau_bench.annotate.asker import Asker

    asker = Asker(GeometricBackend(), None)
    a = Request("stage1", "i", "s", "p", (b"1",), STAGE1_SCHEMA, evidence=1)
    b = Request("stage1", "i", "s", "p", (b"1",), STAGE1_SCHEMA, evidence=2)
    c = Request("stage1", "i", "s", "p", (b"2",), STAGE1_SCHEMA)
    assert asker.key(a) == asker.key(b) != asker.key(c)


def test_target_view_suppresses_background_and_keeps_the_target():
    frame = np.full((120, 160, 3), 200, np.uint8)
    mask = np.zeros((120, 160), bool)
    mask[40:80, 60:80] = True
    frame[mask] = (35, 30, 215)
    view, vm = target_view(frame, mask, margin=0.5, side=112, darken=0.25)
    assert max(view.shape[:2]) == 112 and vm.shape == view.shape[:2]
    assert view[~vm].mean() < 80  # darkened (outline aside)
    inner = cv2.erode(vm.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert dominant_colour(view, inner)[0] == "red"


def test_geometric_answers_are_schema_valid():
    frame = np.full((120, 160, 3), 90, np.uint8)
    m = np.zeros((120, 160), bool)
    m[20:100, 70:90] = True
    frame[20:60, 70:90] = (35, 30, 215)
    frame[60:100, 70:90] = (215, 70, 35)
    ev = FrameEvidence(3, frame, {7: m}, {7: "unknown"}, {7: 1.0})
    req = Request("stage1", "v:frame:3", "s", "p", (), STAGE1_SCHEMA, evidence=ev)
    (resp,) = GeometricBackend().answer_many([req])
    assert resp.ok and answer_error(resp.answer, STAGE1_SCHEMA) is None
    t = resp.answer["targets"][0]
    assert (t["id"], t["category"], t["top_colour"], t["bottom_colour"], t["action"]) == (
        7,
        "person",
        "red",
        "blue",
        "walking",
    )
    assert answer_error({"category": "person"}, STAGE2_SCHEMA) is not None


def test_vllm_backend_is_import_guarded(monkeypatch):
    import builtins
    import dataclasses

    from tvau_bench.annotate.backends import make_backend

    real_import = builtins.__import__

    def no_vllm(name, *args, **kwargs):
        if name == "vllm" or name.startswith("vllm."):
            raise ImportError("no vllm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    recipe = load_recipe("synthetic")
    recipe = dataclasses.replace(recipe, backend=dataclasses.replace(recipe.backend, kind="vllm", model="m"))
    with pytest.raises(TvauError, match="vllm"):
        make_backend(recipe)


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    from tvau_bench.cli import main

    assert main(["annotate", "no-such-recipe", "--source", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no recipe" in err and "fix:" in err
    assert main(["annotate-eval", str(tmp_path), "--truth", str(tmp_path / "t.jsonl")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_marked_frame_outlines_and_numbers_targets():
    from tvau_bench.annotate.views import OUTLINE_BGR, marked_frame

    frame = np.zeros((60, 80, 3), np.uint8)
    m = np.zeros((60, 80), bool)
    m[20:50, 30:45] = True
    out = marked_frame(frame, {3: m})
    assert (out == OUTLINE_BGR).all(axis=2).sum() > 40  # outline drawn
    assert (out[:20].min(axis=2) > 150).any()  # white label above the target
    assert not frame.any()  # input untouched
