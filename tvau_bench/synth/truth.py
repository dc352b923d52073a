"""Ground truth of generated objects: per-frame boxes from the rendered id maps, behaviour intervals, and the
reference sentences (appearance, trajectory) with the direction and enter/exit sides they are built from.

Geometry rules (documented here because annotators are checked against them):
- ``boxes`` are the inclusive extreme pixels of the object's id-map pixels (what is visible);
- motion uses the object's *unoccluded* box (all its drawn pixels inside the image) over its visible frames,
  so an occluder passing in front does not look like motion; the centre is the box centre;
- ``direction``: the displacement of the centre from the first to the last visible frame in 8 sectors of 45°
  (image up is "up"), or "none" when it is shorter than 5% of the image diagonal;
- "wanders back and forth": the smoothed path is more than three times longer than that displacement;
- ``enter_side``: the image border the first visible box touches, when the object appears after frame 0 or
  moves inward from it over its first frames; otherwise "inside" (``exit_side`` likewise with the last box,
  the clip's last frame and outward motion); with several borders touched, the one best aligned with the motion.

Independent of the annotator on purpose: this wording and these rules (directions, sides, sentences) are written
here from the generator's own state and share no code with :mod:`tvau_bench.annotate.words` or
:mod:`tvau_bench.annotate.motion`, even where they look alike, because ``annotate-eval`` measures the annotator
against them; a shared helper would let one bug pass on both sides unseen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .actors import Appearance

DIRECTIONS = ("right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right")
SIDES = ("left", "right", "top", "bottom")
_TOWARD = {
    "right": "right",
    "left": "left",
    "up": "top",
    "down": "bottom",
    "up-right": "upper-right",
    "up-left": "upper-left",
    "down-right": "lower-right",
    "down-left": "lower-left",
}
_REGIONS = (
    ("upper-left", "top", "upper-right"),
    ("left", "centre", "right"),
    ("lower-left", "bottom", "lower-right"),
)
Box = tuple[int, int, int, int]


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def appearance_sentence(app: Appearance) -> str:
    """e.g. "a person in a red top and blue trousers carrying a backpack", "a white car"."""
    if app.category == "car":
        return f"{article(app.body or 'car')} {app.body} car"
    who = f"a person in {article(app.top or '')} {app.top} top and {app.bottom} trousers"
    if app.category == "bicycle":
        text = f"{who} riding {article(app.body or '')} {app.body} bicycle"
        return text + (" with a backpack" if "backpack" in app.carried else "")
    if app.category == "skateboard":
        return f"{who} on {article(app.body or '')} {app.body} skateboard"
    extra = {"backpack": " carrying a backpack", "bag": " carrying a bag", "umbrella": " holding an umbrella"}
    return who + "".join(extra[c] for c in app.carried)


def colours_of(app: Appearance) -> dict[str, str | None]:
    """The ``colours`` truth field: top/bottom of a person or rider, body of a vehicle or board."""
    if app.category == "car":
        return {"top": None, "bottom": None, "body": app.body}
    return {"top": app.top, "bottom": app.bottom, "body": app.body if app.category != "person" else None}


def runs(values: Sequence, frames: Sequence[int]) -> list[tuple[int, int, object]]:
    """Runs of equal values over *consecutive* frames: ``[(start, end, value), ...]`` inclusive."""
    out: list[tuple[int, int, object]] = []
    for f, v in zip(frames, values, strict=True):
        if out and out[-1][2] == v and out[-1][1] == f - 1:
            out[-1] = (out[-1][0], f, v)
        else:
            out.append((f, f, v))
    return out


def centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def direction_of(dx: float, dy: float, min_len: float) -> str:
    """8-sector name of a displacement (image y grows downward), "none" when shorter than ``min_len``."""
    if math.hypot(dx, dy) < min_len:
        return "none"
    ang = math.degrees(math.atan2(-dy, dx)) % 360.0
    return DIRECTIONS[int(((ang + 22.5) % 360.0) // 45.0)]


def region_of(x: float, y: float, width: int, height: int) -> str:
    col = min(2, max(0, int(3 * x / width)))
    row = min(2, max(0, int(3 * y / height)))
    return _REGIONS[row][col]


def _at(region: str) -> str:
    return "in the centre" if region == "centre" else f"at the {region}"


_NORMALS = {"left": (1.0, 0.0), "right": (-1.0, 0.0), "top": (0.0, 1.0), "bottom": (0.0, -1.0)}


def touched_sides(box: Box, width: int, height: int) -> list[str]:
    x0, y0, x1, y1 = box
    return [
        s for s, hit in zip(SIDES, (x0 <= 0, x1 >= width - 1, y0 <= 0, y1 >= height - 1), strict=True) if hit
    ]


def border_side(
    box: Box, motion: tuple[float, float], width: int, height: int, *, inward: bool, forced: bool
) -> str:
    """The border an object enters (``inward``) or leaves through, or "inside" (module rule)."""
    sides = touched_sides(box, width, height)
    if not sides:
        return "inside"
    sign = 1.0 if inward else -1.0

    def along(side: str) -> float:
        nx, ny = _NORMALS[side]
        return sign * (nx * motion[0] + ny * motion[1])

    best = max(sides, key=lambda s: (along(s), -SIDES.index(s)))
    if not forced and along(best) <= 0.5:
        return "inside"
    return best


def _smooth(pts: np.ndarray, k: int = 9) -> np.ndarray:
    """Moving average over ``k`` frames (edges use the frames available): removes gait wobble of the box."""
    if len(pts) < 3:
        return pts
    c = np.cumsum(np.vstack([np.zeros((1, 2)), pts]), axis=0)
    idx = np.arange(len(pts))
    lo = np.clip(idx - k // 2, 0, len(pts))
    hi = np.clip(idx + k // 2 + 1, 0, len(pts))
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def trajectory_truth(
    boxes: dict[int, Box], width: int, height: int, num_frames: int
) -> tuple[str, str, str, str]:
    """``(sentence, direction, enter_side, exit_side)`` from an object's per-frame (unoccluded) boxes."""
    frames = sorted(boxes)
    raw = np.array([centre(boxes[f]) for f in frames], float)
    pts = _smooth(raw)
    diag = math.hypot(width, height)
    min_len = 0.05 * diag
    k = min(len(frames) - 1, 8)
    first_motion = tuple(pts[k] - pts[0]) if k > 0 else (0.0, 0.0)
    last_motion = tuple(pts[-1] - pts[-1 - k]) if k > 0 else (0.0, 0.0)
    enter = border_side(boxes[frames[0]], first_motion, width, height, inward=True, forced=frames[0] > 0)
    leave = border_side(
        boxes[frames[-1]], last_motion, width, height, inward=False, forced=frames[-1] < num_frames - 1
    )
    total = raw[-1] - raw[0]
    direction = direction_of(float(total[0]), float(total[1]), min_len)

    parts = [
        f"enters from the {enter}"
        if enter != "inside"
        else "starts " + _at(region_of(*raw[0], width, height))
    ]
    path_len = float(np.linalg.norm(np.diff(pts[::4], axis=0), axis=1).sum()) if len(pts) > 4 else 0.0
    wanders = path_len > 3 * max(float(np.linalg.norm(total)), min_len)
    # one turn at most: the point farthest from the straight chord splits the path when it is far enough
    turn = None
    if len(pts) > 2 and not wanders:
        chord = pts[-1] - pts[0]
        n = float(np.linalg.norm(chord))
        rel = pts - pts[0]
        dev = (
            np.abs(chord[0] * rel[:, 1] - chord[1] * rel[:, 0]) / n
            if n > 1e-9
            else np.linalg.norm(rel, axis=1)
        )
        i = int(np.argmax(dev))
        if dev[i] > 0.08 * diag and 0 < i < len(pts) - 1:
            d1 = direction_of(*(pts[i] - pts[0]), min_len)
            d2 = direction_of(*(pts[-1] - pts[i]), min_len)
            if d1 != "none" and d2 != "none" and d1 != d2:
                turn = (d1, d2)
    if wanders:
        parts.append("wanders back and forth")
    elif turn is not None:
        parts += [f"moves toward the {_TOWARD[turn[0]]}", f"turns toward the {_TOWARD[turn[1]]}"]
    elif direction != "none":
        parts.append(f"moves toward the {_TOWARD[direction]}")
    else:
        parts.append("stays in place")
    parts.append(
        f"exits at the {leave}"
        if leave != "inside"
        else "remains in view " + _at(region_of(*raw[-1], width, height))
    )
    sentence = ", ".join(parts[:-1]) + ", then " + parts[-1]
    return sentence, direction, enter, leave


