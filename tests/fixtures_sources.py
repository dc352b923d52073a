"""Hand-made source roots for the reader tests: tiny videos of moving rectangles whose truth is known exactly.

Each rectangle object is ``Rect(oid, x, y, w, h, dx, frames)``: at frame ``f`` it covers columns
``x + dx*f .. x + dx*f + w - 1`` and rows ``y .. y + h - 1``, in the frames listed (all when ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tvau_bench.sources import shanghaitech, ubnormal

H, W = 48, 64


@dataclass(frozen=True)
class Rect:
    oid: int
    x: int
    y: int
    w: int
    h: int
    dx: int = 0
    frames: tuple[int, ...] | None = None

    def visible(self, f: int) -> bool:
        return self.frames is None or f in self.frames

    def box(self, f: int) -> tuple[int, int, int, int]:
        """Inclusive box at frame ``f``."""
        x0 = self.x + self.dx * f
        return x0, self.y, x0 + self.w - 1, self.y + self.h - 1


def draw(rects: list[Rect], t: int, h: int = H, w: int = W) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """BGR frames (grey background, each object a distinct colour) and uint8 id maps."""
    frames, maps = [], []
    for f in range(t):
        img = np.full((h, w, 3), 90, np.uint8)
        m = np.zeros((h, w), np.uint8)
        for r in rects:
            if r.visible(f):
                x0, y0, x1, y1 = r.box(f)
                m[y0 : y1 + 1, x0 : x1 + 1] = r.oid
                img[y0 : y1 + 1, x0 : x1 + 1] = (40 * r.oid) % 255, 200, 255 - 30 * r.oid
        frames.append(img)
        maps.append(m)
    return frames, maps


# UBnormal fixture ------------------------------------------------------------------------------------

T_A = 20
RECTS_A = [
    Rect(1, 2, 2, 6, 10, dx=1),  # a person (not in the pickle)
    Rect(2, 30, 30, 12, 8),  # a car with two abnormal intervals
    Rect(3, 50, 5, 5, 5, frames=tuple(f for f in range(T_A) if f != 7)),  # a bicycle absent from frame 7
]
TRACKS_A = [(3, 6, 9), (2, 2, 5), (2, 10, 12)]  # unsorted by id on purpose
T_B = 10
RECTS_B = [Rect(1, 5, 5, 8, 8, dx=2), Rect(4, 40, 20, 6, 6)]
TRACKS_B = [(1, 0, 3)]  # one row, overridden by _new_tracks
NEW_TRACKS_B = [(4, 2, 8)]
T_D = 8
RECTS_D = [Rect(1, 10, 10, 10, 10, dx=1)]
TRACKS_D = [(1, 0, T_D - 1)]  # all-abnormal video
CLASSES = {
    "abnormal_scene_1_scenario_1": {2: "car", 3: "bicycle"},
    "abnormal_scene_1_scenario_2_fog": {4: "van"},
}
LISTS = {
    "abnormal_training": ["abnormal_scene_1_scenario_1"],
    "normal_training": ["normal_scene_2_scenario_1"],
    "abnormal_validation": ["abnormal_scene_1_scenario_2_fog"],
    "normal_validation": [],
    "abnormal_test": ["abnormal_scene_2_scenario_3"],
    "normal_test": [],
}


def make_ubnormal(root: Path) -> Path:
    """A four-video UBnormal root with every quirk of FORMATS.md (see the constants above)."""
    fa, ma = draw(RECTS_A, T_A)
    ubnormal.write_video(root, "abnormal_scene_1_scenario_1", fa, ma, TRACKS_A, crlf=True)
    fb, mb = draw(RECTS_B, T_B)
    ubnormal.write_video(
        root, "abnormal_scene_1_scenario_2_fog", fb, mb, TRACKS_B, crlf=False, new_tracks=NEW_TRACKS_B
    )
    fc, mc = draw([Rect(1, 20, 20, 4, 9, dx=-1)], 6)
    ubnormal.write_video(root, "normal_scene_2_scenario_1", fc, mc, None)
    fd, md = draw(RECTS_D, T_D)
    ubnormal.write_video(root, "abnormal_scene_2_scenario_3", fd, md, TRACKS_D)
    ubnormal.write_split_lists(root, LISTS)
    ubnormal.write_object_classes(root, CLASSES)
    return root


# ShanghaiTech fixture --------------------------------------------------------------------------------

T_S = 12


def shanghaitech_masks() -> np.ndarray:
    """(T, H, W) pixel masks: target 1 moves right over frames 2..9 with a one-frame dropout at 5; target 2 is
    a separate blob in frames 6..8; frame 11 has a new blob far away (a third target)."""
    pm = np.zeros((T_S, H, W), np.uint8)
    for f in range(2, 10):
        if f != 5:
            pm[f, 10:20, 5 + 2 * f : 15 + 2 * f] = 1
    for f in range(6, 9):
        pm[f, 35:45, 45:55] = 255  # not 0/1: binarised with > 0
    pm[11, 2:6, 55:60] = 1
    return pm


def make_shanghaitech(root: Path, *, layout: str = "THW") -> Path:
    """Test videos 01_0001 (three targets) and 04_0011 (all abnormal), and one training video."""
    pm = shanghaitech_masks()
    frames = [np.full((H, W, 3), 60 + 10 * f, np.uint8) for f in range(T_S)]
    shanghaitech.write_test_video(root, "01_0001", frames, pm, layout=layout)
    pm2 = np.zeros((5, H, W), np.uint8)
    pm2[:, 20:30, 20:30] = 1
    shanghaitech.write_test_video(root, "04_0011", frames[:5], pm2, layout=layout)
    shanghaitech.write_train_video(root, "01_001", frames[:7])
    return root
