"""Decode a sample's fixed ``frame_indices`` from its source video and resize them to one cap for all models.

Videos are read sequentially (seeking is unreliable in mp4), so reading each sample on its own would decode a
video from its start once per sample. When the runner announces the frames it will need (:meth:`plan`), the
first request for a video decodes all of that video's planned frames in one pass and keeps them (capped,
read-only) for the following samples; a few videos stay cached, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import TvauError
from ..sources.video import iter_frames, iter_image_frames

DEFAULT_MAX_SIDE = 448
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def resize_to_cap(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the longer side is at most ``max_side`` (aspect kept, INTER_AREA); never upscale."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class FrameReader:
    """Reads clips of the dataset's videos from the source root (``--video-root``) as capped RGB frames."""

    def __init__(
        self,
        video_root: str | Path,
        videos: dict[str, dict[str, Any]],
        max_side: int = DEFAULT_MAX_SIDE,
        *,
        cached_videos: int = 4,
    ):
        self.root = Path(video_root)
        if not self.root.is_dir():
            raise TvauError(
                "video root is not a folder",
                path=self.root,
                fix="pass --video-root with the source dataset's root",
            )
        self.videos = videos
        self.max_side = max_side
        self.cached_videos = cached_videos
        self._planned: dict[str, set[int]] = {}
        self._cache: OrderedDict[str, dict[int, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self._video_locks: dict[str, threading.Lock] = {}

    def plan(self, clips: Iterable[tuple[str, Sequence[int]]]) -> None:
        """Announce ``(video_id, frame_indices)`` clips that will be read, so each video is decoded once."""
        for video_id, indices in clips:
            self._planned.setdefault(video_id, set()).update(int(i) for i in indices)

    def path_of(self, video_id: str) -> Path:
        """The source file or frames folder of ``video_id`` (checked to stay inside the root)."""
        record = self.videos.get(video_id)
        if record is None:
            raise TvauError(
                f"video {video_id!r} is not in the dataset's videos config", fix="use a complete export"
            )
        rel = Path(record["video_path"])
        if rel.is_absolute() or ".." in rel.parts:
            raise TvauError(f"video_path {record['video_path']!r} leaves the source root", field="video_path")
        return self.root / rel

    def read(self, video_id: str, indices: Sequence[int]) -> list[np.ndarray]:
        """RGB ``uint8`` frames at ``indices`` (in that order), resized to the cap; arrays are read-only."""
        with self._lock:
            vlock = self._video_locks.setdefault(video_id, threading.Lock())
        with vlock:
            with self._lock:
                cached = self._cache.get(video_id)
                if cached is not None:
                    self._cache.move_to_end(video_id)
            missing = [i for i in indices if cached is None or i not in cached]
            if missing:
                wanted = sorted(set(missing) | self._planned.get(video_id, set()))
                decoded = dict(zip(wanted, self._decode(video_id, wanted), strict=True))
                with self._lock:
                    cached = {**(self._cache.get(video_id) or {}), **decoded}
                    self._cache[video_id] = cached
                    self._cache.move_to_end(video_id)
                    while len(self._cache) > self.cached_videos:
                        self._cache.popitem(last=False)
            return [cached[i] for i in indices]

    def _decode(self, video_id: str, indices: list[int]) -> list[np.ndarray]:
        path = self.path_of(video_id)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise TvauError("frames folder holds no images", path=path, fix="check --video-root")
            frames = iter_image_frames(files, indices)
        elif path.is_file():
            frames = iter_frames(path, indices)
        else:
            raise TvauError(
                f"source video of {video_id!r} not found",
                path=path,
                fix="pass --video-root with the root of the source dataset this export was built from",
            )
        out = []
        for f in frames:
            img = resize_to_cap(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), self.max_side)
            img.setflags(write=False)  # shared between samples: adapters must not change pixels
            out.append(img)
        return out
