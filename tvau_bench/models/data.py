"""Clips for the AHD from any :class:`~tvau_bench.sources.base.Source`: frames and abnormal pixel masks.

A video is decoded once into memory at a working resolution (``VideoArrays``). The abnormal mask of a frame is
the union of the masks of the objects whose abnormal intervals contain that frame (``SourceVideo.objects`` and
``SourceVideo.object_masks``), so the same code serves UBnormal id maps and ShanghaiTech pixel masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import TvauError
from ..progress import progress


@dataclass
class VideoArrays:
    """One video at working resolution: frames (T, h, w, 3) uint8 RGB, masks (T, h, w) bool, labels (T,)."""

    video_id: str
    frames: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    width: int  # original size (boxes are written in it)
    height: int
    objects: np.ndarray | None = None  # (T, h, w) bool: any object, normal ones included (hard negatives)


def working_size(width: int, height: int, max_side: int, multiple: int = 8) -> tuple[int, int]:
    """(w, h) scaled so the longer side is at most ``max_side``, both rounded to ``multiple`` (aspect kept)."""
    scale = min(1.0, max_side / max(width, height))
    w = max(multiple, round(width * scale / multiple) * multiple)
    h = max(multiple, round(height * scale / multiple) * multiple)
    return w, h


def abnormal_mask(
    video, frame: int, abnormal: dict[int, Sequence[tuple[int, int]]], shape: tuple[int, int]
) -> np.ndarray:
    """Union of the masks of the objects abnormal at ``frame`` (all False when none)."""
    ids = [oid for oid, ivs in abnormal.items() if any(s <= frame <= e for s, e in ivs)]
    out = np.zeros(shape, dtype=bool)
    if not ids:
        return out
    masks = video.object_masks(frame)
    for oid in ids:
        m = masks.get(oid)
        if m is not None:
            out |= m
    return out


def load_video(video, max_side: int = 160, *, with_masks: bool = True) -> VideoArrays:
    """Decode a :class:`SourceVideo` at working resolution (longer side ``max_side``)."""
    w, h = working_size(video.width, video.height, max_side)
    frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)[:, :, ::-1] for f in video.frames()]
    if not frames:
        raise TvauError(f"video {video.video_id!r} has no readable frames", path=video.video_path)
    n = len(frames)
    labels = np.asarray(video.frame_labels(), dtype=np.uint8)
    if len(labels) != n:
        # Labels follow the annotations; decode counts can differ by a frame on some encodes: align to frames.
        labels = np.resize(np.concatenate([labels, np.zeros(max(0, n - len(labels)), np.uint8)])[:n], n)
    masks = np.zeros((n, h, w), dtype=bool)
    objects = np.zeros((n, h, w), dtype=bool) if with_masks else None
    if with_masks:
        abnormal = {o.object_id: o.abnormal_intervals for o in video.objects() if o.is_abnormal}
        for t in range(n):
            per_object = video.object_masks(t)
            if not per_object:
                continue
            full = np.zeros((video.height, video.width), dtype=bool)
            bad = np.zeros_like(full)
            for oid, m in per_object.items():
                full |= m
                if any(s <= t <= e for s, e in abnormal.get(oid, ())):
                    bad |= m
            objects[t] = _shrink(full, w, h)
            if bad.any():
                masks[t] = _shrink(bad, w, h)
    return VideoArrays(
        video.video_id,
        np.ascontiguousarray(np.stack(frames)),
        masks,
        labels,
        video.width,
        video.height,
        objects,
    )


def _shrink(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def load_split(
    source, split: str, max_side: int = 160, *, with_masks: bool = True, limit: int | None = None
) -> list[VideoArrays]:
    """Every video of one split of a source, decoded (sorted by video id)."""
    videos = sorted(source.videos(split), key=lambda v: v.video_id)[:limit]
    if not videos:
        raise TvauError(f"the {split!r} split of the source is empty", path=getattr(source, "root", None))
    return [
        load_video(v, max_side, with_masks=with_masks)
        for v in progress(videos, desc=f"load {split}", unit="video")
    ]


def clip_indices(start: int, length: int, pad: int, num_frames: int) -> np.ndarray:
    """Frame indices of a clip ``start..start+length-1`` with ``pad`` context frames each side, clamped."""
    return np.clip(np.arange(start - pad, start + length + pad), 0, num_frames - 1)


class ClipSampler:
    """Random training clips of ``length`` frames (+ ``pad`` context frames each side).

    A share ``abnormal_share`` of clips centres on abnormal pixels; of the rest, ``hard_share`` centres on
    normal objects (the negatives that matter: walkers look like runners), the others fall anywhere.
    """

    def __init__(
        self,
        videos: Sequence[VideoArrays],
        length: int,
        pad: int,
        *,
        seed: int = 0,
        abnormal_share: float = 0.5,
        hard_share: float = 0.6,
        crop: tuple[int, int] | None = None,
        colour_jitter: bool = False,
    ) -> None:
        self.videos = list(videos)
        self.crop = crop
        self.colour_jitter = colour_jitter
        self.length, self.pad = length, pad
        self.rng = np.random.default_rng(seed)
        self.abnormal_share, self.hard_share = abnormal_share, hard_share
        self.abnormal = [(i, int(t)) for i, v in enumerate(self.videos) for t in _frames_with(v.masks)]
        self.normal = [
            (i, int(t))
            for i, v in enumerate(self.videos)
            if v.objects is not None
            for t in _frames_with(v.objects & ~v.masks)
        ]

    def _pick(self) -> tuple[int, int, np.ndarray | None]:
        """(video, centre frame, focus mask or None)."""
        r = self.rng.random()
        if self.abnormal and r < self.abnormal_share:
            vi, t = self.abnormal[self.rng.integers(len(self.abnormal))]
            return vi, t, self.videos[vi].masks[t]
        if self.normal and r < self.abnormal_share + (1 - self.abnormal_share) * self.hard_share:
            vi, t = self.normal[self.rng.integers(len(self.normal))]
            v = self.videos[vi]
            return vi, t, v.objects[t] & ~v.masks[t]
        vi = int(self.rng.integers(len(self.videos)))
        return vi, int(self.rng.integers(self.videos[vi].frames.shape[0])), None

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frames (B, L+2p, h, w, 3) uint8, masks (B, L, h, w) bool, origins (B, 4) float (y0, x0, H, W)).

        Every video must have the working size of the first; clips are cropped to ``crop`` when set, around a
        random pixel of the focus mask when there is one. No flips: a mirrored scene reverses each lane's
        direction of flow, and walking against the flow is one of the anomalies.
        """
        frames, masks, origins = [], [], []
        shape = self.videos[0].frames.shape[1:3]
        for _ in range(batch):
            vi, t, focus = self._pick()
            v = self.videos[vi]
            n = v.frames.shape[0]
            start = int(np.clip(t - int(self.rng.integers(self.length)), 0, max(0, n - self.length)))
            idx = clip_indices(start, self.length, self.pad, n)
            f, m = v.frames[idx], v.masks[idx[self.pad : len(idx) - self.pad]]
            if f.shape[1:3] != shape:
                raise ValueError(f"video {v.video_id} is {f.shape[1:3]}, not the working size {shape}")
            y0 = x0 = 0
            if self.crop is not None:
                ch, cw = min(self.crop[0], shape[0]), min(self.crop[1], shape[1])
                ys, xs = np.nonzero(focus) if focus is not None else ((), ())
                if len(ys):
                    k = int(self.rng.integers(len(ys)))
                    y0 = int(ys[k]) - int(self.rng.integers(ch // 4, 3 * ch // 4 + 1))
                    x0 = int(xs[k]) - int(self.rng.integers(cw // 4, 3 * cw // 4 + 1))
                else:
                    y0 = int(self.rng.integers(0, shape[0] - ch + 1))
                    x0 = int(self.rng.integers(0, shape[1] - cw + 1))
                y0, x0 = int(np.clip(y0, 0, shape[0] - ch)), int(np.clip(x0, 0, shape[1] - cw))
                f, m = f[:, y0 : y0 + ch, x0 : x0 + cw], m[:, y0 : y0 + ch, x0 : x0 + cw]
            if self.colour_jitter:
                f = jitter_colours(f, self.rng)
            frames.append(f)
            masks.append(m)
            origins.append((y0, x0, shape[0], shape[1]))
        return (
            np.ascontiguousarray(np.stack(frames)),
            np.ascontiguousarray(np.stack(masks)),
            np.asarray(origins, dtype=np.float32),
        )


def jitter_colours(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random colour change for a whole clip (so frame differences stay consistent): per-channel gains and
    offset, and half the time a channel permutation. The anomalies are behaviours, not colours: the few
    training examples of each kind must not teach the decoder that a red car is abnormal and a blue one not."""
    x = frames.astype(np.float32)
    if rng.random() < 0.5:
        x = x[..., rng.permutation(3)]
    x = x * rng.uniform(0.8, 1.2, size=3) + rng.uniform(-20, 20)
    return np.clip(x, 0, 255).astype(np.uint8)


def _frames_with(masks: np.ndarray) -> np.ndarray:
    return np.flatnonzero(masks.reshape(len(masks), -1).any(1))


def to_tensor(frames: np.ndarray):
    """uint8 (..., h, w, 3) → float (..., 3, h, w) in [0, 1]."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)
    return t.movedim(-1, -3)
