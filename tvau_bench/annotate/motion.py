"""Motion in words: a target's mask geometry over time → motion features and a trajectory sentence.

The trajectory text of the dataset is grounded here, never invented by a VLM: the centres of the target's masks
are smoothed, resampled at a fixed time step and cut into *move* and *stop* segments; consecutive moves whose
heading differs by more than ``turn_deg`` are turns. Features (direction, speed class, enter/exit side, stops,
turns) are what stage 3 checks the VLM's claims against.

Coordinates are image pixels (x right, y down); "up" means towards the top of the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

DIRECTIONS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")
DIRECTION_VALUES = (*DIRECTIONS, "none")
SIDES = ("left", "right", "top", "bottom", "inside")
SPEEDS = ("still", "slow", "moderate", "fast")

_TOWARD = {
    "left": "toward the left",
    "right": "toward the right",
    "up": "toward the top",
    "down": "toward the bottom",
    "up-left": "toward the upper-left corner",
    "up-right": "toward the upper-right corner",
    "down-left": "toward the lower-left corner",
    "down-right": "toward the lower-right corner",
}
_SIDE_WORD = {"left": "the left", "right": "the right", "top": "the top", "bottom": "the bottom"}
_REGIONS = (
    ("upper-left", "top", "upper-right"),
    ("left", "centre", "right"),
    ("lower-left", "bottom", "lower-right"),
)
_ADVERB = {"slow": "slowly ", "moderate": "", "fast": "quickly "}


@dataclass(frozen=True)
class MotionParams:
    """Thresholds; speeds are in target sizes per second (size = median of the box's longer side)."""

    smooth_s: float = 0.2  # moving-average window on the centres
    step_s: float = 0.2  # resampling step for segmentation
    still_speed: float = 0.12  # below: not moving
    slow_speed: float = 0.5  # below: slow
    fast_speed: float = 1.6  # at or above: fast
    min_move: float = (
        0.05  # net displacement (fraction of the image diagonal) below which direction is "none"
    )
    edge_margin: float = 0.01  # fraction of width/height counted as touching the border (at least 1 px)
    min_stop_s: float = 0.5  # a still stretch at least this long between moves is a stop
    min_segment_s: float = 0.4  # shorter move stretches are absorbed by their neighbours
    turn_deg: float = 50.0  # heading change that makes a turn


@dataclass(frozen=True)
class Segment:
    """One stretch of the path: ``kind`` is "move" or "stop"; frames inclusive."""

    kind: str
    start: int
    end: int
    direction: str = "none"
    speed: str = "still"


@dataclass(frozen=True)
class Motion:
    """The motion features of one target over a frame range."""

    direction: str
    speed: str
    speed_value: float  # target sizes per second while visible
    enter_side: str
    exit_side: str
    stops: int
    turns: tuple[str, ...]  # the new heading after each turn
    segments: tuple[Segment, ...] = field(default=())
    first_frame: int = 0
    last_frame: int = 0
    start_region: str = "centre"  # 3x3 region of the first and last (smoothed) centre
    end_region: str = "centre"

    def features(self) -> dict:
        """The checkable features as a JSON-ready dict (the shape VLM claims are asked in)."""
        return {
            "direction": self.direction,
            "speed": self.speed,
            "enter_side": self.enter_side,
            "exit_side": self.exit_side,
            "stops": self.stops,
            "turns": len(self.turns),
        }


def direction_of(dx: float, dy: float) -> str:
    """The 8-way compass name of an image-space displacement (y down)."""
    angle = math.degrees(math.atan2(dy, dx)) % 360.0
    return DIRECTIONS[int(((angle + 22.5) % 360.0) // 45.0)]


def direction_distance(a: str, b: str) -> int:
    """Steps of 45° between two direction names (0..4); 4 when exactly one is "none", 0 when both are."""
    if a == b:
        return 0
    if "none" in (a, b):
        return 4
    d = abs(DIRECTIONS.index(a) - DIRECTIONS.index(b)) % 8
    return min(d, 8 - d)


def region_of(x: float, y: float, width: int, height: int) -> str:
    """The 3x3 region of the image a point lies in ("upper-left" … "centre" … "lower-right")."""
    col = min(2, max(0, int(3 * x / max(width, 1))))
    row = min(2, max(0, int(3 * y / max(height, 1))))
    return _REGIONS[row][col]


def _at(region: str) -> str:
    return "in the centre" if region == "centre" else f"at the {region}"


def speed_class(speed: float, p: MotionParams) -> str:
    """Speed (target sizes per second) → "still" | "slow" | "moderate" | "fast"."""
    if speed < p.still_speed:
        return "still"
    if speed < p.slow_speed:
        return "slow"
    if speed < p.fast_speed:
        return "moderate"
    return "fast"


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < 3:
        return values
    window = min(window, len(values))
    pad = window // 2
    padded = np.pad(values, ((pad, window - 1 - pad), (0, 0)), mode="edge")
    kernel = np.ones(window) / window
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(values.shape[1])], axis=1)


def _touching(box: Sequence[float], width: int, height: int, p: MotionParams) -> list[str]:
    mx = max(1.0, p.edge_margin * width)
    my = max(1.0, p.edge_margin * height)
    x0, y0, x1, y1 = box
    sides = []
    if x0 < mx:
        sides.append("left")
    if x1 > width - 1 - mx:
        sides.append("right")
    if y0 < my:
        sides.append("top")
    if y1 > height - 1 - my:
        sides.append("bottom")
    return sides


_OUTWARD = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "top": (0.0, -1.0), "bottom": (0.0, 1.0)}


