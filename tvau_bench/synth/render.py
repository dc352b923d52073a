"""Frames and object-id maps of a clip: objects composited far-to-near (feet row order), so the id map
records exactly the visible pixels of each object, then fog or smoke and mild sensor noise on the image only."""

from __future__ import annotations

import cv2
import numpy as np

from .actors import rasterise
from .behaviours import ObjectTrack
from .scene import SceneLayout

EFFECTS = ("fog", "smoke")


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive end), clipped to the image


def render_frame(
    layout: SceneLayout, tracks: list[ObjectTrack], t: int
) -> tuple[np.ndarray, np.ndarray, dict[int, Rect]]:
    """The clean BGR image, the uint8 id map (0 = background) of frame ``t``, and per drawn object the
    bounding rectangle of all its drawn pixels, occluded or not (its visible pixels lie inside it)."""
    img = layout.background.copy()
    ids = np.zeros((layout.height, layout.width), np.uint8)
    rects: dict[int, Rect] = {}
    present = [(tr.poses[t].y, tr.object_id, tr) for tr in tracks if tr.poses[t] is not None]
    for _, _, tr in sorted(present, key=lambda item: (item[0], item[1])):
        pose = tr.poses[t]
        drawn = rasterise(tr.appearance, pose, layout.person_height(pose.y), layout.width, layout.height)
        if drawn is None:
            continue
        x0, y0, crop, mask = drawn
        h, w = mask.shape
        img[y0 : y0 + h, x0 : x0 + w][mask] = crop[mask]
        ids[y0 : y0 + h, x0 : x0 + w][mask] = tr.object_id
        bx, by, bw, bh = cv2.boundingRect(mask.view(np.uint8))
        rects[tr.object_id] = (x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh)
    return img, ids, rects


def effect_field(effect: str | None, rng: np.random.Generator, width: int, height: int, n_frames: int):
    """A function ``t -> (alpha (H,W,1) float32, colour (3,))`` for fog or smoke, or None."""
    if effect is None:
        return None
    if effect not in EFFECTS:
        raise ValueError(f"unknown effect {effect!r}")
    small = rng.uniform(0, 1, (height // 16 + 3, width // 16 + 3 + n_frames // 8 + 2)).astype(np.float32)
    big = cv2.resize(small, (small.shape[1] * 16, small.shape[0] * 16), interpolation=cv2.INTER_CUBIC)
    if effect == "fog":
        colour = np.array([205, 205, 200], np.float32)
        base = 0.26

        def field(t: int):
            off = int(t * 2) % max(1, big.shape[1] - width)
            a = base + 0.16 * big[:height, off : off + width]
            return np.clip(a, 0, 0.45)[..., None], colour

        return field
    colour = np.array([95, 100, 105], np.float32)
    cx0 = float(rng.uniform(0.2, 0.8)) * width
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    def field(t: int):
        # a plume rising from a point near the bottom and drifting sideways
        cx = cx0 + 0.15 * width * np.sin(t / 25.0)
        r = 0.35 * width
        d = ((xx - cx) / r) ** 2 + ((yy - height * 0.55) / (0.8 * height)) ** 2
        off = int(t * 3) % max(1, big.shape[1] - width)
        a = np.clip(0.6 * np.exp(-d) * (0.6 + 0.5 * big[:height, off : off + width]), 0, 0.6)
        return a[..., None], colour

    return field


NOISE_PAD = 32


def noise_tile(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Sensor noise (int16, sigma 2.5) a little larger than a frame; each frame takes a shifted window."""
    return np.rint(rng.normal(0, 2.5, (height + NOISE_PAD, width + NOISE_PAD))).astype(np.int16)


def finish(img: np.ndarray, t: int, field, noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply the atmospheric effect and mild noise to a clean frame (the id map is unaffected)."""
    h, w = img.shape[:2]
    if field is not None:
        a, colour = field(t)
        img = np.clip(img.astype(np.float32) * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    dx, dy = (int(v) for v in rng.integers(0, NOISE_PAD, 2))
    out = img.astype(np.int16) + noise[dy : dy + h, dx : dx + w, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def render_clip(
    layout: SceneLayout,
    tracks: list[ObjectTrack],
    n_frames: int,
    *,
    effect: str | None,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[np.ndarray], list[dict[int, Rect]]]:
    """All frames and id maps of a clip, and per frame the drawing rectangle of each object."""
    field = effect_field(effect, rng, layout.width, layout.height, n_frames)
    noise = noise_tile(rng, layout.width, layout.height)
    frames, maps, rects = [], [], []
    for t in range(n_frames):
        img, ids, r = render_frame(layout, tracks, t)
        frames.append(finish(img, t, field, noise, rng))
        maps.append(ids)
        rects.append(r)
    return frames, maps, rects
