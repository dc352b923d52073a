"""Video files and image sequences through OpenCV: probe, read frames, write.

Every OpenCV failure surfaces as a :class:`TvauError` naming the file: OpenCV itself returns ``False`` or
empty arrays silently, which would otherwise turn into confusing errors far from their cause.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from ..errors import TvauError

# Codec per container: mp4v is what every OpenCV wheel can write; MJPG keeps .avi readable everywhere.
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def _open(path: str | Path) -> cv2.VideoCapture:
    path = Path(path)
    if not path.is_file():
        raise TvauError("video file not found", path=path, fix="check the dataset root and the file name")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise TvauError(
            "OpenCV cannot open this video (corrupt, truncated or unsupported codec)",
            path=path,
            fix="re-download or re-extract the file",
        )
    return cap


def probe(path: str | Path) -> tuple[int, float, int, int]:
    """``(num_frames, fps, width, height)`` as OpenCV reports them (the frame count of the reference scripts)."""
    cap = _open(path)
    try:
        n = round(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        cap.release()
    if n <= 0 or w <= 0 or h <= 0:
        raise TvauError(
            f"OpenCV reports {n} frames of {w}x{h}: the video is empty or unreadable",
            path=path,
            fix="re-download or re-extract the file",
        )
    return n, fps, w, h


class VideoFileMixin:
    """Metadata and frames of a reader's video held in one file at ``root / video_path``.

    Probed once (OpenCV's counts, as the reference scripts use them); a class may override ``fps`` (e.g. to
    give a default where the container reports none).
    """

    root: Path
    video_path: str

    @cached_property
    def _probe(self) -> tuple[int, float, int, int]:
        return probe(self.root / self.video_path)

    @property
    def num_frames(self) -> int:
        return self._probe[0]

    @property
    def fps(self) -> float:
        return self._probe[1]

    @property
    def width(self) -> int:
        return self._probe[2]

    @property
    def height(self) -> int:
        return self._probe[3]

    def frames(self, indices: Sequence[int] | None = None) -> Iterator[np.ndarray]:
        return iter_frames(self.root / self.video_path, indices)


def count_decodable(path: str | Path) -> int:
    """Number of frames OpenCV can actually decode (slow: reads the whole file); finds truncated videos."""
    cap = _open(path)
    n = 0
    try:
        while cap.grab():
            n += 1
    finally:
        cap.release()
    return n


def iter_frames(path: str | Path, indices: Sequence[int] | None = None) -> Iterator[np.ndarray]:
    """BGR frames of a video file, all of them or ``indices`` in the given order.

    Reads sequentially (seeking is unreliable for mp4v); unordered ``indices`` hold only the requested frames.
    Raises :class:`TvauError` when a requested frame cannot be decoded.
    """
    if indices is not None:
        yield from _select(lambda: iter_frames(path), list(indices), path)
        return
    cap = _open(path)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def iter_image_frames(
    paths: Sequence[str | Path], indices: Sequence[int] | None = None
) -> Iterator[np.ndarray]:
    """BGR frames from one image file per frame (e.g. ShanghaiTech ``testing/frames/{video}/{iii}.jpg``)."""
    chosen = range(len(paths)) if indices is None else indices
    for i in chosen:
        if not 0 <= i < len(paths):
            raise TvauError(
                f"frame {i} requested but there are {len(paths)} images", path=Path(paths[0]).parent
            )
        img = cv2.imread(str(paths[i]), cv2.IMREAD_COLOR)
        if img is None:
            raise TvauError("OpenCV cannot read this image", path=paths[i], fix="re-extract the frames")
        yield img


def _select(reopen, indices: list[int], path) -> Iterator[np.ndarray]:
    """Yield the frames at ``indices`` from a sequential frame stream, in the order of ``indices``."""
    if not indices:
        return
    if min(indices) < 0:
        raise TvauError(f"negative frame index {min(indices)}", path=path)
    ordered = all(a <= b for a, b in itertools.pairwise(indices))
    wanted = set(indices)
    held: dict[int, np.ndarray] = {}
    pos = 0
    last = max(indices)
    stream = reopen()
    for i, frame in enumerate(stream):
        if i in wanted:
            if ordered:
                while pos < len(indices) and indices[pos] == i:
                    yield frame
                    pos += 1
            else:
                held[i] = frame
        if i >= last:
            break
    if hasattr(stream, "close"):
        stream.close()
    if ordered:
        if pos < len(indices):
            raise TvauError(f"frame {indices[pos]} requested but the video ends before it", path=path)
        return
    for i in indices:
        if i not in held:
            raise TvauError(f"frame {i} requested but the video ends before it", path=path)
        yield held[i]


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write BGR ``uint8`` frames (H, W, 3) or grey (H, W) to ``path`` (.mp4: mp4v, .avi: MJPG); returns the count.

    Checks that OpenCV reads back exactly the number of frames written.
    """
    path = Path(path)
    fourcc = _FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise TvauError(f"cannot write video container {path.suffix!r}", path=path, fix="use .mp4 or .avi")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    size = None
    n = 0
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise TvauError(
                    f"frame {n} has shape {frame.shape} and dtype {frame.dtype}; expected (H, W, 3) uint8",
                    path=path,
                )
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), float(fps), size)
                if not writer.isOpened():
                    raise TvauError(f"OpenCV cannot open a {fourcc} writer", path=path)
            elif (frame.shape[1], frame.shape[0]) != size:
                raise TvauError(
                    f"frame {n} is {frame.shape[1]}x{frame.shape[0]}, earlier frames {size[0]}x{size[1]}"
                )
            writer.write(np.ascontiguousarray(frame))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if n == 0:
        raise TvauError("no frames to write", path=path)
    got = probe(path)[0]
    if got != n:
        raise TvauError(f"wrote {n} frames but OpenCV reads back {got}", path=path)
    return n
