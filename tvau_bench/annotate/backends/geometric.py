"""The ``geometric`` backend: answers the stage prompts without a model, from masks and pixels (deterministic).

The rules are those of :mod:`..words` (the one place geometry becomes words):

- category: the source's class when it has one; for sources without classes ("unknown", as in ShanghaiTech) a
  rule on the mask's shape (aspect ratio);
- colours: named from masked pixels: for people the upper and lower bands of the mask, for vehicles and boards
  the dominant colour of the part that is not the rider; in stage 2 read from the very target-focused views a
  VLM is shown;
- action and motion: from the geometry of the masks (:mod:`..motion`).

It sees the same requests as a VLM; the ``evidence`` attached to each request is what it reads instead of
looking at the JPEG images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..motion import Motion, MotionParams, analyse
from ..recipe import ColourConfig, Recipe
from ..vocab import position_of
from ..words import action_word, category_of, clothing, colour_vote, is_lying, read_colours
from .base import Backend, Request, Response, answer_error

VERSION = "geometric-1"


@dataclass
class FrameEvidence:
    """Stage 1: the raw frame, the masks of the targets asked about, and what the geometry says about them."""

    frame_index: int
    frame: np.ndarray
    masks: dict[int, np.ndarray]
    categories: dict[int, str]  # source classes ("unknown" when the source has none)
    speeds: dict[int, float]  # target sizes per second around this frame


@dataclass
class TargetEvidence:
    """Stage 2 and re-asks: the focused views (image + view mask) and the target's boxes in the track views."""

    category: str
    crops: list[tuple[np.ndarray, np.ndarray]]
    track_frames: list[int]
    track_boxes: list[tuple[int, int, int, int]]
    track_centres: list[tuple[float, float]]
    width: int
    height: int
    fps: float
    abnormal_speed: float  # median speed inside the abnormal intervals (sizes per second)
    measured: dict | None = None  # re-asks: the motion features measured on every frame
    extra: dict = field(default_factory=dict)


def _appearance(category: str, colours: dict) -> dict:
    """The appearance fields every stage's answer has (category, colours, clothing, carried objects)."""
    upper, lower = clothing(category, colours)
    return {
        "category": category,
        "top_colour": colours["top"],
        "bottom_colour": colours["bottom"],
        "body_colour": colours["body"],
        "upper_clothing": upper,
        "lower_clothing": lower,
        "carried_objects": [],
    }


class GeometricBackend(Backend):
    """Model-free annotator (the default): same requests, answers from the evidence."""

    name = "geometric"
    cacheable = False  # recomputing is cheaper than a disk round trip

    def __init__(self, colours: ColourConfig | None = None, motion: MotionParams | None = None) -> None:
        self.colours = colours or ColourConfig()
        self.motion = motion or MotionParams()

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> GeometricBackend:
        return cls(recipe.colours, recipe.motion)

    def identity(self) -> dict:
        return {"backend": "geometric", "version": VERSION}

    def provenance(self) -> dict:
        return {"annotator": VERSION, "model_id": None, "model_revision": None, "vllm_version": None}

    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        out = []
        for req in requests:
            if req.kind == "stage1":
                answer = self._stage1(req.evidence)
            elif req.kind in ("stage2", "reask"):
                answer = self._stage2(req.evidence, reask=req.kind == "reask")
            else:
                out.append(Response(None, error=f"unknown request kind {req.kind!r}"))
                continue
            err = answer_error(answer, req.schema)
            out.append(
                Response(answer, error=None) if err is None else Response(None, error=f"geometric: {err}")
            )
        return out

    def _stage1(self, ev: FrameEvidence) -> dict:
        h, w = ev.frame.shape[:2]
        targets = []
        for oid, m in sorted(ev.masks.items()):
            cat = category_of(ev.categories.get(oid, "unknown"), [m])
            cols = read_colours(ev.frame, m, cat, self.colours)
            ys, xs = np.nonzero(m)
            targets.append(
                {
                    "id": int(oid),
                    **_appearance(cat, cols),
                    "position": position_of(float(xs.mean()), float(ys.mean()), w, h),
                    "action": action_word(cat, ev.speeds.get(oid, 0.0), is_lying([m]), self.motion),
                }
            )
        return {"targets": targets}

    def _stage2(self, ev: TargetEvidence, *, reask: bool) -> dict:
        masks = [vm for _, vm in ev.crops]
        cat = category_of(ev.category, masks)
        cols = colour_vote(read_colours(img, vm, cat, self.colours, erode_px=3) for img, vm in ev.crops)
        # Shown the measured evidence in a re-ask, a careful annotator adopts it.
        motion = dict(ev.measured) if reask and ev.measured is not None else self._motion(ev).features()
        return {
            **_appearance(cat, cols),
            "action": action_word(cat, ev.abnormal_speed, is_lying(masks), self.motion),
            "motion": motion,
        }

    def _motion(self, ev: TargetEvidence) -> Motion:
        if not ev.track_frames:
            return analyse([0], [(0, 0, 1, 1)], width=max(ev.width, 2), height=max(ev.height, 2), fps=ev.fps)
        return analyse(
            ev.track_frames,
            ev.track_boxes,
            centres=ev.track_centres,
            width=ev.width,
            height=ev.height,
            fps=ev.fps,
            params=self.motion,
        )
