"""A classical detection baseline: motion magnitude against a background of typical motion, no learning.

Per frame t: the motion magnitude is the blurred mean absolute difference between frames t - k and t + k
(grey levels). The "background" is what motion normally looks like at each pixel of a scene: the per-pixel
``quantile`` of the magnitude over the train split's normal frames of that scene (a global one where a scene has
no training video). The heatmap is ``1 - exp(-max(m - background, 0) / scale)`` (in [0, 1)) where ``scale`` is
the 99.9th percentile of the positive excess over the same normal frames: fast or unusual motion lights up, steady
traffic where it always is does not. Scored with the same detection rule and metrics as the AHD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .data import VideoArrays


def motion_magnitude(frames: np.ndarray, offset: int = 2, blur: int = 5) -> np.ndarray:
    """(T, h, w, 3) uint8 → (T, h, w) float32 mean |I(t+k) - I(t-k)| / 255, Gaussian-blurred."""
    grey = frames.astype(np.float32).mean(-1) / 255.0
    n = len(grey)
    idx = np.arange(n)
    diff = np.abs(grey[np.clip(idx + offset, 0, n - 1)] - grey[np.clip(idx - offset, 0, n - 1)])
    k = blur | 1
    return np.stack([cv2.GaussianBlur(d, (k, k), 0) for d in diff])


@dataclass
class MotionBackground:
    """Per-scene per-pixel typical motion and the global excess scale."""

    per_scene: dict[str, np.ndarray]
    fallback: np.ndarray
    scale: float
    offset: int = 2

    def heatmaps(self, v: VideoArrays, scene: str) -> np.ndarray:
        m = motion_magnitude(v.frames, self.offset)
        bg = self.per_scene.get(scene, self.fallback)
        if bg.shape != m.shape[1:]:
            bg = cv2.resize(bg, m.shape[1:][::-1], interpolation=cv2.INTER_LINEAR)
        return 1.0 - np.exp(-np.clip(m - bg, 0.0, None) / self.scale)


def fit_background(
    videos: Sequence[VideoArrays], scenes: Sequence[str], *, quantile: float = 0.95, offset: int = 2
) -> MotionBackground:
    """Learn the background of typical motion from the normal frames of training videos."""
    by_scene: dict[str, list[np.ndarray]] = {}
    for v, scene in zip(videos, scenes, strict=True):
        m = motion_magnitude(v.frames, offset)[v.labels == 0]
        if len(m):
            by_scene.setdefault(scene, []).append(m)
    if not by_scene:
        raise ValueError("no normal training frames to learn the background from")
    shape = next(iter(by_scene.values()))[0].shape[1:]
    per_scene = {
        s: np.quantile(
            np.concatenate([x if x.shape[1:] == shape else _resize_all(x, shape) for x in ms]),
            quantile,
            axis=0,
        ).astype(np.float32)
        for s, ms in by_scene.items()
    }
    fallback = np.mean(np.stack(list(per_scene.values())), axis=0)
    excess = np.concatenate(
        [
            np.clip(x - per_scene[s], 0, None).ravel()
            for s, ms in by_scene.items()
            for x in ms
            if x.shape[1:] == shape
        ]
    )
    scale = float(max(np.quantile(excess, 0.999), 1e-4))
    return MotionBackground(per_scene, fallback, scale, offset)


def _resize_all(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.stack([cv2.resize(f, shape[::-1], interpolation=cv2.INTER_LINEAR) for f in x])


def classical_heatmap_fn(
    background: MotionBackground, scene_of: dict[str, str]
) -> Callable[[VideoArrays], np.ndarray]:
    """The detection pipeline's heatmap function for the baseline (scene looked up by video id)."""
    return lambda v: background.heatmaps(v, scene_of.get(v.video_id, ""))


def classical_baseline(source, max_side: int, split: str = "train") -> Callable[[VideoArrays], np.ndarray]:
    """Fit the motion background on a source's train split; the heatmap function for any split of it."""
    from .data import load_video

    train = sorted(source.videos(split), key=lambda v: v.video_id)
    arrays = [load_video(v, max_side, with_masks=False) for v in train]
    background = fit_background(arrays, [v.scene for v in train])
    scene_of = {v.video_id: v.scene for s in source.splits() for v in source.videos(s)}
    return classical_heatmap_fn(background, scene_of)
