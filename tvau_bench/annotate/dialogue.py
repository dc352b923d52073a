"""Benchmark samples: clips with their multi-turn dialogue (DESIGN.md, "Benchmark protocol").

- Abnormal samples: one clip per abnormal interval of each abnormal target (the interval with
  ``context_frames`` either side); label "Yes"; three turns: the Yes/No question answered "Yes", the target
  question answered with the target's appearance and action, the trajectory question answered with the
  trajectory sentence of the target *within the clip*.
- Normal samples: clips of ``normal_clip_frames`` from normal videos and from normal stretches of abnormal
  videos (kept ``normal_margin`` frames away from any abnormal frame); label "No"; one turn answered "No".
- Every sample fixes ``frame_indices``: ``frames_per_sample`` frames uniform over the clip.
- Every sample says whether its target passed verification (``verified``; false for a flagged target): the
  benchmark scores verified samples by default.

The question strings are fixed: the harness asks exactly these (they equal the ``dialogue-v1`` prompt set).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .sampling import uniform, uniform_from

PROMPT_SET = "dialogue-v1"
YES_NO_QUESTION = "Is there an abnormal event in this video? Answer Yes or No."
TARGET_QUESTION = "Describe the appearance of the anomalous target."
TRAJECTORY_QUESTION = "Describe the motion trajectory of the anomalous target."
QUESTIONS = {"yes_no": YES_NO_QUESTION, "target": TARGET_QUESTION, "trajectory": TRAJECTORY_QUESTION}


def abnormal_clip(interval: Sequence[int], num_frames: int, context: int) -> tuple[int, int]:
    """The clip around one abnormal interval: ``context`` frames either side, inside the video."""
    s, e = interval
    return max(0, s - context), min(num_frames - 1, e + context)


def normal_clips(labels: np.ndarray, clip_frames: int, count: int, margin: int) -> list[tuple[int, int]]:
    """Up to ``count`` non-overlapping normal clips, spread evenly over the usable normal stretches.

    A whole-normal video shorter than ``clip_frames`` gives one clip of the whole video.
    """
    n = len(labels)
    if n == 0 or count <= 0:
        return []
    abnormal = np.asarray(labels) > 0
    if not abnormal.any() and n < clip_frames:
        return [(0, n - 1)]
    blocked = abnormal.copy()
    for i in np.flatnonzero(abnormal):
        blocked[max(0, i - margin) : i + margin + 1] = True
    slots: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if blocked[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not blocked[j + 1]:
            j += 1
        length = j - i + 1
        k = length // clip_frames
        if k:
            offset = i + (length - k * clip_frames) // 2  # centre the tiling in the stretch
            slots += [(offset + q * clip_frames, offset + (q + 1) * clip_frames - 1) for q in range(k)]
        i = j + 1
    return [slots[int(q)] for q in uniform(0, len(slots) - 1, min(count, len(slots)))] if slots else []


def sample_id(video_id: str, start: int, end: int, object_id: int | None = None) -> str:
    """``{video_id}:{start}-{end}`` plus ``:{object_id}`` for abnormal samples."""
    base = f"{video_id}:{start}-{end}"
    return base if object_id is None else f"{base}:{object_id}"


def frame_indices(start: int, end: int, n: int) -> list[int]:
    """The fixed frames of a clip: ``n`` uniform frames (fewer when the clip is shorter)."""
    return uniform_from(list(range(start, end + 1)), n)


def _clip_fields(
    video_id: str, split: str, clip: tuple[int, int], frames_per_sample: int, object_id: int | None = None
) -> dict:
    """The fields every sample starts with: its id, video, split, clip and fixed frames."""
    s, e = clip
    return {
        "sample_id": sample_id(video_id, s, e, object_id),
        "video_id": video_id,
        "split": split,
        "start_frame": s,
        "end_frame": e,
        "frame_indices": frame_indices(s, e, frames_per_sample),
    }


def abnormal_sample(
    video_id: str,
    split: str,
    clip: tuple[int, int],
    object_id: int,
    target_answer: str,
    trajectory_answer: str,
    frames_per_sample: int,
    verified: bool = True,
) -> dict:
    """One "Yes" sample with its three turns; ``verified`` is false when its target was flagged."""
    return {
        **_clip_fields(video_id, split, clip, frames_per_sample, object_id),
        "label": "Yes",
        "target_id": f"{video_id}:{object_id}",
        "verified": bool(verified),
        "dialogue": [
            {"turn": 1, "kind": "yes_no", "question": YES_NO_QUESTION, "answer": "Yes"},
            {"turn": 2, "kind": "target", "question": TARGET_QUESTION, "answer": target_answer},
            {"turn": 3, "kind": "trajectory", "question": TRAJECTORY_QUESTION, "answer": trajectory_answer},
        ],
    }


def normal_sample(video_id: str, split: str, clip: tuple[int, int], frames_per_sample: int) -> dict:
    """One "No" sample with its single turn."""
    return {
        **_clip_fields(video_id, split, clip, frames_per_sample),
        "label": "No",
        "target_id": None,
        "verified": True,  # no target to verify
        "dialogue": [{"turn": 1, "kind": "yes_no", "question": YES_NO_QUESTION, "answer": "No"}],
    }


def sample_sort_key(sample: dict) -> tuple:
    """Deterministic order: video, start, end, then normal before abnormal and by target id."""
    return (sample["video_id"], sample["start_frame"], sample["end_frame"], sample["target_id"] or "")
