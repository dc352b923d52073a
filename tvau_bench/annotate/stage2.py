"""Stage 2: anomaly-focused refinement. For each abnormal target one request with target-focused views built
from its masks (background suppressed, cropped with a margin, outlined) inside its abnormal intervals, plus
background-suppressed whole frames over its visible span for motion; the answer refines appearance and action
and states the motion that stage 3 checks against the geometry."""

from __future__ import annotations

import numpy as np

from .asker import Asker
from .backends.base import Request, Response
from .backends.geometric import TargetEvidence
from .recipe import Recipe
from .sampling import uniform_from, within
from .state import Target, VideoState
from .timelines import GeoTrack, Observation, answer_observation
from .views import encode_jpeg, resize_max, target_view, track_view
from .vocab import STAGE2_SCHEMA
from .words import abnormal_speed

Views = dict[int, tuple[list[int], list[int]]]  # object id -> (crop frames, track frames)


def plan(recipe: Recipe, targets: dict[int, Target]) -> Views:
    """The frames of each abnormal target's views: crops inside its abnormal intervals (anywhere it is visible
    when it is never visible inside them), whole frames over its visible span."""
    views: Views = {}
    for oid, t in targets.items():
        if not t.obj.is_abnormal:
            continue
        inside = within(t.geo.frames, t.obj.abnormal_intervals) or t.geo.frames
        views[oid] = (
            uniform_from(inside, recipe.stage2.views),
            uniform_from(t.geo.frames, recipe.stage2.track_views),
        )
    return views


def run(recipe: Recipe, asker: Asker, state: VideoState, views: Views) -> None:
    """Ask about each planned abnormal target; set its ``s2_request`` and ``s2`` answer."""
    planned = [state.targets[oid] for oid in views]
    for t, (crop_f, track_f) in zip(planned, views.values(), strict=True):
        oid = t.obj.object_id
        t.s2_request = build_request(
            recipe,
            t.item,
            t.obj.category,
            crop_f,
            track_f,
            state.images,
            {f: state.masks[f][oid] for f in (*crop_f, *track_f)},
            t.geo,
            fps=state.fps,
            abnormal_speed=abnormal_speed(state.speeds[oid], t.obj.abnormal_intervals),
        )
    reqs = [t.s2_request for t in planned]
    state.counts.add("stage2_targets", len(reqs))
    for t, req, resp in zip(planned, reqs, asker.ask(reqs), strict=True):
        t.s2 = resp
        if not resp.ok:
            t.reasons.append("stage 2 failed")
            state.quarantine.failed(req, resp, "stage2")


def build_request(
    recipe: Recipe,
    target_id: str,
    category: str,
    crop_frames: list[int],
    track_frames: list[int],
    frames: dict[int, np.ndarray],
    masks: dict[int, np.ndarray],
    geo: GeoTrack,
    *,
    fps: float,
    abnormal_speed: float,
) -> Request:
    """The stage-2 request of one target; ``frames``/``masks`` map frame index → image / this target's mask."""
    s2 = recipe.stage2
    # Both kinds of view suppress the background and outline the target alike.
    style = {"mode": s2.background, "darken": s2.darken, "blur_px": s2.blur_px, "outline": s2.outline}
    crops = [
        target_view(frames[f], masks[f], margin=s2.margin, side=s2.crop_side, **style) for f in crop_frames
    ]
    tracks = [
        resize_max(track_view(frames[f], masks[f], **style), recipe.images.max_side) for f in track_frames
    ]
    any_frame = frames[(crop_frames or track_frames)[0]]
    h, w = any_frame.shape[:2]
    prompt = recipe.prompts["stage2"].format(
        width=w,
        height=h,
        fps=fps,
        n_crops=len(crops),
        n_track=len(tracks),
        crop_frames=", ".join(map(str, crop_frames)),
        track_frames=", ".join(map(str, track_frames)),
    )
    q = recipe.images.jpeg_quality
    idx = [geo.index(f) for f in track_frames]
    evidence = TargetEvidence(
        category=category,
        crops=crops,
        track_frames=[f for f, i in zip(track_frames, idx, strict=True) if i is not None],
        track_boxes=[geo.boxes[i] for i in idx if i is not None],
        track_centres=[geo.centres[i] for i in idx if i is not None],
        width=w,
        height=h,
        fps=fps,
        abnormal_speed=abnormal_speed,
    )
    return Request(
        kind="stage2",
        item=target_id,
        system=recipe.prompts["system"].strip(),
        prompt=prompt.strip(),
        images=tuple(encode_jpeg(img, q) for img, _ in crops) + tuple(encode_jpeg(img, q) for img in tracks),
        schema=STAGE2_SCHEMA,
        evidence=evidence,
    )


def observation(resp: Response) -> Observation | None:
    """The appearance part of a stage-2 (or re-ask) answer as an observation (``frame`` = -1)."""
    if not resp.ok:
        return None
    return answer_observation(resp.answer, frame=-1, stage="stage2", position=None)