def truth_record(
    video_id: str,
    object_id: int,
    app: Appearance,
    labels: Sequence[str | None],
    abnormal: Sequence[bool],
    boxes: dict[int, Box],
    full_boxes: dict[int, Box],
    abnormal_intervals: list[tuple[int, int]],
    width: int,
    height: int,
    num_frames: int,
) -> dict:
    """One ``truth.jsonl`` line (fields as in CONTRACTS.md): ``boxes`` are the visible boxes; motion comes from
    ``full_boxes`` (unoccluded) over the visible frames."""
    frames = sorted(boxes)
    first, last = frames[0], frames[-1]
    span = [t for t in range(first, last + 1) if labels[t] is not None]
    behaviours = [
        {"start": s, "end": e, "behaviour": v[0], "abnormal": v[1]}
        for s, e, v in runs([(labels[t], bool(abnormal[t])) for t in span], span)
    ]
    sentence, direction, enter, leave = trajectory_truth(
        {f: full_boxes[f] for f in frames}, width, height, num_frames
    )
    return {
        "video_id": video_id,
        "object_id": int(object_id),
        "category": app.category,
        "colours": colours_of(app),
        "carried": list(app.carried),
        "behaviours": behaviours,
        "abnormal_intervals": [[int(s), int(e)] for s, e in abnormal_intervals],
        "first_frame": int(first),
        "last_frame": int(last),
        "boxes": [[int(f), *map(int, boxes[f])] for f in frames],
        "appearance": appearance_sentence(app),
        "trajectory": sentence,
        "direction": direction,
        "enter_side": enter,
        "exit_side": leave,
    }
