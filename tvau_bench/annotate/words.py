"""Geometry to words: every rule that turns a target's masks, boxes and pixels into the dataset's wording.

- appearance: the category (the source's class, else the mask shape: :func:`category_of`), colours named from
  masked pixels (:func:`read_colours`), the garments they imply (:func:`clothing`), and the sentence
  (:func:`.sentences.appearance_sentence`);
- actions: an action word from category and speed (:func:`action_word`), the median speed while abnormal
  (:func:`abnormal_speed`), and "what it did before, then what it did when abnormal" (:func:`action_sequence`,
  :func:`target_answer`);
- trajectory: the motion sentence of a track within a clip (:func:`trajectory`).

The ``geometric`` backend answers the stage prompts with these rules, the pipeline words its records with them,
and :class:`GeometryWords` applies them to one object of a source-like video for the harness's
``geometry-oracle`` (the source's masks) and ``ahd-template`` (a track found by the AHD) adapters.

The synthetic generator words its ground truth on its own (:mod:`tvau_bench.synth.truth`) on purpose: the
annotator is measured against it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .colours import body_bands, dominant_colour, erode, name_pixels
from .motion import MotionParams, analyse, describe
from .recipe import ColourConfig
from .sentences import action_sentence, appearance_sentence
from .timelines import GeoTrack, Ties, majority
from .vocab import PERSON_LIKE, normalise_category

SLOTS = ("top", "bottom", "body")  # the colour slots of a target, in the order records list them
_VEHICLES = ("car", "van", "truck", "bus", "ambulance", "policecar")


def aspect_ratios(masks: Iterable[np.ndarray]) -> list[float]:
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
    ratios = aspect_ratios(masks)
    if not ratios:
        return "other"
    r = float(np.median(ratios))
    if r < 0.75:
        return "car"
    if r < 1.3:
        return "bicycle"
    return "person"


def category_of(source_category: str, masks: Sequence[np.ndarray]) -> str:
    """The source's class, normalised; from the mask shape when the source has none ("unknown")."""
    return shape_category(masks) if source_category == "unknown" else normalise_category(source_category)


def is_lying(masks: Iterable[np.ndarray], below: float = 1.0) -> bool:
    """Whether the masks are wider than tall (median aspect ratio under ``below``): a person lying down."""
    ratios = aspect_ratios(masks)
    return bool(ratios) and float(np.median(ratios)) < below


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
    if category in _VEHICLES:
        return "parked" if still else "driving fast" if fast else "driving"
    return "still" if still else "moving fast" if fast else "moving"


def abnormal_speed(speeds: Mapping[int, float], intervals: Iterable[Sequence[int]]) -> float:
    """Median speed over the frames inside the abnormal intervals (over every frame when none is inside)."""
    ivs = list(intervals)
    inside = [v for f, v in speeds.items() if any(s <= f <= e for s, e in ivs)] or list(speeds.values())
    return float(statistics.median(inside)) if inside else 0.0


def action_sequence(before: str | None, action: str | None) -> list[str]:
    """The target's actions in order: what it did before its abnormal action (when known and different), then
    that action; ``action`` None (nothing observed) gives none."""
    if before and before != action:
        return [before, action]
    return [action] if action is not None else []


def target_answer(appearance: str, actions: list[str]) -> str:
    """The answer to the target question: the appearance sentence, then the action sentence."""
    return " ".join(t for t in (appearance, action_sentence(actions)) if t)


def read_colours(
    image: np.ndarray, mask: np.ndarray, category: str, cfg: ColourConfig, erode_px: int = 1
) -> dict[str, str | None]:
    """``{"top", "bottom", "body"}`` colour names of one target in one image."""
    m = erode(mask, erode_px)
    if category == "person":
        if is_lying([mask]):
            # Bands of a lying person would cut across the body: better no answer than a wrong one (the vote
            # across frames fills it from upright frames).
            return dict.fromkeys(SLOTS)
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


def colour_vote(
    readings: Iterable[Mapping[str, str | None]], *, ties: Ties = "first"
) -> dict[str, str | None]:
    """Per slot, the majority of several :func:`read_colours` readings (ties as :func:`.timelines.majority`)."""
    readings = list(readings)
    return {k: majority((c[k] for c in readings), ties=ties) for k in SLOTS}


def clothing(category: str, colours: Mapping[str, str | None]) -> tuple[str | None, str | None]:
    """The garments a person-like target's colours imply: ``("top", "trousers")`` where those colours exist."""
    if category in PERSON_LIKE:
        return ("top" if colours.get("top") else None, "trousers" if colours.get("bottom") else None)
    return None, None


