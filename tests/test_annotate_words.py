"""Geometry to words in one module (:mod:`tvau_bench.annotate.words`), shared by the annotator and the harness's
geometry baselines; the quarantine collector the stages write to."""

from __future__ import annotations

import numpy as np
import pytest

from tvau_bench.annotate import stage1, words
from tvau_bench.annotate.backends.base import Request, Response
from tvau_bench.annotate.motion import MotionParams
from tvau_bench.annotate.state import REQUEST_FAILED, Quarantine, failed_requests
from tvau_bench.annotate.timelines import majority
from tvau_bench.sources.base import SourceObject

RED, BLUE, GREY = (210, 35, 35), (40, 70, 210), (128, 128, 128)  # RGB prototypes of the colour names


class _Video:
    """A source-like video: one person (object 7), red top over blue trousers, 40 px tall, walking right from
    frame 0 and running from frame 10 (its abnormal interval 10..19)."""

    width, height, fps = 200, 120, 10.0

    def __init__(self) -> None:
        self._x = {f: 10 + (4 * f if f < 10 else 40 + 10 * (f - 10)) for f in range(20)}

    def objects(self) -> list[SourceObject]:
        return [SourceObject(7, "person", ((10, 19),), 0, 19)]

    def object_boxes(self, object_id: int) -> dict[int, tuple[int, int, int, int]]:
        return {f: (x, 40, x + 13, 79) for f, x in self._x.items()} if object_id == 7 else {}

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        m = np.zeros((self.height, self.width), bool)
        x0, y0, x1, y1 = self.object_boxes(7)[frame]
        m[y0 : y1 + 1, x0 : x1 + 1] = True
        return {7: m}

    def frames(self, indices):
        for f in indices:
            rgb = np.full((self.height, self.width, 3), GREY, np.uint8)
            x0, y0, x1, y1 = self.object_boxes(7)[f]
            rgb[y0:60, x0 : x1 + 1] = RED
            rgb[60 : y1 + 1, x0 : x1 + 1] = BLUE
            yield np.ascontiguousarray(rgb[:, :, ::-1])  # BGR, as sources give frames


def test_action_sequence_says_what_came_before_the_abnormal_action():
    assert words.action_sequence("walking", "running") == ["walking", "running"]
    assert words.action_sequence("running", "running") == ["running"]
    assert words.action_sequence(None, "running") == ["running"]
    assert words.action_sequence(None, None) == []
    assert (
        words.target_answer("A person.", ["walking", "running"]) == "A person. It is walking, then running."
    )
    assert words.target_answer("A person.", []) == "A person."


def test_majority_tie_rules():
    assert majority(["b", None, "a", "b", "a"]) == "b"  # first seen
    assert majority(["b", None, "a", "b", "a"], ties="smallest") == "a"
    assert majority([None, ""]) is None
    assert words.colour_vote([{"top": "red", "bottom": None, "body": None}] * 2) == {
        "top": "red",
        "bottom": None,
        "body": None,
    }


def test_abnormal_speed_is_the_median_inside_the_intervals():
    speeds = {0: 0.0, 1: 0.1, 2: 2.0, 3: 3.0, 4: 5.0}
    assert words.abnormal_speed(speeds, [(2, 3)]) == 2.5
    assert words.abnormal_speed(speeds, [(9, 9)]) == 2.0  # never inside: every frame
    assert words.abnormal_speed({}, []) == 0.0


def test_trajectory_of_a_track_within_a_clip():
    video = _Video()
    track = words.box_track(7, video.object_boxes(7))
    assert track.frames == list(range(20)) and track.centres[0] == (16.5, 59.5)
    text = words.trajectory(track, (0, 19), width=200, height=120, fps=10.0)
    assert "toward the right" in text and text.endswith(".")
    assert words.trajectory(track, (30, 40), width=200, height=120, fps=10.0) is None


