"""The ``geometric`` backend: answers the stage prompts without a model, from masks and pixels (deterministic).

- category: the source's class when it has one; for sources without classes ("unknown", as in ShanghaiTech) a
  rule on the mask's shape (aspect ratio);
- colours: named from masked pixels (:mod:`..colours`): for people the upper and lower bands of the mask, for
  vehicles and boards the dominant colour of the part that is not the rider; in stage 2 read from the very
  target-focused views a VLM is shown;
- action and motion: from the geometry of the masks (:mod:`..motion`).

It sees the same requests as a VLM; the ``evidence`` attached to each request is what it reads instead of
looking at the JPEG images.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..colours import body_bands, dominant_colour, erode, name_pixels
from ..motion import Motion, MotionParams, analyse
from ..recipe import ColourConfig, Recipe
from ..timelines import majority
from ..vocab import PERSON_LIKE, normalise_category, position_of
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


def _aspect_ratios(masks: Sequence[np.ndarray]) -> list[float]:
    """Height / width of each non-empty mask's extent."""
    ratios = []
    for m in masks:
        rows = np.flatnonzero(np.asarray(m).any(axis=1))
        cols = np.flatnonzero(np.asarray(m).any(axis=0))
        if rows.size and cols.size:
            ratios.append((rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1))
    return ratios


def shape_category(masks: Sequence[np.ndarray]) -> str:
    """Category from the median aspect ratio of the masks: wide → car, squarish → bicycle, tall → person."""
    ratios = _aspect_ratios(masks)
    if not ratios:
        return "other"
    r = float(np.median(ratios))
    if r < 0.75:
        return "car"
    if r < 1.3:
        return "bicycle"
    return "person"


def action_word(category: str, speed: float, lying: bool, p: MotionParams) -> str:
    """A short action phrase from the category and speed (sizes per second)."""
    if lying and category == "person":
        return "lying on the ground"
    still, fast = speed < p.still_speed, speed >= p.fast_speed
    slow = speed < p.slow_speed
    if category == "person":
        return "standing" if still else "walking slowly" if slow else "running" if fast else "walking"
    if category in ("bicycle", "motorcycle"):
        return "stopped" if still else "riding fast" if fast else "riding"
    if category == "skateboard":
        return "standing on a skateboard" if still else "skateboarding fast" if fast else "skateboarding"
    if category in ("car", "van", "truck", "bus", "ambulance", "policecar"):
        return "parked" if still else "driving fast" if fast else "driving"
    return "still" if still else "moving fast" if fast else "moving"


def _lying(masks: Sequence[np.ndarray]) -> bool:
    ratios = _aspect_ratios(masks)
    return bool(ratios) and float(np.median(ratios)) < 1.0


def read_colours(
    image: np.ndarray, mask: np.ndarray, category: str, cfg: ColourConfig, erode_px: int = 1
) -> dict[str, str | None]:
    """``{"top", "bottom", "body"}`` colour names of one target in one image."""
    m = erode(mask, erode_px)
    if category == "person":
        if _lying([mask]):
            # Bands of a lying person would cut across the body: better no answer than a wrong one (the vote
            # across frames fills it from upright frames).
            return {"top": None, "bottom": None, "body": None}
        up, low = body_bands(m, cfg.top_band, cfg.bottom_band)
        return {"top": dominant_colour(image, up)[0], "bottom": dominant_colour(image, low)[0], "body": None}
    if category in ("bicycle", "motorcycle"):
        # Side view of a rider: torso high up, thighs just below the saddle, and the frame (with dark tyres)
        # lowest. Each band's answer excludes the colours already explained by the bands above it.
        up, low = body_bands(m, (0.18, 0.42), (0.5, 0.65))
        top = dominant_colour(image, up)[0]
        bottom = _dominant_excluding(image, low, {top})
        frame, _ = body_bands(m, (0.72, 0.92), (1.0, 1.0))
        body = _dominant_excluding(image, frame, {bottom, "black", "grey"})
        return {"top": top, "bottom": bottom, "body": body}
    if category == "skateboard":
        up, low = body_bands(m, cfg.top_band, (0.7, 0.9))
        deck, _ = body_bands(mask, (0.9, 1.0), (1.0, 1.0))
        bottom = dominant_colour(image, low)[0]
        return {
            "top": dominant_colour(image, up)[0],
            "bottom": bottom,
            "body": _dominant_excluding(image, deck, {bottom, "black"}),
        }
    return {"top": None, "bottom": None, "body": _dominant_excluding(image, m, {"black"}, fallback=True)}


def _dominant_excluding(
    image: np.ndarray, mask: np.ndarray, exclude: set, *, fallback: bool = True
) -> str | None:
    pix = image[np.asarray(mask, dtype=bool)]
    if len(pix) == 0:
        return None
    if len(pix) > 4000:
        pix = pix[:: int(np.ceil(len(pix) / 4000))]
    uniq, counts = np.unique(pix.reshape(-1, 3), axis=0, return_counts=True)
    votes: Counter[str] = Counter()
    for name, c in zip(name_pixels(uniq), counts, strict=True):
        votes[name] += int(c)
    for name, n in votes.most_common():
        # A colour must cover a real share of the region, not a few blended edge pixels.
        if name not in exclude and n >= 0.08 * len(pix):
            return name
    return votes.most_common(1)[0][0] if fallback else None


def _clothing(category: str, colours: dict) -> tuple[str | None, str | None]:
    if category in PERSON_LIKE:
        return ("top" if colours.get("top") else None, "trousers" if colours.get("bottom") else None)
    return None, None


def _appearance(category: str, colours: dict) -> dict:
    """The appearance fields every stage's answer has (category, colours, clothing, carried objects)."""
    upper, lower = _clothing(category, colours)
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
            meta = ev.categories.get(oid, "unknown")
            cat = shape_category([m]) if meta == "unknown" else normalise_category(meta)
            cols = read_colours(ev.frame, m, cat, self.colours)
            ys, xs = np.nonzero(m)
            targets.append(
                {
                    "id": int(oid),
                    **_appearance(cat, cols),
                    "position": position_of(float(xs.mean()), float(ys.mean()), w, h),
                    "action": action_word(cat, ev.speeds.get(oid, 0.0), _lying([m]), self.motion),
                }
            )
        return {"targets": targets}

    def _stage2(self, ev: TargetEvidence, *, reask: bool) -> dict:
        masks = [vm for _, vm in ev.crops]
        cat = shape_category(masks) if ev.category == "unknown" else normalise_category(ev.category)
        per_view = [read_colours(img, vm, cat, self.colours, erode_px=3) for img, vm in ev.crops]
        cols = {k: majority(c[k] for c in per_view) for k in ("top", "bottom", "body")}
        # Shown the measured evidence in a re-ask, a careful annotator adopts it.
        motion = dict(ev.measured) if reask and ev.measured is not None else self._motion(ev).features()
        return {
            **_appearance(cat, cols),
            "action": action_word(cat, ev.abnormal_speed, _lying(masks), self.motion),
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