def trajectory(
    track: GeoTrack,
    span: tuple[int, int],
    *,
    width: int,
    height: int,
    fps: float,
    params: MotionParams | None = None,
) -> str | None:
    """The trajectory sentence of ``track`` within the clip ``span`` (None when it is not visible there)."""
    part = track.between(*span)
    if not part.frames:
        return None
    return describe(
        analyse(part.frames, part.boxes, width=width, height=height, fps=fps, params=params, span=span)
    )


def box_track(object_id: int, boxes: Mapping[int, Sequence[int]]) -> GeoTrack:
    """A :class:`.timelines.GeoTrack` (frames, boxes, box centres) from ``{frame: inclusive box}``."""
    frames = sorted(boxes)
    return GeoTrack(
        object_id,
        frames,
        [tuple(boxes[f]) for f in frames],
        [((boxes[f][0] + boxes[f][2]) / 2, (boxes[f][1] + boxes[f][3]) / 2) for f in frames],
    )


class GeometryWords:
    """These rules applied to one object of a source-like video: its appearance and actions (the ``target``
    answer) or its trajectory within a clip (the ``trajectory`` answer), from its masks and boxes alone.

    The video needs ``width``, ``height``, ``fps``, ``frames``, ``objects``, ``object_boxes`` and
    ``object_masks``; it may be the source itself (``geometry-oracle``) or a track found by a model
    (``ahd-template``).
    """

    # The harness baselines' rules where they differ from the annotator's: colour and action votes break ties
    # by the smallest word, and a person counts as lying below a stricter aspect ratio (their published answers
    # come from these).
    TIES: Ties = "smallest"
    LYING_BELOW = 0.8

    def __init__(self, colours: ColourConfig | None = None, motion: MotionParams | None = None) -> None:
        self.colours = colours or ColourConfig()
        self.motion = motion or MotionParams()

    def answer(self, video: Any, oid: int, kind: str, sample: Mapping[str, Any]) -> str:
        """The ``target`` or ``trajectory`` answer for object ``oid`` within the sample's clip ("" when the
        object is not visible in it)."""
        span = (sample["start_frame"], sample["end_frame"])
        track = box_track(oid, video.object_boxes(oid))
        if not track.between(*span).frames:
            return ""
        if kind == "trajectory":
            words = trajectory(
                track, span, width=video.width, height=video.height, fps=video.fps, params=self.motion
            )
            return words or ""
        return self.target(video, oid, track, sample["frame_indices"], span)

    def target(
        self, video: Any, oid: int, track: GeoTrack, wanted: Sequence[int], span: tuple[int, int]
    ) -> str:
        """Appearance and actions, read on the ``wanted`` frames where the object is visible (else on up to
        about eight of its visible frames in ``span``)."""
        visible = track.between(*span).frames
        shown = [f for f in wanted if f in set(visible)] or list(visible[:: max(1, len(visible) // 8)])
        images = dict(zip(shown, video.frames(shown), strict=True))
        masks = [video.object_masks(f).get(oid) for f in shown]
        pairs = [(images[f], m) for f, m in zip(shown, masks, strict=True) if m is not None and m.any()]
        if not pairs:
            return ""
        obj = next((o for o in video.objects() if o.object_id == oid), None)
        category = category_of(obj.category if obj is not None else "unknown", [m for _, m in pairs])
        colours = colour_vote(
            (read_colours(img, m, category, self.colours) for img, m in pairs), ties=self.TIES
        )
        upper, lower = clothing(category, colours)
        lying = is_lying((m for _, m in pairs), below=self.LYING_BELOW)
        intervals = list(obj.abnormal_intervals) if obj is not None else []
        actions = self.actions(track, video.fps, category, lying, intervals)
        return target_answer(appearance_sentence(category, colours, upper, lower), actions)

    def actions(
        self, track: GeoTrack, fps: float, category: str, lying: bool, intervals: Sequence[Sequence[int]]
    ) -> list[str]:
        """What the object did before its first abnormal frame (when that differs), then its abnormal action."""
        speeds = track.speeds(fps)
        action = action_word(category, abnormal_speed(speeds, intervals), lying, self.motion)
        start = min((s for s, _ in intervals), default=None)
        earlier = (
            action_word(category, v, False, self.motion)
            for f, v in speeds.items()
            if start is not None and f < start
        )
        return action_sequence(majority(earlier, ties=self.TIES), action)
