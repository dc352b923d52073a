"""Static scene layouts seen by a fixed camera: textured grass, a road, a horizontal walkway and a vertical one.

Two layout variants alternate by scene number: the road near the top with the vertical walkway going down to
the bottom edge, or the road near the bottom with the vertical walkway going up to the top edge. Walkway and
road lanes have a flow direction (painted arrows on the walkway, keep-right traffic on the road), which makes
"moving against the flow" a visible, learnable anomaly. Everything is a pure function of (seed, scene).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRASS, WALKWAY, ROAD = 0, 1, 2


@dataclass(frozen=True)
class Lane:
    """A straight lane: horizontal (``axis="h"``, ``centre`` is y) or vertical (``axis="v"``, ``centre`` is x).

    ``flow`` is +1 when traffic moves toward +x/+y (right/down), -1 toward left/up; ``span`` is the lane's
    extent along its axis in pixels (it may reach past the image border).
    """

    name: str
    kind: str  # "walkway" | "road"
    axis: str  # "h" | "v"
    centre: float
    half_width: float
    flow: int
    span: tuple[float, float]


@dataclass
class SceneLayout:
    """One camera view: the background image, a ground-type map and the lanes objects move along."""

    scene: int
    width: int
    height: int
    variant: int  # 0: road at the top, vertical walkway going down; 1: road at the bottom, walkway going up
    background: np.ndarray  # (H, W, 3) uint8 BGR
    ground: np.ndarray  # (H, W) uint8: GRASS / WALKWAY / ROAD
    lanes: dict[str, Lane]
    walk_band: tuple[float, float]  # y range of the horizontal walkway
    road_band: tuple[float, float]
    vwalk_band: tuple[float, float]  # x range of the vertical walkway

    def person_height(self, y: float) -> float:
        """Apparent height in pixels of a standing person whose feet are at image row ``y`` (perspective)."""
        return self.height * (0.085 + 0.115 * float(np.clip(y, 0, self.height)) / self.height)

    def ground_at(self, x: float, y: float) -> int:
        """Ground type under image point (x, y), clipped to the image."""
        xi = int(np.clip(round(x), 0, self.width - 1))
        yi = int(np.clip(round(y), 0, self.height - 1))
        return int(self.ground[yi, xi])


def build_layout(seed: int, scene: int, width: int, height: int) -> SceneLayout:
    """The layout of ``scene`` for this seed: same seed and scene give the same pixels."""
    rng = np.random.default_rng([int(seed), 7919, int(scene)])
    w, h = width, height
    variant = (scene - 1) % 2

    def j(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    if variant == 0:
        road = (h * j(0.15, 0.19), 0.0)
        road = (road[0], road[0] + h * j(0.19, 0.22))
        walk = (h * j(0.50, 0.55), 0.0)
        walk = (walk[0], walk[0] + h * j(0.15, 0.18))
        v_span = (walk[0], h + 0.25 * h)  # from the walkway down past the bottom edge
    else:
        walk = (h * j(0.36, 0.41), 0.0)
        walk = (walk[0], walk[0] + h * j(0.15, 0.18))
        road = (h * j(0.70, 0.73), 0.0)
        road = (road[0], road[0] + h * j(0.20, 0.23))
        v_span = (-0.25 * h, walk[1])  # from past the top edge down to the walkway
    vx = w * j(0.28, 0.72)
    vhw = w * j(0.055, 0.07)
    vband = (vx - vhw, vx + vhw)

    ground = np.full((h, w), GRASS, np.uint8)
    ground[round(road[0]) : round(road[1]), :] = ROAD
    ground[round(walk[0]) : round(walk[1]), :] = WALKWAY
    y_lo, y_hi = max(0, round(v_span[0])), min(h, round(v_span[1]))
    ground[y_lo:y_hi, round(vband[0]) : round(vband[1])] = WALKWAY

    margin = 0.2 * w
    wh = (walk[1] - walk[0]) / 2
    rh = (road[1] - road[0]) / 2
    lanes = {
        # keep-right walking: the far (upper) half flows left, the near half flows right
        "walk_upper": Lane(
            "walk_upper", "walkway", "h", walk[0] + 0.55 * wh, 0.45 * wh, -1, (-margin, w + margin)
        ),
        "walk_lower": Lane(
            "walk_lower", "walkway", "h", walk[0] + 1.5 * wh, 0.45 * wh, +1, (-margin, w + margin)
        ),
        "vwalk_up": Lane("vwalk_up", "walkway", "v", vx - 0.5 * vhw, 0.45 * vhw, -1, v_span),
        "vwalk_down": Lane("vwalk_down", "walkway", "v", vx + 0.5 * vhw, 0.45 * vhw, +1, v_span),
        "road_upper": Lane(
            "road_upper", "road", "h", road[0] + 0.75 * rh, 0.5 * rh, -1, (-margin, w + margin)
        ),
        "road_lower": Lane(
            "road_lower", "road", "h", road[0] + 1.75 * rh, 0.5 * rh, +1, (-margin, w + margin)
        ),
    }
    background = _paint(rng, ground, lanes, road, walk, vband, v_span, w, h)
    return SceneLayout(scene, w, h, variant, background, ground, lanes, walk, road, vband)


def _texture(rng: np.random.Generator, h: int, w: int, cell: int, amp: float) -> np.ndarray:
    """Smooth random field in [-amp, amp]: noise at ``cell`` px resolution, upsampled."""
    small = rng.uniform(-1, 1, (max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[:h, :w] * amp


def _paint(
    rng: np.random.Generator,
    ground: np.ndarray,
    lanes: dict[str, Lane],
    road: tuple[float, float],
    walk: tuple[float, float],
    vband: tuple[float, float],
    v_span: tuple[float, float],
    w: int,
    h: int,
) -> np.ndarray:
    """Background pixels: textured grass, paved walkway with tile joints, asphalt with lane markings."""
    grass_base = np.array([55, 135, 75], np.float32) + rng.uniform(-10, 10, 3).astype(np.float32)
    pave_base = np.array([172, 180, 186], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    road_base = np.array([78, 76, 74], np.float32) + rng.uniform(-8, 8, 3).astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    fine = rng.normal(0, 1, (h, w)).astype(np.float32)
    coarse = _texture(rng, h, w, 24, 1.0)
    for kind, base, f_amp, c_amp in (
        (GRASS, grass_base, 9.0, 14.0),
        (WALKWAY, pave_base, 3.0, 6.0),
        (ROAD, road_base, 5.0, 5.0),
    ):
        sel = ground == kind
        img[sel] = base + (fine[sel] * f_amp + coarse[sel] * c_amp)[:, None]
    out = np.clip(img, 0, 255).astype(np.uint8)

    # tile joints on the walkways (background only: objects are drawn over them)
    joint = tuple(int(c) for c in (pave_base - 28))
    tile = max(6, int(h * 0.06))
    for x in range(0, w, tile):
        cv2.line(out, (x, int(walk[0])), (x, int(walk[1]) - 1), joint, 1)
    for y in range(int(max(0, v_span[0])), int(min(h, v_span[1])), tile):
        cv2.line(out, (int(vband[0]), y), (int(vband[1]) - 1, y), joint, 1)
    walk_mask = (ground == WALKWAY).astype(np.uint8)
    out[walk_mask == 0] = np.clip(img[walk_mask == 0], 0, 255).astype(np.uint8)  # joints only on paving
    # kerbs
    kerb = (95, 100, 105)
    for y in walk:
        cv2.line(out, (0, round(y)), (w - 1, round(y)), kerb, 1)
    for y in road:
        cv2.line(out, (0, round(y)), (w - 1, round(y)), (200, 200, 200), 1)
    # dashed centre line of the road
    yc = round((road[0] + road[1]) / 2)
    dash = max(6, w // 20)
    for x in range(0, w, 2 * dash):
        cv2.line(out, (x, yc), (x + dash, yc), (40, 200, 230), max(1, h // 160))
    # painted flow arrows on the walkway lanes
    paint = (235, 235, 235)
    for lane in lanes.values():
        if lane.kind != "walkway":
            continue
        length = max(6.0, 2.4 * lane.half_width)
        if lane.axis == "h":
            for x in np.arange(w * 0.12, w, w * 0.3):
                p0 = (int(x - lane.flow * length / 2), round(lane.centre))
                p1 = (int(x + lane.flow * length / 2), round(lane.centre))
                cv2.arrowedLine(out, p0, p1, paint, 1, cv2.LINE_8, 0, 0.35)
        else:
            lo, hi = max(0.0, lane.span[0]), min(float(h), lane.span[1])
            for y in np.arange(lo + (hi - lo) * 0.3, hi, max(1.0, (hi - lo) * 0.4)):
                p0 = (round(lane.centre), int(y - lane.flow * length / 2))
                p1 = (round(lane.centre), int(y + lane.flow * length / 2))
                cv2.arrowedLine(out, p0, p1, paint, 1, cv2.LINE_8, 0, 0.35)
    return out
