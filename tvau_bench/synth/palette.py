"""The fixed colour palette: every colour a generated object wears has one of these names.

RGB values are far apart (pairwise distance > 90) so a colour namer working on masked, mildly noisy and
compressed pixels can recover the name with a nearest-colour rule.
"""

from __future__ import annotations

# name -> (R, G, B); order fixed: random choices index into this tuple, so changing it changes every scene.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 35),
    "green": (40, 165, 55),
    "blue": (35, 70, 215),
    "yellow": (235, 215, 35),
    "white": (240, 240, 240),
    "black": (25, 25, 25),
    "grey": (128, 128, 128),
    "orange": (245, 120, 15),
    "purple": (135, 45, 175),
    "brown": (120, 72, 30),
    "pink": (245, 145, 200),
}
COLOUR_NAMES: tuple[str, ...] = tuple(PALETTE)

# Clothing choices: tops may be any colour; trousers favour the usual ones, cars the usual paints.
TOP_COLOURS = COLOUR_NAMES
BOTTOM_COLOURS = ("blue", "black", "grey", "brown", "white", "green", "red", "purple")
CAR_COLOURS = ("red", "blue", "white", "black", "grey", "yellow", "green", "orange")
VEHICLE_COLOURS = ("red", "blue", "green", "yellow", "black", "orange", "purple", "white")
SKIN_TONES_BGR: tuple[tuple[int, int, int], ...] = (
    (150, 180, 225),
    (110, 145, 200),
    (70, 100, 150),
    (50, 70, 105),
)


def bgr(name: str) -> tuple[int, int, int]:
    """The OpenCV BGR triple of a palette colour."""
    r, g, b = PALETTE[name]
    return (b, g, r)


def nearest_colour(rgb: tuple[float, float, float]) -> str:
    """Name of the palette colour nearest (Euclidean RGB) to ``rgb``."""
    return min(PALETTE, key=lambda n: sum((a - b) ** 2 for a, b in zip(PALETTE[n], rgb, strict=True)))