def _border_side(sides: list[str], heading: tuple[float, float], *, entering: bool, forced: bool) -> str:
    """The touched border the target crosses (entering moves away from it, exiting toward it), or "inside".

    ``forced``: the target appears after (disappears before) the observed range's edge, so touching a border
    means crossing it whatever the motion; otherwise it must move across that border.
    """
    if not sides:
        return "inside"
    sign = -1.0 if entering else 1.0
    hx, hy = heading

    def along(s: str) -> float:
        return sign * (_OUTWARD[s][0] * hx + _OUTWARD[s][1] * hy)

    # Highest alignment of the outward normal with the (signed) heading wins; list order breaks ties.
    best = max(sides, key=along)
    return best if forced or along(best) > 0.2 else "inside"


def _resample(frames: np.ndarray, centres: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres linearly interpolated at frames ``f0, f0+step, ...`` (always including the last frame)."""
    f0, f1 = float(frames[0]), float(frames[-1])
    n = max(1, math.floor((f1 - f0) / step))
    grid = np.linspace(f0, f0 + n * step, n + 1)
    if grid[-1] < f1:
        grid = np.append(grid, f1)
    xs = np.interp(grid, frames, centres[:, 0])
    ys = np.interp(grid, frames, centres[:, 1])
    return grid, np.stack([xs, ys], axis=1)


def _segments(
    grid: np.ndarray, pts: np.ndarray, fps: float, size: float, p: MotionParams
) -> tuple[list[Segment], list[tuple[float, float]]]:
    """Label each resampled step move/stop with a heading, merge runs, absorb short moves, split on turns."""
    if len(grid) < 2:
        return [Segment("stop", int(grid[0]), int(grid[0]))], [(0.0, 0.0)]
    d = np.diff(pts, axis=0)
    dt = np.diff(grid) / fps
    speeds = np.hypot(d[:, 0], d[:, 1]) / np.maximum(dt, 1e-9) / size
    moving = speeds >= p.still_speed
    # Runs of equal moving/still state.
    runs: list[list[int]] = []
    for i, m in enumerate(moving):
        if runs and moving[runs[-1][0]] == m:
            runs[-1].append(i)
        else:
            runs.append([i])
    # Still stretches shorter than a stop are part of the motion; short moves between stops are jitter.
    merged: list[tuple[bool, list[int]]] = []
    for run in runs:
        dur = float(dt[run].sum())
        is_move = bool(moving[run[0]])
        if (not is_move and dur < p.min_stop_s) or (is_move and dur < p.min_segment_s):
            is_move = not is_move if merged else is_move
        if merged and merged[-1][0] == is_move:
            merged[-1][1].extend(run)
        else:
            merged.append((is_move, list(run)))
    segs: list[Segment] = []
    headings: list[tuple[float, float]] = []
    for is_move, steps in merged:
        if not is_move:
            segs.append(Segment("stop", int(grid[steps[0]]), round(grid[steps[-1] + 1])))
            headings.append((0.0, 0.0))
            continue
        # Split a move where its heading turns: compare each window of steps with the segment's heading so far.
        for part in _split_on_turns(steps, d, dt, p):
            v = d[part].sum(axis=0)
            dur = float(dt[part].sum())
            spd = float(np.hypot(*v)) / max(dur, 1e-9) / size
            segs.append(
                Segment(
                    "move",
                    int(grid[part[0]]),
                    round(grid[part[-1] + 1]),
                    direction_of(float(v[0]), float(v[1])),
                    speed_class(max(spd, p.still_speed), p),
                )
            )
            norm = float(np.hypot(*v)) or 1.0
            headings.append((float(v[0]) / norm, float(v[1]) / norm))
    return segs, headings


def _split_on_turns(steps: list[int], d: np.ndarray, dt: np.ndarray, p: MotionParams) -> list[list[int]]:
    """Cut a run of moving steps where the heading of a min-duration window departs from the current part's."""
    win = max(1, round(p.min_segment_s / max(float(np.median(dt[steps])), 1e-9)))
    parts: list[list[int]] = [[]]
    i = 0
    while i < len(steps):
        cur = parts[-1]
        window = steps[i : i + win]
        if len(cur) >= win and len(window) == win:
            a = d[cur].sum(axis=0)
            b = d[window].sum(axis=0)
            cos = float(np.dot(a, b)) / max(float(np.hypot(*a) * np.hypot(*b)), 1e-9)
            if math.degrees(math.acos(max(-1.0, min(1.0, cos)))) > p.turn_deg:
                parts.append(list(window))
                i += win
                continue
        cur.append(steps[i])
        i += 1
    return [part for part in parts if part]


def analyse(
    frames: Sequence[int],
    boxes: Sequence[Sequence[float]],
    *,
    width: int,
    height: int,
    fps: float,
    centres: Sequence[Sequence[float]] | None = None,
    params: MotionParams | None = None,
    span: tuple[int, int] | None = None,
) -> Motion:
    """Motion features of one target from its inclusive boxes (and optional centres; default box centres).

    ``frames`` must be increasing; gaps (frames where the target is hidden) are interpolated over. ``span`` is
    the observed frame range (the video or clip); a target that appears after its start while touching a
    border entered through it (likewise for exits), otherwise it must move across the border.
    """
    p = params or MotionParams()
    if len(frames) == 0:
        raise ValueError("analyse() needs at least one visible frame")
    f = np.asarray(frames, dtype=float)
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    c = (
        np.asarray(centres, dtype=float).reshape(-1, 2)
        if centres is not None
        else np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
    )
    fps = fps if fps and fps > 0 else 25.0
    size = float(np.median(np.maximum(b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1)))
    size = max(size, 1.0)
    window = max(1, round(p.smooth_s * fps))
    smooth = _smooth(c, window)
    grid, pts = _resample(f, smooth, max(1.0, p.step_s * fps))
    segs, headings = _segments(grid, pts, fps, size, p)

    net = smooth[-1] - smooth[0]
    diag = math.hypot(width, height)
    direction = (
        direction_of(float(net[0]), float(net[1])) if float(np.hypot(*net)) >= p.min_move * diag else "none"
    )
    duration = max((f[-1] - f[0]) / fps, 1e-9)
    path = float(np.hypot(*np.diff(pts, axis=0).T).sum()) if len(pts) > 1 else 0.0
    speed_value = path / duration / size if len(f) > 1 else 0.0
    moves = [s for s in segs if s.kind == "move"]
    speed = speed_class(speed_value, p) if moves else "still"

    first_heading = next((h for s, h in zip(segs, headings, strict=True) if s.kind == "move"), (0.0, 0.0))
    last_heading = next(
        (h for s, h in zip(reversed(segs), reversed(headings), strict=True) if s.kind == "move"), (0.0, 0.0)
    )
    lo, hi = span if span is not None else (int(f[0]), int(f[-1]))
    enter = _border_side(_touching(b[0], width, height, p), first_heading, entering=True, forced=f[0] > lo)
    exit_ = _border_side(_touching(b[-1], width, height, p), last_heading, entering=False, forced=f[-1] < hi)

    stops = sum(1 for i, s in enumerate(segs) if s.kind == "stop" and 0 < i < len(segs) - 1)
    turns = tuple(
        moves[i].direction for i in range(1, len(moves)) if moves[i].direction != moves[i - 1].direction
    )
    return Motion(
        direction=direction,
        speed=speed,
        speed_value=round(speed_value, 4),
        enter_side=enter,
        exit_side=exit_,
        stops=stops,
        turns=turns,
        segments=tuple(segs),
        first_frame=int(f[0]),
        last_frame=int(f[-1]),
        start_region=region_of(float(smooth[0][0]), float(smooth[0][1]), width, height),
        end_region=region_of(float(smooth[-1][0]), float(smooth[-1][1]), width, height),
    )


def waypoints(
    frames: Sequence[int], centres: Sequence[Sequence[float]], *, width: int, height: int, count: int = 8
) -> list[dict]:
    """Up to ``count`` evenly spaced ``{"frame", "x", "y"}`` points, coordinates normalised to [0, 1]."""
    if len(frames) == 0:
        return []
    idx = np.unique(np.round(np.linspace(0, len(frames) - 1, min(count, len(frames)))).astype(int))
    out = []
    for i in idx:
        x = min(1.0, max(0.0, float(centres[i][0]) / max(width - 1, 1)))
        y = min(1.0, max(0.0, float(centres[i][1]) / max(height - 1, 1)))
        out.append({"frame": int(frames[i]), "x": round(x, 4), "y": round(y, 4)})
    return out


def describe(motion: Motion) -> str:
    """The trajectory sentence, e.g. "Enters from the right, turns toward the upper-right corner, then exits at
    the top." Built only from the features, so it is as right as the geometry."""
    moves = [s for s in motion.segments if s.kind == "move"]
    phrases: list[str] = []
    if motion.enter_side != "inside":
        phrases.append(f"enters from {_SIDE_WORD[motion.enter_side]}")
    if not moves:
        phrases.append(f"stays in place {_at(motion.start_region)}")
        if motion.exit_side != "inside":
            phrases.append(f"exits at {_SIDE_WORD[motion.exit_side]}")
        text = ", then ".join(phrases) if len(phrases) > 1 else phrases[0]
        return text[0].upper() + text[1:] + "."
    if motion.enter_side == "inside":
        phrases.append(f"starts {_at(motion.start_region)}")
    moved = after_stop = False
    last = len(motion.segments) - 1
    for i, seg in enumerate(motion.segments):
        if seg.kind == "stop":
            if not moved:
                phrases.append("waits")
            elif i == last:
                phrases.append("comes to a stop")
            else:
                phrases.append("stops for a moment")
                after_stop = True
            continue
        if not moved:
            phrases.append(f"moves {_ADVERB[seg.speed]}{_TOWARD[seg.direction]}")
        elif after_stop:
            phrases.append(f"moves on {_ADVERB[seg.speed]}{_TOWARD[seg.direction]}")
        else:
            phrases.append(f"turns {_TOWARD[seg.direction]}")
        moved, after_stop = True, False
    if motion.exit_side != "inside":
        phrases.append(f"exits at {_SIDE_WORD[motion.exit_side]}")
    elif motion.segments[-1].kind != "stop":
        phrases.append(f"stays in view {_at(motion.end_region)}")
    else:
        phrases[-1] += f" {_at(motion.end_region)}"
    if len(phrases) > 1:
        phrases[-1] = "then " + phrases[-1]
    text = ", ".join(phrases)
    return text[0].upper() + text[1:] + "."


def compare(claim: dict, truth: dict) -> dict[str, float]:
    """Agreement in [0, 1] per feature between a claimed and a measured :meth:`Motion.features` dict.

    Direction and speed earn half credit one step away; stops and turns half credit when off by one.
    Missing or malformed claims score 0.
    """
    out: dict[str, float] = {}
    cd, td = claim.get("direction"), truth["direction"]
    if cd in DIRECTION_VALUES:
        dist = direction_distance(cd, td)
        out["direction"] = 1.0 if dist == 0 else 0.5 if dist == 1 else 0.0
    else:
        out["direction"] = 0.0
    cs, ts = claim.get("speed"), truth["speed"]
    if cs in SPEEDS:
        gap = abs(SPEEDS.index(cs) - SPEEDS.index(ts))
        out["speed"] = 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0
    else:
        out["speed"] = 0.0
    for key in ("enter_side", "exit_side"):
        out[key] = 1.0 if claim.get(key) == truth[key] else 0.0
    for key in ("stops", "turns"):
        v = claim.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            out[key] = 0.0
        else:
            gap = abs(v - truth[key])
            out[key] = 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0
    return out
