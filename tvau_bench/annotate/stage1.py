"""Stage 1: frame-level structured prompting. One request per sampled frame: the frame with every target
outlined and numbered; the answer describes each numbered target (schema-constrained JSON)."""

from __future__ import annotations

import numpy as np

from .backends.base import Request, Response
from .backends.geometric import FrameEvidence
from .recipe import Recipe
from .timelines import Observation, answer_observation
from .views import encode_jpeg, marked_frame, resize_max
from .vocab import STAGE1_SCHEMA


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
    req: Request, resp: Response, asked: set[int], frame_index: int
) -> tuple[dict[int, Observation], list[dict]]:
    """Per-target observations from a stage-1 answer, and quarantine records for what was rejected
    (failed request, ids that were not asked about, asked ids left out, duplicates)."""
    problems: list[dict] = []
    if not resp.ok:
        return {}, [
            {
                "item": req.item,
                "stage": "stage1",
                "reason": "request failed",
                "evidence": {"error": resp.error},
            }
        ]
    out: dict[int, Observation] = {}
    for t in resp.answer["targets"]:
        oid = t["id"]
        if oid not in asked:
            problems.append(
                {"item": req.item, "stage": "stage1", "reason": "unknown target id", "evidence": {"id": oid}}
            )
            continue
        if oid in out:
            problems.append(
                {
                    "item": req.item,
                    "stage": "stage1",
                    "reason": "target described twice",
                    "evidence": {"id": oid},
                }
            )
            continue
        out[oid] = answer_observation(t, frame=frame_index, stage="stage1", position=t["position"])
    missing = sorted(asked - set(out))
    if missing:
        problems.append(
            {
                "item": req.item,
                "stage": "stage1",
                "reason": "targets not described",
                "evidence": {"ids": missing},
            }
        )
    return out, problems
