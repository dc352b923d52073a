"""Stage 2: anomaly-focused refinement. For each abnormal target one request with target-focused views built
from its masks (background suppressed, cropped with a margin, outlined) inside its abnormal intervals, plus
background-suppressed whole frames over its visible span for motion; the answer refines appearance and action
and states the motion that stage 3 checks against the geometry."""

from __future__ import annotations

import numpy as np

from .backends.base import Request, Response
from .backends.geometric import TargetEvidence
from .recipe import Recipe
from .timelines import GeoTrack, Observation, answer_observation
from .views import encode_jpeg, resize_max, target_view, track_view
from .vocab import STAGE2_SCHEMA


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
