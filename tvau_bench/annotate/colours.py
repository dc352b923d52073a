"""Colour names from masked pixels: the geometric annotator's eyes.

Each pixel is named by its nearest prototype in CIELAB (several prototypes per basic colour term, covering
shaded and light variants), and the region takes the most frequent name. Mask borders are eroded first so
anti-aliased edges, outlines and background bleed do not vote.
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

# Basic colour terms with RGB prototypes (a mid tone plus darker/lighter variants seen under real lighting).
PROTOTYPES_RGB: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": ((210, 35, 35), (160, 25, 30), (235, 70, 60)),
    "orange": ((245, 135, 25), (220, 110, 20), (250, 165, 70)),
    "yellow": ((235, 215, 40), (200, 185, 40), (250, 235, 110)),
    "green": ((45, 160, 60), (30, 110, 40), (110, 200, 110)),
    "blue": ((40, 70, 210), (25, 45, 140), (90, 130, 230)),
    "purple": ((130, 45, 170), (90, 35, 120), (175, 110, 210)),
    "pink": ((245, 145, 200), (230, 110, 160), (250, 190, 220)),
    "brown": ((120, 72, 32), (85, 50, 25), (155, 105, 65)),
    "black": ((22, 22, 22), (45, 45, 50)),
    "grey": ((128, 128, 128), (95, 95, 98), (170, 170, 172)),
    "white": ((240, 240, 240), (215, 215, 218)),
}
COLOUR_NAMES: tuple[str, ...] = tuple(PROTOTYPES_RGB)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """float32 Lab (OpenCV scaling) of an (N, 3) uint8 RGB array."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1, 1, 3)
    return cv2.cvtColor(arr, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)


_PROTO_NAMES = [n for n, protos in PROTOTYPES_RGB.items() for _ in protos]
_PROTO_LAB = _lab(np.array([p for protos in PROTOTYPES_RGB.values() for p in protos], dtype=np.uint8))


def name_pixels(bgr: np.ndarray) -> list[str]:
    """Nearest basic colour name of each pixel of an (N, 3) uint8 BGR array."""
    if len(bgr) == 0:
        return []
    lab = _lab(np.asarray(bgr, dtype=np.uint8).reshape(-1, 3)[:, ::-1])
    d = ((lab[:, None, :] - _PROTO_LAB[None, :, :]) ** 2).sum(axis=2)
    return [_PROTO_NAMES[i] for i in d.argmin(axis=1)]


def erode(mask: np.ndarray, pixels: int = 1) -> np.ndarray:
    """The mask shrunk by ``pixels``; the original when erosion would leave under a quarter of it."""
    m = np.asarray(mask, dtype=bool)
    if pixels <= 0:
        return m
    k = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    e = cv2.erode(m.astype(np.uint8), k).astype(bool)
    return e if e.sum() * 4 >= m.sum() else m


def dominant_colour(
    image: np.ndarray, mask: np.ndarray, *, max_pixels: int = 4000
) -> tuple[str | None, float]:
    """``(name, share)`` of the most frequent colour name inside ``mask``; ``(None, 0.0)`` for an empty mask.

    At most ``max_pixels`` pixels are named (an even stride over the mask), which keeps big regions cheap.
    """
    pix = image[np.asarray(mask, dtype=bool)]
    if len(pix) == 0:
        return None, 0.0
    if len(pix) > max_pixels:
        pix = pix[:: int(np.ceil(len(pix) / max_pixels))]
    # Naming unique colours once is much faster on flat regions.
    uniq, counts = np.unique(pix.reshape(-1, 3), axis=0, return_counts=True)
    votes: Counter[str] = Counter()
    for name, c in zip(name_pixels(uniq), counts, strict=True):
        votes[name] += int(c)
    # most_common is stable on ties in insertion order, which follows np.unique's sorted colours.
    name, n = votes.most_common(1)[0]
    return name, n / len(pix)


def body_bands(
    mask: np.ndarray, top: tuple[float, float], bottom: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``mask`` inside two horizontal bands given as fractions of the mask's own height.

    For a person, ``top`` ≈ (0.22, 0.5) covers the torso below the head and ``bottom`` ≈ (0.58, 0.92) the legs.
    """
    m = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(m.any(axis=1))
    upper = np.zeros_like(m)
    lower = np.zeros_like(m)
    if rows.size == 0:
        return upper, lower
    y0, y1 = int(rows[0]), int(rows[-1])
    h = y1 - y0 + 1

    def band(lo: float, hi: float) -> np.ndarray:
        out = np.zeros_like(m)
        a, b = y0 + round(lo * h), y0 + max(round(hi * h), round(lo * h) + 1)
        out[a:b] = m[a:b]
        return out

    upper = band(*top)
    lower = band(*bottom)
    return upper, lower


def person_colours(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    top: tuple[float, float] = (0.22, 0.5),
    bottom: tuple[float, float] = (0.58, 0.92),
) -> tuple[str | None, str | None]:
    """``(top colour, bottom colour)`` of a person from the upper and lower bands of their mask."""
    m = erode(mask)
    upper, lower = body_bands(m, top, bottom)
    return dominant_colour(image, upper)[0], dominant_colour(image, lower)[0]


def object_colour(image: np.ndarray, mask: np.ndarray) -> str | None:
    """The body colour of a non-person target (the dominant name over the eroded mask)."""
    return dominant_colour(image, erode(mask))[0]
