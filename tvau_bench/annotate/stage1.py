"""Stage 1: frame-level structured prompting. One request per sampled frame: the frame with every target
outlined and numbered; the answer describes each numbered target (schema-constrained JSON)."""

from __future__ import annotations

import numpy as np

from .asker import Asker
from .backends.base import Request, Response
from .backends.geometric import FrameEvidence
from .recipe import Recipe
from .sampling import stage1_frames
from .state import Quarantine, Target, VideoState
from .timelines import Observation, answer_observation
from .views import encode_jpeg, marked_frame, resize_max
from .vocab import STAGE1_SCHEMA


def plan(recipe: Recipe, num_frames: int, targets: dict[int, Target]) -> list[int]:
    """The frames stage 1 asks about (uniform over the video, plus enough to see every target)."""
    if not targets:
        return []
    s1 = recipe.stage1
    return stage1_frames(
        num_frames,
        [t.geo.frames for t in targets.values()],
        per_video=s1.frames_per_video,
        per_target=s1.frames_per_target,
        max_frames=s1.max_frames,
    )


def run(recipe: Recipe, asker: Asker, state: VideoState, frames: list[int]) -> None:
    """Ask about the targets large enough to see in each planned frame; add the answers to the targets'
    observations."""
    targets = state.targets
    categories = {oid: t.obj.category for oid, t in targets.items()}
    reqs, asked = [], []
    for f in frames:
        shown = {
            oid: m
            for oid, m in state.masks[f].items()
            if oid in targets and int(m.sum()) >= recipe.stage1.min_pixels
        }
        if not shown:
            continue
        speeds = {o: state.speeds[o].get(f, 0.0) for o in shown}
        reqs.append(build_request(recipe, state.video_id, f, state.images[f], shown, categories, speeds))
        asked.append((f, set(shown)))
    state.counts.add("stage1_frames", len(reqs))
    for req, resp, (f, ids) in zip(reqs, asker.ask(reqs), asked, strict=True):
        obs = observations(req, resp, ids, f, state.quarantine)
        for oid, o in obs.items():
            targets[oid].obs.append(o)
        state.counts.add("stage1_observations", len(obs))


def build_request(
    recipe: Recipe,
    video_id: str,
    frame_index: int,
    frame: np.ndarray,
    masks: dict[int, np.ndarray],
    categories: dict[int, str],
    speeds: dict[int, float],
) -> Request:
    """The stage-1 request for one frame (``masks``: the targets to describe, already size-filtered)."""
    h, w = frame.shape[:2]
    img = resize_max(
        marked_frame(frame, masks, thickness=recipe.stage1.mark_thickness), recipe.images.max_side
    )
    prompt = recipe.prompts["stage1"].format(
        frame=frame_index, width=w, height=h, ids=", ".join(str(i) for i in sorted(masks))
    )
    return Request(
        kind="stage1",
        item=f"{video_id}:frame:{frame_index}",
        system=recipe.prompts["system"].strip(),
        prompt=prompt.strip(),
        images=(encode_jpeg(img, recipe.images.jpeg_quality),),
        schema=STAGE1_SCHEMA,
        evidence=FrameEvidence(frame_index, frame, masks, categories, speeds),
    )


def observations(
    req: Request, resp: Response, asked: set[int], frame_index: int, quarantine: Quarantine
) -> dict[int, Observation]:
    """Per-target observations from a stage-1 answer; what was rejected (failed request, ids that were not asked
    about, asked ids left out, duplicates) goes to ``quarantine``."""
    if not resp.ok:
        quarantine.failed(req, resp, "stage1")
        return {}
    out: dict[int, Observation] = {}
    for t in resp.answer["targets"]:
        oid = t["id"]
        if oid not in asked:
            quarantine.add(req.item, "stage1", "unknown target id", {"id": oid})
        elif oid in out:
            quarantine.add(req.item, "stage1", "target described twice", {"id": oid})
        else:
            out[oid] = answer_observation(t, frame=frame_index, stage="stage1", position=t["position"])
    missing = sorted(asked - set(out))
    if missing:
        quarantine.add(req.item, "stage1", "targets not described", {"ids": missing})
    return out