def test_geometry_words_answers_from_masks_and_pixels():
    video, gw = _Video(), words.GeometryWords()
    sample = {"start_frame": 0, "end_frame": 19, "frame_indices": [0, 5, 10, 15]}
    # walking (4 px/frame on a 40 px target at 10 fps) before the abnormal interval, running inside it
    assert gw.answer(video, 7, "target", sample) == (
        "A person in a red top and blue trousers. It is walking, then running."
    )
    traj = gw.answer(video, 7, "trajectory", sample)
    track = words.box_track(7, video.object_boxes(7))
    assert traj == words.trajectory(track, (0, 19), width=200, height=120, fps=10.0, params=MotionParams())
    assert gw.answer(video, 7, "target", {**sample, "start_frame": 25, "end_frame": 30}) == ""
    assert gw.answer(video, 3, "trajectory", sample) == ""  # not an object of the video


def test_person_category_and_lying_from_mask_shape():
    tall, wide = np.zeros((50, 50), bool), np.zeros((50, 50), bool)
    tall[5:45, 20:32] = True
    wide[20:32, 5:45] = True
    assert words.category_of("unknown", [tall]) == "person"
    assert words.category_of("unknown", [wide]) == "car"
    assert words.category_of("Pedestrian", [wide]) == "person"  # the source's class wins
    assert words.is_lying([wide]) and not words.is_lying([tall])
    assert words.clothing("person", {"top": "red", "bottom": None}) == ("top", None)
    assert words.clothing("car", {"top": "red", "bottom": "blue"}) == (None, None)


@pytest.mark.parametrize("adapter", ["geometry-oracle", "ahd-template"])
def test_both_geometry_baselines_word_with_the_annotation_module(adapter):
    from tvau_bench.harness.adapters.geometry_oracle import GeometryOracleAdapter
    from tvau_bench.harness.model_config import model_config_from_dict
    from tvau_bench.models.adapter import AhdTemplateAdapter

    config = model_config_from_dict({"name": "t", "adapter": adapter, "adapter_args": {"ckpt": "x"}})
    made = GeometryOracleAdapter(config) if adapter == "geometry-oracle" else AhdTemplateAdapter(config, "x")
    assert type(made.words) is words.GeometryWords


def _stage1_request() -> Request:
    return Request(kind="stage1", item="v:frame:4", system="", prompt="", images=(), schema={})


def _target(oid: int) -> dict:
    return {
        "id": oid,
        "category": "person",
        "top_colour": "red",
        "bottom_colour": None,
        "body_colour": None,
        "upper_clothing": None,
        "lower_clothing": None,
        "carried_objects": [],
        "position": "centre",
        "action": "Walking ",
    }


def test_stage1_rejections_go_to_the_quarantine_collector():
    q = Quarantine()
    answer = {"targets": [_target(1), _target(9), _target(1)]}
    obs = stage1.observations(_stage1_request(), Response(answer), {1, 2}, 4, q)
    assert list(obs) == [1] and obs[1].action == "walking" and obs[1].frame == 4
    assert q.records == [
        {"item": "v:frame:4", "stage": "stage1", "reason": "unknown target id", "evidence": {"id": 9}},
        {"item": "v:frame:4", "stage": "stage1", "reason": "target described twice", "evidence": {"id": 1}},
        {"item": "v:frame:4", "stage": "stage1", "reason": "targets not described", "evidence": {"ids": [2]}},
    ]
    assert stage1.observations(_stage1_request(), Response(None, error="HTTP 500"), {1}, 4, q) == {}
    assert q.records[-1] == {
        "item": "v:frame:4",
        "stage": "stage1",
        "reason": "request failed",
        "evidence": {"error": "HTTP 500"},
    }
    # only the requests that failed for good are listed as failed requests
    assert failed_requests("v", q.records) == [
        {"video_id": "v", "stage": "stage1", "item": "v:frame:4", "error": "HTTP 500"}
    ]
    assert q.records[-1]["reason"] in REQUEST_FAILED
