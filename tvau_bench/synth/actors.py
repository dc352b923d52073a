"""Objects drawn with OpenCV: people (optionally carrying a backpack, bag or umbrella), bicycles with riders,
skateboarders and cars.

Each object is a list of primitives in a local frame (unit = the height of a standing person at the object's
feet; origin at the feet; y grows downward as in images), posed by :class:`Pose`, then rasterised once into a
colour crop and a mask crop with the *same* calls, so the id map covers exactly the drawn pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .palette import SKIN_TONES_BGR, bgr

SHIFT = 4  # sub-pixel precision of cv2 drawing calls (coordinates * 16)
_ONE = 1 << SHIFT

CATEGORIES = ("person", "bicycle", "skateboard", "car")
CARRIED = ("backpack", "bag", "umbrella")


@dataclass(frozen=True)
class Appearance:
    """What an object looks like; colour fields hold palette names (``None`` where not applicable)."""

    category: str  # person | bicycle | skateboard | car
    top: str | None = None  # rider's / person's top colour
    bottom: str | None = None  # trousers colour
    body: str | None = None  # car paint, bicycle frame, skateboard deck
    carried: tuple[str, ...] = ()
    carried_colour: str | None = None
    skin: int = 0


@dataclass(frozen=True)
class Pose:
    """Where and how an object is drawn in one frame."""

    x: float  # feet (ground contact) position in pixels
    y: float
    facing: int = 1  # +1 faces right, -1 left
    phase: float = 0.0  # gait / pedal phase in radians
    amp: float = 0.0  # leg swing amplitude (0 standing, ~0.6 walking, ~1 running)
    posture: float = 0.0  # body rotation in degrees toward the facing side (90 = lying down)
    lift: float = 0.0  # height above the ground in person heights (jumping)
    lean: float = 0.0  # forward lean in degrees (running, fighting)
    punch: int = 0  # 0 none; 1 / 2 the front / back arm punches forward
    scale: float = 1.0  # multiplies the perspective height (people differ in size)


Prim = tuple  # ("poly", pts, colour) | ("circle", c, r, colour) | ("line", p0, p1, thick, colour) | ("ring", ...)


def primitives(app: Appearance, pose: Pose) -> list[Prim]:
    """Local-frame primitives of an object in a pose (before scaling, rotation and translation)."""
    if app.category == "car":
        return _car(app, pose)
    if app.category == "bicycle":
        return _bicycle(app, pose)
    if app.category == "skateboard":
        return _skateboarder(app, pose)
    return _person(app, pose)


def _person(app: Appearance, pose: Pose, *, base: float = 0.0) -> list[Prim]:
    """A standing/walking/running person; ``base`` raises the feet (skateboard deck)."""
    f = pose.facing
    top, bottom = bgr(app.top or "grey"), bgr(app.bottom or "grey")
    skin = SKIN_TONES_BGR[app.skin % len(SKIN_TONES_BGR)]
    swing = pose.amp * 0.5 * math.sin(pose.phase)
    hip = (0.0, base - 0.48)
    leg = 0.48
    prims: list[Prim] = []
    back_colour = bgr(app.carried_colour or "black")
    if "backpack" in app.carried:
        prims.append(
            (
                "poly",
                [
                    (-f * 0.1, base - 0.8),
                    (-f * 0.2, base - 0.78),
                    (-f * 0.2, base - 0.55),
                    (-f * 0.1, base - 0.53),
                ],
                back_colour,
            )
        )
    for s in (1, -1):
        foot = (hip[0] + f * leg * math.sin(s * swing), hip[1] + leg * math.cos(s * swing))
        prims.append(("line", hip, foot, 0.08, bottom))
    prims.append(
        ("poly", [(-0.11, base - 0.8), (0.11, base - 0.8), (0.1, base - 0.46), (-0.1, base - 0.46)], top)
    )
    shoulder = (0.0, base - 0.77)
    arm = 0.36
    hands = []
    for s, k in ((1, 1), (-1, 2)):
        if pose.punch == k:
            hand = (shoulder[0] + f * arm, shoulder[1] - 0.02)
        elif pose.punch:
            hand = (shoulder[0] + f * arm * 0.45, shoulder[1] + 0.12)  # guard
        else:
            a = -s * swing * 0.9
            hand = (shoulder[0] + f * arm * math.sin(a), shoulder[1] + arm * math.cos(a))
        hands.append(hand)
        prims.append(("line", shoulder, hand, 0.055, top))
    prims.append(("circle", (f * 0.01, base - 0.89), 0.085, skin))
    if "bag" in app.carried:
        hx, hy = hands[0]
        prims.append(
            (
                "poly",
                [(hx - 0.06, hy), (hx + 0.06, hy), (hx + 0.07, hy + 0.13), (hx - 0.07, hy + 0.13)],
                back_colour,
            )
        )
    if "umbrella" in app.carried:
        hx, hy = (f * 0.14, base - 0.62)
        tip = (f * 0.1, base - 1.2)
        prims.append(("line", (hx, hy), tip, 0.025, (40, 40, 40)))
        prims.append(("half", tip, 0.3, 0.13, back_colour))
    return prims


def _bicycle(app: Appearance, pose: Pose) -> list[Prim]:
    """A bicycle seen from the side with its rider pedalling."""
    f = pose.facing
    frame = bgr(app.body or "red")
    top, bottom = bgr(app.top or "grey"), bgr(app.bottom or "grey")
    skin = SKIN_TONES_BGR[app.skin % len(SKIN_TONES_BGR)]
    rear, front, crank = (-f * 0.33, -0.2), (f * 0.33, -0.2), (0.0, -0.2)
    seat, bar = (-f * 0.1, -0.55), (f * 0.24, -0.62)
    prims: list[Prim] = [
        ("ring", rear, 0.19, 0.04, (30, 30, 30)),
        ("ring", front, 0.19, 0.04, (30, 30, 30)),
        ("line", rear, crank, 0.045, frame),
        ("line", crank, seat, 0.045, frame),
        ("line", seat, bar, 0.045, frame),
        ("line", crank, bar, 0.045, frame),
        ("line", bar, front, 0.045, frame),
        ("line", rear, seat, 0.04, frame),
    ]
    hip, shoulder = (-f * 0.1, -0.6), (f * 0.05, -0.95)
    if "backpack" in app.carried:
        bc = bgr(app.carried_colour or "black")
        prims.append(
            ("poly", [(-f * 0.06, -0.96), (-f * 0.16, -0.92), (-f * 0.2, -0.7), (-f * 0.1, -0.68)], bc)
        )
    for s in (1, -1):
        ped = (
            crank[0] + f * 0.11 * math.cos(pose.phase + (0 if s > 0 else math.pi)),
            crank[1] + 0.11 * math.sin(pose.phase + (0 if s > 0 else math.pi)),
        )
        knee = ((hip[0] + ped[0]) / 2 + f * 0.12, (hip[1] + ped[1]) / 2 - 0.05)
        prims.append(("line", hip, knee, 0.075, bottom))
        prims.append(("line", knee, ped, 0.07, bottom))
    prims.append(
        (
            "poly",
            [
                (shoulder[0] - 0.1, shoulder[1]),
                (shoulder[0] + 0.1, shoulder[1] + 0.02),
                (hip[0] + 0.1, hip[1]),
                (hip[0] - 0.1, hip[1]),
            ],
            top,
        )
    )
    prims.append(("line", shoulder, bar, 0.05, top))
    prims.append(("circle", (shoulder[0] + f * 0.03, shoulder[1] - 0.11), 0.085, skin))
    return prims


def _skateboarder(app: Appearance, pose: Pose) -> list[Prim]:
    """A person standing sideways on a skateboard (arms out for balance)."""
    deck = bgr(app.body or "yellow")
    prims: list[Prim] = [
        ("poly", [(-0.24, -0.08), (0.24, -0.08), (0.24, -0.04), (-0.24, -0.04)], deck),
        ("circle", (-0.15, -0.025), 0.028, (30, 30, 30)),
        ("circle", (0.15, -0.025), 0.028, (30, 30, 30)),
    ]
    rider = Pose(pose.x, pose.y, pose.facing, math.pi / 2, 0.45, 0.0, 0.0, 0.0, 0, pose.scale)
    return prims + _person(app, rider, base=-0.08)


def _car(app: Appearance, pose: Pose) -> list[Prim]:
    """A car seen from the side, 1.7 person heights long."""
    f = pose.facing
    paint = bgr(app.body or "red")
    glass = (70, 55, 45)
    prims: list[Prim] = [
        ("poly", [(-0.85, -0.42), (0.85, -0.42), (0.85, -0.12), (-0.85, -0.12)], paint),
        ("poly", [(-0.55, -0.42), (-0.38, -0.7), (0.32, -0.7), (0.55, -0.42)], paint),
        ("poly", [(-0.45, -0.44), (-0.34, -0.64), (-0.04, -0.64), (-0.04, -0.44)], glass),
        ("poly", [(0.02, -0.44), (0.02, -0.64), (0.28, -0.64), (0.45, -0.44)], glass),
        ("circle", (-0.55, -0.13), 0.13, (25, 25, 25)),
        ("circle", (0.55, -0.13), 0.13, (25, 25, 25)),
        ("poly", [(0.8 * f, -0.38), (0.86 * f, -0.38), (0.86 * f, -0.3), (0.8 * f, -0.3)], (150, 230, 250)),
    ]
    return prims


def _transform(pose: Pose, height_px: float):
    """Local (x, y) -> image (x, y): scale, rotate about the feet toward ``facing``, lift, translate."""
    ang = math.radians(pose.facing * pose.posture + pose.facing * pose.lean)
    c, s = math.cos(ang), math.sin(ang)
    ox, oy = pose.x, pose.y - pose.lift * height_px

    def tf(p: tuple[float, float]) -> tuple[float, float]:
        x, y = p[0] * height_px, p[1] * height_px
        return (ox + x * c - y * s, oy + x * s + y * c)

    return tf


def rasterise(
    app: Appearance, pose: Pose, height_px: float, img_w: int, img_h: int
) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """Draw one object: ``(x0, y0, colour crop (h,w,3), mask crop (h,w) bool)`` clipped to the image, or None
    when nothing of it falls inside the image."""
    hp = height_px * pose.scale
    tf = _transform(pose, hp)
    ops = []
    xs: list[float] = []
    ys: list[float] = []
    for prim in primitives(app, pose):
        kind = prim[0]
        if kind == "poly":
            pts = [tf(p) for p in prim[1]]
            ops.append(("poly", pts, prim[2]))
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
        elif kind == "circle":
            c, r = tf(prim[1]), max(0.8, prim[2] * hp)
            ops.append(("circle", c, r, prim[3]))
            xs += [c[0] - r, c[0] + r]
            ys += [c[1] - r, c[1] + r]
        elif kind == "ring":
            c, r, t = tf(prim[1]), max(1.0, prim[2] * hp), max(1, round(prim[3] * hp))
            ops.append(("ring", c, r, t, prim[4]))
            xs += [c[0] - r - t, c[0] + r + t]
            ys += [c[1] - r - t, c[1] + r + t]
        elif kind == "line":
            p0, p1, t = tf(prim[1]), tf(prim[2]), max(1, round(prim[3] * hp))
            ops.append(("line", p0, p1, t, prim[4]))
            xs += [p0[0] - t, p0[0] + t, p1[0] - t, p1[0] + t]
            ys += [p0[1] - t, p0[1] + t, p1[1] - t, p1[1] + t]
        elif kind == "half":  # umbrella canopy: upper half ellipse, always opening upward in the image
            c, rx, ry = tf(prim[1]), max(1.0, prim[2] * hp), max(1.0, prim[3] * hp)
            ops.append(("half", c, rx, ry, prim[4]))
            xs += [c[0] - rx, c[0] + rx]
            ys += [c[1] - ry, c[1] + 1]
    x0 = max(0, math.floor(min(xs)) - 2)
    y0 = max(0, math.floor(min(ys)) - 2)
    x1 = min(img_w, math.ceil(max(xs)) + 3)
    y1 = min(img_h, math.ceil(max(ys)) + 3)
    if x1 <= x0 or y1 <= y0:
        return None
    crop = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)

    def fx(p: tuple[float, float]) -> tuple[int, int]:
        return (round((p[0] - x0) * _ONE), round((p[1] - y0) * _ONE))

    for op in ops:
        kind = op[0]
        for target, colour in ((crop, op[-1]), (mask, 255)):
            if kind == "poly":
                pts = np.array([fx(p) for p in op[1]], np.int32)
                cv2.fillConvexPoly(target, pts, colour, cv2.LINE_8, SHIFT)
            elif kind == "circle":
                cv2.circle(target, fx(op[1]), round(op[2] * _ONE), colour, -1, cv2.LINE_8, SHIFT)
            elif kind == "ring":
                cv2.circle(target, fx(op[1]), round(op[2] * _ONE), colour, op[3], cv2.LINE_8, SHIFT)
            elif kind == "line":
                cv2.line(target, fx(op[1]), fx(op[2]), colour, op[3], cv2.LINE_8, SHIFT)
            elif kind == "half":
                axes = (round(op[2] * _ONE), round(op[3] * _ONE))
                cv2.ellipse(target, fx(op[1]), axes, 0, 180, 360, colour, -1, cv2.LINE_8, SHIFT)
    m = mask > 0
    if not m.any():
        return None
    return x0, y0, crop, m
