"""Who is in a clip and what each object does in every frame: paths along the lanes, speeds, poses, and the
behaviour label (with its normal/abnormal flag) of every frame.

Normal: people walking along the walkways in the lanes' flow direction at varied speeds, people standing,
cars and bicycles on the road. Abnormal (:data:`ANOMALY_KINDS`): running, walking then running, running
twice (two abnormal intervals), cycling / skateboarding / driving on the walkway, falling and lying down,
loitering, zig-zagging, walking against the flow, jumping, and two people fighting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .actors import CARRIED, Appearance, Pose
from .palette import BOTTOM_COLOURS, CAR_COLOURS, COLOUR_NAMES, SKIN_TONES_BGR, TOP_COLOURS, VEHICLE_COLOURS
from .scene import SceneLayout

ANOMALY_KINDS: tuple[str, ...] = (
    "running",
    "cycling_walkway",
    "falling",
    "loitering",
    "against_flow",
    "fighting",
    "walk_then_run",
    "car_walkway",
    "jumping",
    "zigzag",
    "skateboarding",
    "run_twice",
)

WALK = (0.016, 0.036)  # walking speed range, person heights per frame
RUN = (0.065, 0.09)
RIDE = (0.055, 0.08)
SKATE = (0.045, 0.065)
CAR_ROAD = (0.06, 0.1)
CAR_WALK = (0.035, 0.055)


@dataclass
class ObjectTrack:
    """One object's appearance and its pose, behaviour label and abnormal flag in every frame (``None`` pose:
    not in the scene in that frame)."""

    appearance: Appearance
    kind: str  # the plan that produced it: "walking", "standing", "driving", "cycling" or an anomaly kind
    poses: list[Pose | None]
    labels: list[str | None]
    abnormal: list[bool]
    object_id: int = 0
    group: int = -1  # objects planned together (the two fighters) share a group number

    @property
    def planned_abnormal(self) -> bool:
        return any(self.abnormal)


@dataclass
class _Path:
    """A polyline in pixels with arc-length lookup."""

    pts: np.ndarray
    cum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        seg = np.linalg.norm(np.diff(self.pts, axis=0), axis=1)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    def at(self, s: float) -> tuple[float, float, float, float]:
        """Position and unit tangent at arc length ``s`` (clamped to the path)."""
        s = min(max(s, 0.0), self.length)
        i = int(np.searchsorted(self.cum, s, side="right") - 1)
        i = min(max(i, 0), len(self.pts) - 2)
        d = self.pts[i + 1] - self.pts[i]
        n = float(np.linalg.norm(d)) or 1.0
        u = (s - self.cum[i]) / n
        p = self.pts[i] + d * u
        return float(p[0]), float(p[1]), float(d[0] / n), float(d[1] / n)


def _u(rng: np.random.Generator, rng_pair: tuple[float, float]) -> float:
    return float(rng.uniform(*rng_pair))


def random_person(rng: np.random.Generator, category: str = "person") -> Appearance:
    """A person (or rider) with palette colours and maybe something carried."""
    top = str(rng.choice(TOP_COLOURS))
    bottom = str(rng.choice([c for c in BOTTOM_COLOURS if c != top]))
    r = rng.random()
    carried: tuple[str, ...] = ()
    if category == "person":
        carried = (
            () if r < 0.5 else (CARRIED[0],) if r < 0.72 else (CARRIED[1],) if r < 0.86 else (CARRIED[2],)
        )
    elif category == "bicycle" and r < 0.3:
        carried = ("backpack",)
    carried_colour = str(rng.choice([c for c in COLOUR_NAMES if c not in (top, bottom)]))
    body = None
    if category == "bicycle" or category == "skateboard":
        body = str(rng.choice(VEHICLE_COLOURS))
    return Appearance(
        category,
        top,
        bottom,
        body,
        carried,
        carried_colour if carried else None,
        int(rng.integers(len(SKIN_TONES_BGR))),
    )


def random_car(rng: np.random.Generator) -> Appearance:
    return Appearance("car", body=str(rng.choice(CAR_COLOURS)))


# ---------------------------------------------------------------------------------------------- paths
def walk_path(
    layout: SceneLayout, rng: np.random.Generator, *, against: bool = False, horizontal_only: bool = False
) -> _Path:
    """A path a pedestrian follows in the flow direction (or against it): along the horizontal walkway, or in
    from / out to the far end of the vertical walkway with a turn at the junction."""
    w, h = layout.width, layout.height
    lanes = layout.lanes
    m = 0.12 * w

    def jit(lane_name: str) -> float:
        lane = lanes[lane_name]
        return lane.centre + float(rng.uniform(-0.5, 0.5)) * lane.half_width

    kind = "h" if horizontal_only or rng.random() < 0.55 else str(rng.choice(["v_in", "v_out"]))
    if kind == "h":
        name = str(rng.choice(["walk_upper", "walk_lower"]))
        y = jit(name)
        xs = (-m, w + m) if lanes[name].flow > 0 else (w + m, -m)
        pts = [(xs[0], y), (xs[1], y)]
    else:
        far = h + 0.16 * h if layout.variant == 0 else -0.16 * h
        moving_down = (kind == "v_out") == (layout.variant == 0)
        vx = jit("vwalk_down" if moving_down else "vwalk_up")
        to_right = rng.random() < 0.5
        if kind == "v_in":  # from the far end, then turn along the walkway
            yt = jit("walk_lower" if to_right else "walk_upper")
            pts = [(vx, far), (vx, yt), (w + m if to_right else -m, yt)]
        else:  # along the walkway, then turn into the vertical walkway
            yt = jit("walk_lower" if to_right else "walk_upper")
            pts = [(-m if to_right else w + m, yt), (vx, yt), (vx, far)]
    path = np.array(pts, float)
    return _Path(path[::-1].copy() if against else path)


def lane_path(layout: SceneLayout, lane_name: str, *, reverse: bool = False, offset: float = 0.0) -> _Path:
    """A straight path along a horizontal lane, in its flow direction unless ``reverse``."""
    lane = layout.lanes[lane_name]
    m = 0.22 * layout.width
    xs = (-m, layout.width + m)
    if (lane.flow < 0) != reverse:
        xs = xs[::-1]
    y = lane.centre + offset
    return _Path(np.array([(xs[0], y), (xs[1], y)], float))


# ---------------------------------------------------------------------------------------------- motion
Step = dict  # keys: speed, amp, label, abnormal; optional lift, lean, posture, punch, lateral


def _follow(
    layout: SceneLayout,
    rng: np.random.Generator,
    app: Appearance,
    kind: str,
    path: _Path,
    s0: float,
    t0: int,
    n_frames: int,
    step: Callable[[int, float], Step],
    *,
    scale: float = 1.0,
) -> ObjectTrack:
    """Move along ``path`` from arc length ``s0`` starting at frame ``t0``; ``step(k, s)`` gives the k-th
    frame's speed (person heights per frame) and pose details. Stops when the path's end is passed."""
    poses: list[Pose | None] = [None] * n_frames
    labels: list[str | None] = [None] * n_frames
    abn = [False] * n_frames
    s = s0
    phase = float(rng.uniform(0, 2 * math.pi))
    facing = 1
    for k, t in enumerate(range(t0, n_frames)):
        if s > path.length:
            break
        x, y, tx, ty = path.at(s)
        if abs(tx) > 0.3:
            facing = 1 if tx > 0 else -1
        st = step(k, s)
        hp = layout.person_height(y) * scale
        lat = st.get("lateral", 0.0) * hp
        poses[t] = Pose(
            x - ty * lat,
            y + tx * lat,
            facing,
            phase,
            st["amp"],
            st.get("posture", 0.0),
            st.get("lift", 0.0),
            st.get("lean", 0.0),
            st.get("punch", 0),
            scale,
        )
        labels[t] = st["label"]
        abn[t] = bool(st["abnormal"])
        px = st["speed"] * hp
        s += px
        phase += st.get("phase_rate", 2 * math.pi / 0.9) * st["speed"] + st.get("phase_add", 0.0)
    return ObjectTrack(app, kind, poses, labels, abn)


def entry_arc(layout: SceneLayout, path: _Path, pad: float) -> float:
    """Arc length at which an object following ``path`` is about to come into view: where the path first
    enters the image, less ``pad`` person heights (the object's half length), never below 0."""
    ss = np.linspace(0.0, path.length, max(2, int(path.length) + 1))
    xs = np.interp(ss, path.cum, path.pts[:, 0])
    ys = np.interp(ss, path.cum, path.pts[:, 1])
    inside = np.flatnonzero((xs >= 0) & (xs < layout.width) & (ys >= 0) & (ys < layout.height))
    if inside.size == 0:
        return 0.0
    k = int(inside[0])
    return max(0.0, float(ss[k]) - pad * layout.person_height(float(ys[k])))


def _spawn(
    layout: SceneLayout,
    rng: np.random.Generator,
    path: _Path,
    n_frames: int,
    p_inside: float,
    late: float,
    early: float = 0.0,
    pad: float = 0.35,
) -> tuple[float, int]:
    """Start inside the view at frame 0 (with probability ``p_inside``), or come into view from the path's
    start at a frame in ``[early, late) * n_frames``."""
    if rng.random() < p_inside:
        return float(rng.uniform(0.2, 0.6)) * path.length, 0
    lo = int(early * n_frames)
    return entry_arc(layout, path, pad), int(rng.integers(lo, max(lo + 1, int(late * n_frames))))


def _const(
    speed: float, amp: float, label: str, abnormal: bool, **extra: float
) -> Callable[[int, float], Step]:
    return lambda k, s: {"speed": speed, "amp": amp, "label": label, "abnormal": abnormal, **extra}


def plan_walker(layout: SceneLayout, rng: np.random.Generator, n: int) -> ObjectTrack:
    path = walk_path(layout, rng)
    s0, t0 = _spawn(layout, rng, path, n, 0.5, 0.6)
    return _follow(
        layout,
        rng,
        random_person(rng),
        "walking",
        path,
        s0,
        t0,
        n,
        _const(_u(rng, WALK), 0.6, "walking", False),
        scale=_u(rng, (0.9, 1.08)),
    )


def plan_standing(layout: SceneLayout, rng: np.random.Generator, n: int) -> ObjectTrack:
    """A person waiting at the edge of the walkway: normal, and as still as a lying or loitering one."""
    y0, y1 = layout.walk_band
    y = y1 - 0.08 * (y1 - y0) if rng.random() < 0.5 else y0 + 0.3 * (y1 - y0)
    x = _u(rng, (0.1, 0.9)) * layout.width
    path = _Path(np.array([(x, y), (x + 1e-3, y)]))
    face = 1 if rng.random() < 0.5 else -1
    track = _follow(
        layout, rng, random_person(rng), "standing", path, 0.0, 0, n, _const(0.0, 0.0, "standing", False)
    )
    track.poses = [
        None if p is None else Pose(p.x, p.y, face, 0.0, 0.0, scale=_u(rng, (0.92, 1.05)))
        for p in track.poses
    ]
    return track


def plan_car(
    layout: SceneLayout, rng: np.random.Generator, n: int, lane: str, t0: int, speed: float, *, inside: bool
) -> ObjectTrack:
    path = lane_path(layout, lane)
    s0 = _u(rng, (0.25, 0.6)) * path.length if inside else 0.0
    return _follow(
        layout, rng, random_car(rng), "driving", path, s0, t0, n, _const(speed, 0.0, "driving", False)
    )


def plan_road_bicycle(layout: SceneLayout, rng: np.random.Generator, n: int) -> ObjectTrack:
    lane = str(rng.choice(["road_upper", "road_lower"]))
    path = lane_path(layout, lane, offset=0.35 * layout.lanes[lane].half_width)
    s0, t0 = _spawn(layout, rng, path, n, 0.4, 0.5)
    return _follow(
        layout,
        rng,
        random_person(rng, "bicycle"),
        "cycling",
        path,
        s0,
        t0,
        n,
        _const(_u(rng, RIDE), 0.0, "cycling", False, phase_rate=2 * math.pi / 1.2),
    )


def plan_normal(
    layout: SceneLayout, rng: np.random.Generator, n: int, *, density: float = 1.0
) -> list[ObjectTrack]:
    """The normal population of a clip: walkers, maybe someone standing, cars and maybe a bicycle on the road."""
    out = [plan_walker(layout, rng, n) for _ in range(int(rng.integers(3, 6) * density))]
    out += [plan_standing(layout, rng, n) for _ in range(int(rng.random() < 0.45))]
    for lane in ("road_upper", "road_lower"):
        speed = _u(rng, CAR_ROAD)
        count = int(rng.integers(0, 3))
        gap = math.ceil(2.4 / speed)  # frames between cars of one lane: they never overlap
        start = int(rng.integers(0, max(1, gap // 2)))
        for i in range(count):
            inside = i == 0 and rng.random() < 0.5
            t0 = 0 if inside else start + i * gap
            if t0 < n:
                out.append(plan_car(layout, rng, n, lane, t0, speed, inside=inside))
    out += [plan_road_bicycle(layout, rng, n) for _ in range(int(rng.random() < 0.4))]
    return out


def plan_anomaly(
    layout: SceneLayout, rng: np.random.Generator, n: int, kind: str, *, from_start: bool = False
) -> list[ObjectTrack]:
    """The object(s) of one anomaly of ``kind``; ``from_start`` puts it inside the view, abnormal, at frame 0."""
    scale = _u(rng, (0.9, 1.08))
    # most anomalies begin after the clip starts, so abnormal videos also have normal frames
    p_in = 1.0 if from_start else 0.15

    if kind in ("running", "against_flow", "zigzag"):
        path = walk_path(layout, rng, against=kind == "against_flow")
        s0, t0 = _spawn(layout, rng, path, n, p_in, 0.5, 0.08)
        if kind == "running":
            step = _const(_u(rng, RUN), 1.0, "running", True, lean=10.0)
        elif kind == "against_flow":
            step = _const(_u(rng, WALK), 0.6, "walking against the flow", True)
        else:
            period = _u(rng, (0.9, 1.3))  # person heights of travel per zig-zag
            amp = _u(rng, (0.35, 0.5))
            speed = _u(rng, (0.025, 0.04))

            def step(k: int, s: float) -> Step:
                lateral = amp * math.sin(2 * math.pi * k * speed / period)
                return {
                    "speed": speed,
                    "amp": 0.6,
                    "label": "zig-zagging",
                    "abnormal": True,
                    "lateral": lateral,
                }

        return [_follow(layout, rng, random_person(rng), kind, path, s0, t0, n, step, scale=scale)]

    if kind in ("walk_then_run", "run_twice"):
        path = walk_path(layout, rng, horizontal_only=True)
        s0 = _u(rng, (0.14, 0.2)) * path.length
        walk, run = _u(rng, WALK), _u(rng, RUN)
        b = sorted(
            round(f * n) for f in (rng.uniform(0.15, 0.3), rng.uniform(0.42, 0.5), rng.uniform(0.62, 0.68))
        )
        t_run = round(_u(rng, (0.25, 0.45)) * n)

        def running(k: int) -> bool:
            return k >= t_run if kind == "walk_then_run" else (b[0] <= k < b[1] or k >= b[2])

        def step(k: int, s: float) -> Step:
            if running(k):
                return {"speed": run, "amp": 1.0, "label": "running", "abnormal": True, "lean": 10.0}
            return {"speed": walk, "amp": 0.6, "label": "walking", "abnormal": False}

        return [_follow(layout, rng, random_person(rng), kind, path, s0, 0, n, step, scale=scale)]

    if kind in ("cycling_walkway", "skateboarding"):
        path = walk_path(layout, rng, horizontal_only=rng.random() < 0.6)
        s0, t0 = _spawn(layout, rng, path, n, p_in, 0.5, 0.08)
        if kind == "cycling_walkway":
            app, step = (
                random_person(rng, "bicycle"),
                _const(_u(rng, RIDE), 0.0, "cycling on the walkway", True, phase_rate=2 * math.pi / 1.2),
            )
        else:
            app, step = (
                random_person(rng, "skateboard"),
                _const(_u(rng, SKATE), 0.0, "skateboarding on the walkway", True),
            )
        return [_follow(layout, rng, app, kind, path, s0, t0, n, step, scale=scale)]

    if kind == "car_walkway":
        lane = str(rng.choice(["walk_upper", "walk_lower"]))
        y0, y1 = layout.walk_band
        path = lane_path(
            layout,
            lane,
            reverse=rng.random() < 0.5,
            offset=(y0 + y1) / 2 + 0.2 * (y1 - y0) - layout.lanes[lane].centre,
        )
        if from_start:
            s0, t0 = _u(rng, (0.2, 0.35)) * path.length, 0
        else:
            s0, t0 = entry_arc(layout, path, 0.9), int(rng.integers(0, n // 2))
        return [
            _follow(
                layout,
                rng,
                random_car(rng),
                kind,
                path,
                s0,
                t0,
                n,
                _const(_u(rng, CAR_WALK), 0.0, "driving on the walkway", True),
            )
        ]

    if kind == "falling":
        path = walk_path(layout, rng, horizontal_only=True)
        s0 = _u(rng, (0.25, 0.45)) * path.length
        speed = _u(rng, WALK)
        t_fall = 0 if from_start else round(_u(rng, (0.2, 0.45)) * n)
        dur = 8

        def step(k: int, s: float) -> Step:
            if k < t_fall:
                return {"speed": speed, "amp": 0.6, "label": "walking", "abnormal": False}
            if k < t_fall + dur:
                a = (k - t_fall + 1) / dur
                return {
                    "speed": speed * (1 - a),
                    "amp": 0.3,
                    "label": "falling",
                    "abnormal": True,
                    "posture": 90.0 * a * a,
                    "phase_add": 0.0,
                }
            return {"speed": 0.0, "amp": 0.0, "label": "lying down", "abnormal": True, "posture": 90.0}

        return [_follow(layout, rng, random_person(rng), kind, path, s0, 0, n, step, scale=scale)]

    if kind == "loitering":
        lane = str(rng.choice(["walk_upper", "walk_lower"]))
        y = layout.lanes[lane].centre + _u(rng, (-0.3, 0.3)) * layout.lanes[lane].half_width
        hp = layout.person_height(y)
        xc = _u(rng, (0.25, 0.75)) * layout.width
        amp = _u(rng, (0.6, 1.1)) * hp
        speed = _u(rng, (0.012, 0.022))
        legs = math.ceil(n * speed * hp / (2 * amp)) + 2
        pts = [
            (xc + (amp if i % 2 else -amp) + _u(rng, (-0.15, 0.15)) * hp, y + _u(rng, (-0.15, 0.15)) * hp)
            for i in range(legs)
        ]
        if from_start:
            path = _Path(np.array(pts, float))
            s0, spot = _u(rng, (0, 0.5)) * amp, 0.0
        else:
            # walks in along the lane (normal), then loiters around the spot
            side = 1.0 if rng.random() < 0.5 else -1.0
            entry = (pts[0][0] + side * 2 * layout.width, pts[0][1])
            path = _Path(np.array([entry, *pts], float))
            spot = float(path.cum[1])
            walk = _u(rng, WALK)
            s0 = max(0.0, spot - walk * hp * _u(rng, (0.12, 0.35)) * n)

        def step(k: int, s: float) -> Step:
            if s < spot:
                return {"speed": walk, "amp": 0.6, "label": "walking", "abnormal": False}
            return {"speed": speed, "amp": 0.45, "label": "loitering", "abnormal": True}

        return [_follow(layout, rng, random_person(rng), kind, path, s0, 0, n, step, scale=scale)]

    if kind == "jumping":
        path = walk_path(layout, rng, horizontal_only=True)
        s0 = _u(rng, (0.2, 0.45)) * path.length
        speed = _u(rng, WALK)
        start = 0 if from_start else round(_u(rng, (0.1, 0.3)) * n)
        length = n if from_start else max(12, round(_u(rng, (0.35, 0.5)) * n))
        hop = int(rng.integers(10, 14))

        def step(k: int, s: float) -> Step:
            if start <= k < start + length:
                return {
                    "speed": 0.004,
                    "amp": 0.25,
                    "label": "jumping",
                    "abnormal": True,
                    "lift": 0.32 * abs(math.sin(math.pi * (k - start) / hop)),
                }
            return {"speed": speed, "amp": 0.6, "label": "walking", "abnormal": False}

        return [_follow(layout, rng, random_person(rng), kind, path, s0, 0, n, step, scale=scale)]

    if kind == "fighting":
        lane = str(rng.choice(["walk_upper", "walk_lower"]))
        y = layout.lanes[lane].centre
        hp = layout.person_height(y)
        xc = _u(rng, (0.3, 0.7)) * layout.width
        speed = 0.02
        close = 0.42
        gap0 = close if from_start else close + 2 * speed * _u(rng, (0.15, 0.25)) * n
        out = []
        for side in (-1, 1):
            x_start = xc + side * gap0 / 2 * hp
            x_meet = xc + side * close / 2 * hp
            path = _Path(np.array([(x_start, y), (x_meet, y), (x_meet - side * 0.3 * hp, y)], float))
            meet = abs(x_start - x_meet)
            shift = int(rng.integers(0, 4))

            def step(k: int, s: float, meet: float = meet, side: int = side, shift: int = shift) -> Step:
                if s < meet - 1e-6:
                    return {"speed": speed, "amp": 0.6, "label": "walking", "abnormal": False}
                return {
                    "speed": 0.0,
                    "amp": 0.35,
                    "label": "fighting",
                    "abnormal": True,
                    "lean": 8.0,
                    "lateral": 0.0,
                    "punch": 1 + ((k + shift) // 4) % 2,
                    "phase_add": 0.9,
                }

            track = _follow(layout, rng, random_person(rng), kind, path, 0.0, 0, n, step, scale=scale)
            # facing toward the opponent; jitter back and forth while fighting
            track.poses = [
                None
                if p is None
                else Pose(
                    p.x + (0.05 * hp * math.sin(0.9 * (t + shift)) if track.labels[t] == "fighting" else 0.0),
                    p.y,
                    -side,
                    p.phase,
                    p.amp,
                    p.posture,
                    p.lift,
                    p.lean,
                    p.punch,
                    p.scale,
                )
                for t, p in enumerate(track.poses)
            ]
            out.append(track)
        return out

    raise ValueError(f"unknown anomaly kind {kind!r}")
