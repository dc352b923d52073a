"""ShanghaiTech Campus layout (Luo et al. 2017 / Liu et al. 2018): reader, layout report, writers, ``SPEC``.

Layout (see ``FORMATS.md``)::

    training/videos/{SS}_{VVV}.avi              split "train", normal events only
    testing/frames/{SS}_{VVVV}/{iii}.jpg        split "test", 0-based frames
    testing/test_frame_mask/{SS}_{VVVV}.npy     (T,) 1 = abnormal
    testing/test_pixel_mask/{SS}_{VVVV}.npy     (T, H, W), or (H, W, T) in some copies; binarised with > 0

Mask values that ``> 0`` would misread (NaN, infinities, negatives, fractions such as 0.5) are refused with a
:class:`TvauError` naming the file and the frame, rather than read as normal.

The dataset gives no fps (25 is used, as commonly assumed) and no object identities. Abnormal *targets* are
derived from the pixel masks by this rule (``link_targets``), frame by frame:

1. the binarised mask is split into 8-connected components; the *active* targets are those seen in the last
   ``MAX_GAP + 1`` = 3 frames (so a target survives up to 2 frames without mask);
2. overlap, one to one: component-target pairs with mask IoU >= ``MIN_IOU`` = 0.1 against the target's last
   mask are taken best IoU first (ties: the target whose own last centroid is nearest);
3. nearness, one to one, for components and targets still unpaired and not overlapping: the component's
   centroid lies within half the diagonal of the target's last box (fast or thin objects);
4. fragments: a component still unpaired with at least half its pixels inside an active target's last box
   (grown by a tenth of its width) joins that target (a body split by an occluder); a target's mask in a
   frame is the union of its components;
5. merges: an active target left without a component, whose last mask is covered >= ``MERGE_COVER`` = 0.3 by
   a component another target took (two objects touching), shares that component: both keep their ids and get
   the merged mask; its own centroid is kept, so step 2 sends the parts back to the right targets when they
   separate;
6. any other component of at least ``MIN_AREA`` = 16 pixels starts a new target; smaller specks that join no
   target are ignored (they still count in the frame labels, which come from the frame mask).

Targets are numbered 1..K per video in the order they start (frame, then OpenCV's raster label order); each is
abnormal over the frames it is visible and has category ``"unknown"``. Masks alone cannot tell apart two objects
that overlap when they first appear (the part that separates later stays a fragment of the one target while
it lies within that target's box), nor two objects that swap places while merged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from .._io import atomic_write_bytes
from ..errors import TvauError
from ..progress import progress
from . import video as vio
from .base import Box, Interval, LayoutReport, SourceObject, SourceSpec, TrackRow, check_split
from .intervals import intervals_from_frames, intervals_from_labels
from .masks import connected_components, mask_box
from .report import SourceReport, frame_count, zero_counts
from .scan import box_table, reference_track_rows, table_boxes

FPS = 25.0
MAX_GAP = 2
MIN_IOU = 0.1
MERGE_COVER = 0.3
MIN_AREA = 16
_FRAME_RE = re.compile(r"^(\d+)\.(jpg|jpeg|png)$", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- linking


@dataclass
class _Target:
    target_id: int
    last_frame: int
    last_mask: np.ndarray  # its mask in the last frame it was seen (the shared blob while merged)
    own_centroid: tuple[float, float]  # centroid of its last mask of its own (before any merge)
    frames: dict[int, list[int]] = field(default_factory=dict)  # frame -> component indices


@dataclass
class _Comp:
    mask: np.ndarray
    area: int
    centroid: tuple[float, float]
    box: Box


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _half_diagonal(mask: np.ndarray) -> float:
    x0, y0, x1, y1 = mask_box(mask)
    return math.hypot(x1 - x0 + 1, y1 - y0 + 1) / 2


def _inside_box(comp: _Comp, box: Box, margin: int) -> float:
    """Fraction of the component's pixels inside ``box`` grown by ``margin`` pixels."""
    x0, y0, x1, y1 = box
    sub = comp.mask[max(0, y0 - margin) : y1 + margin + 1, max(0, x0 - margin) : x1 + margin + 1]
    return np.count_nonzero(sub) / comp.area


def link_targets(masks: Iterable[np.ndarray]) -> list[dict[int, list[int]]]:
    """Link per-frame 8-connected components over time (the rule of the module docstring).

    Returns, per target in id order (1..K), ``{frame: [component index, ...]}`` where the index is the
    position in :func:`connected_components` of that frame's mask.
    """
    targets: list[_Target] = []
    for frame, mask in enumerate(masks):
        comps = []
        for m in connected_components(mask, 8):
            comps.append(_Comp(m, int(np.count_nonzero(m)), _centroid(m), mask_box(m)))
        active = [t for t in targets if frame - t.last_frame <= MAX_GAP + 1]
        owner: dict[int, _Target] = {}  # component -> the target it continues
        # 1. one-to-one by overlap: best IoU first, ties to the target whose own centroid is nearest
        pairs = []
        for ci, c in enumerate(comps):
            for t in active:
                inter = np.count_nonzero(c.mask & t.last_mask)
                if inter:
                    iou = inter / np.count_nonzero(c.mask | t.last_mask)
                    if iou >= MIN_IOU:
                        pairs.append((-iou, _dist(c.centroid, t.own_centroid), ci, t.target_id))
        matched: set[int] = set()
        for _, _, ci, tid in sorted(pairs):
            if ci not in owner and tid not in matched:
                owner[ci] = targets[tid - 1]
                matched.add(tid)
        # 2. one-to-one by nearness (fast, thin objects): centroid within half the target's last box diagonal
        pairs = []
        for ci, c in enumerate(comps):
            if ci in owner:
                continue
            for t in active:
                if t.target_id not in matched and not np.any(c.mask & t.last_mask):
                    d = _dist(c.centroid, _centroid(t.last_mask))
                    if d <= _half_diagonal(t.last_mask):
                        pairs.append((d, ci, t.target_id))
        for _, ci, tid in sorted(pairs):
            if ci not in owner and tid not in matched:
                owner[ci] = targets[tid - 1]
                matched.add(tid)
        # 3. fragments: a leftover component mostly inside a matched target's last box joins it
        for ci, c in enumerate(comps):
            if ci in owner:
                continue
            best = None
            for t in active:
                if t.target_id in matched or t not in owner.values():
                    box = mask_box(t.last_mask)
                    frac = _inside_box(c, box, max(2, (box[2] - box[0]) // 10))
                    if frac >= 0.5 and (best is None or frac > best[0]):
                        best = (frac, t)
            if best is not None:
                owner[ci] = best[1]
                matched.add(best[1].target_id)
        # 4. merges: an unmatched target mostly covered by a component another target took shares it
        shared: dict[int, list[int]] = {}
        for t in active:
            if t.target_id in matched:
                continue
            area = np.count_nonzero(t.last_mask)
            cover = [(np.count_nonzero(comps[ci].mask & t.last_mask) / area, ci) for ci in owner]
            if cover and max(cover)[0] >= MERGE_COVER:
                shared[t.target_id] = [max(cover)[1]]
        # 5. everything left starts a new target, except specks (annotation noise, occlusion slivers)
        for ci, c in enumerate(comps):
            if ci not in owner and c.area >= MIN_AREA:
                t = _Target(len(targets) + 1, frame, c.mask, c.centroid)
                targets.append(t)
                owner[ci] = t
        joined: dict[int, list[int]] = {}
        for ci in sorted(owner):
            joined.setdefault(owner[ci].target_id, []).append(ci)
        for tid, idx in joined.items():
            t = targets[tid - 1]
            union = comps[idx[0]].mask.copy()
            for i in idx[1:]:
                union |= comps[i].mask
            t.frames[frame] = idx
            t.last_frame = frame
            t.last_mask = union
            t.own_centroid = _centroid(union)
        for tid, idx in shared.items():
            t = targets[tid - 1]
            t.frames[frame] = idx
            t.last_frame = frame
            t.last_mask = comps[idx[0]].mask  # own centroid kept: it separates the targets when they split
    return [t.frames for t in targets]


# ---------------------------------------------------------------------------------------------- reader


class _ShanghaiTechVideo:
    """What test and training videos share: identity, scene and where the video lies under the root."""

    source = "shanghaitech"
    path_template: str  # video_path from the video id

    def __init__(self, root: Path, video_id: str) -> None:
        self.root = root
        self.video_id = video_id
        self.scene = video_id.split("_")[0]
        self.video_path = self.path_template.format(video_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.video_id!r})"


class ShanghaiTechTestVideo(_ShanghaiTechVideo):
    """A test video: a folder of frames with frame labels and pixel masks."""

    split = "test"
    path_template = "testing/frames/{}"

    def __init__(self, root: Path, video_id: str) -> None:
        super().__init__(root, video_id)
        self.frame_mask_path = root / "testing" / "test_frame_mask" / f"{video_id}.npy"
        self.pixel_mask_path = root / "testing" / "test_pixel_mask" / f"{video_id}.npy"
        self.mask_layout: str | None = None  # "THW" or "HWT" once the pixel masks were opened

    @cached_property
    def frame_paths(self) -> list[Path]:
        folder = self.root / self.video_path
        found = []
        for p in folder.iterdir() if folder.is_dir() else ():
            m = _FRAME_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        found.sort()
        if not found:
            raise TvauError("no frame images found", path=folder, fix="extract the test frames as {iii}.jpg")
        if [i for i, _ in found] != list(range(len(found))):
            raise TvauError(
                "frame numbers are not 0..T-1 without gaps",
                path=folder,
                fix="re-extract the frames (names 000.jpg, 001.jpg, ...)",
            )
        return [p for _, p in found]

    @property
    def num_frames(self) -> int:
        return len(self.frame_paths)

    @property
    def fps(self) -> float:
        return FPS

    @cached_property
    def _size(self) -> tuple[int, int]:
        img = next(vio.iter_image_frames(self.frame_paths, [0]))
        return img.shape[1], img.shape[0]

    @property
    def width(self) -> int:
        return self._size[0]

    @property
    def height(self) -> int:
        return self._size[1]

    def frames(self, indices: Sequence[int] | None = None) -> Iterator[np.ndarray]:
        return vio.iter_image_frames(self.frame_paths, indices)

    # --- labels -----------------------------------------------------------------------------------
    @cached_property
    def _labels(self) -> np.ndarray:
        arr = _load_npy(self.frame_mask_path)
        arr = np.asarray(arr).reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
        if arr.ndim != 1 or arr.shape[0] != self.num_frames:
            raise TvauError(
                f"frame mask has shape {arr.shape} but the video has {self.num_frames} frames",
                path=self.frame_mask_path,
                fix="frame masks and frames must come from the same release",
            )
        check_mask_values(arr, self.frame_mask_path, "frame mask")
        return (arr > 0).astype(np.uint8)

    def frame_labels(self) -> np.ndarray:
        return self._labels.copy()

    def abnormal_intervals(self) -> list[Interval]:
        return intervals_from_labels(self._labels)

    # --- pixel masks ------------------------------------------------------------------------------
    @cached_property
    def _pixel(self) -> np.ndarray:
        """The pixel masks, memory-mapped, as a (T, H, W) view (transposed when stored (H, W, T))."""
        arr = _load_npy(self.pixel_mask_path, mmap=True)
        layout = detect_mask_layout(arr.shape, self.num_frames, (self.height, self.width))
        if layout is None:
            raise TvauError(
                f"pixel mask has shape {arr.shape}; expected ({self.num_frames}, {self.height}, {self.width}) "
                f"or ({self.height}, {self.width}, {self.num_frames})",
                path=self.pixel_mask_path,
                fix="pixel masks and frames must come from the same release",
            )
        self.mask_layout = layout
        return arr if layout == "THW" else arr.transpose(2, 0, 1)

    def pixel_mask(self, frame: int) -> np.ndarray:
        """``bool`` (H, W) abnormal-pixel mask of one frame."""
        if not 0 <= frame < self.num_frames:
            raise TvauError(f"frame {frame} out of range 0..{self.num_frames - 1}", path=self.pixel_mask_path)
        mask = np.asarray(self._pixel[frame])
        check_mask_values(mask, self.pixel_mask_path, f"pixel mask of frame {frame}")
        return mask > 0

    @cached_property
    def _links(self) -> list[dict[int, list[int]]]:
        return link_targets(self.pixel_mask(f) for f in range(self.num_frames))

    @cached_property
    def _boxes(self) -> dict[int, np.ndarray]:
        """``{target_id: int32 rows (frame, x0, y0, x1, y1)}`` over the frames any target is in."""
        frames = sorted({f for t in self._links for f in t})
        return box_table(frames, lambda f: {tid: mask_box(m) for tid, m in self.object_masks(f).items()})

    def objects(self) -> list[SourceObject]:
        return [
            SourceObject(
                object_id=tid,
                category="unknown",
                abnormal_intervals=tuple(intervals_from_frames(frames)),
                first_frame=min(frames),
                last_frame=max(frames),
            )
            for tid, frames in enumerate(self._links, start=1)
        ]

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        wanted = {tid: t[frame] for tid, t in enumerate(self._links, start=1) if frame in t}
        if not wanted:
            return {}
        comps = connected_components(self.pixel_mask(frame), 8)
        out = {}
        for tid, idx in wanted.items():
            m = comps[idx[0]].copy()
            for i in idx[1:]:
                m |= comps[i]
            out[tid] = m
        return out

    def object_boxes(self, object_id: int) -> dict[int, Box]:
        return table_boxes(self._boxes, object_id)

    def reference_tracks(self) -> list[TrackRow]:
        """One track per target (ids 0..K-1 in target order), boxes as the UBnormal reference script draws
        them: the largest contour's ``(x, y, x + w, y + h)``."""
        tracks = [(tid, sorted(frames)) for tid, frames in enumerate(self._links, start=1)]
        rows, skipped = reference_track_rows(tracks, lambda frame, _ids: self.object_masks(frame))
        # A linked target has a non-empty mask in every frame it is in, so nothing can be skipped.
        assert not skipped, skipped
        return rows


class ShanghaiTechTrainVideo(_ShanghaiTechVideo, vio.VideoFileMixin):
    """A training video (``training/videos/*.avi``): normal events only, no objects."""

    split = "train"
    path_template = "training/videos/{}.avi"

    @property
    def fps(self) -> float:
        return self._probe[1] or FPS  # the release gives no fps; a container without one gets the usual 25

    def frame_labels(self) -> np.ndarray:
        return np.zeros(self.num_frames, dtype=np.uint8)

    def abnormal_intervals(self) -> list[Interval]:
        return []

    def objects(self) -> list[SourceObject]:
        return []

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        return {}

    def object_boxes(self, object_id: int) -> dict[int, Box]:
        return {}

    def reference_tracks(self) -> list[TrackRow]:
        return []


class ShanghaiTechSource:
    """A ShanghaiTech Campus root (real or synthetic): split "train" (training videos) and "test"."""

    layout = "shanghaitech"

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise TvauError(
                "dataset root not found",
                path=self._root,
                fix="pass the folder holding training/ and testing/",
            )
        self.root = str(self._root)
        self._cache: dict[str, ShanghaiTechTestVideo | ShanghaiTechTrainVideo] = {}

    def __repr__(self) -> str:
        return f"ShanghaiTechSource({self.root!r})"

    def test_ids(self) -> list[str]:
        folder = self._root / "testing" / "frames"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def train_ids(self) -> list[str]:
        folder = self._root / "training" / "videos"
        return sorted(p.stem for p in folder.glob("*.avi")) if folder.is_dir() else []

    def splits(self) -> list[str]:
        return [s for s, ids in (("train", self.train_ids()), ("test", self.test_ids())) if ids]

    def videos(self, split: str) -> list[ShanghaiTechTestVideo | ShanghaiTechTrainVideo]:
        check_split(split)
        if split == "validation":
            return []
        if split == "test":
            return [self._get(v, "test") for v in self.test_ids()]
        return [self._get(v, "train") for v in self.train_ids()]

    def _get(self, video_id: str, split: str):
        if video_id not in self._cache:
            cls = ShanghaiTechTestVideo if split == "test" else ShanghaiTechTrainVideo
            self._cache[video_id] = cls(self._root, video_id)
        return self._cache[video_id]

    def video(self, video_id: str):
        if (self._root / "testing" / "frames" / video_id).is_dir():
            return self._get(video_id, "test")
        if (self._root / "training" / "videos" / f"{video_id}.avi").is_file():
            return self._get(video_id, "train")
        raise TvauError(
            f"video {video_id!r} not found under testing/frames or training/videos", path=self.root
        )

    def report(self, *, deep: bool = False) -> LayoutReport:
        """Per-split counts and every layout problem; ``deep`` also decodes every frame image."""
        return report_shanghaitech(self, deep=deep)


# ---------------------------------------------------------------------------------------------- report


def report_shanghaitech(src: ShanghaiTechSource, *, deep: bool = False) -> SourceReport:
    """Counts per split (videos, frames, abnormal frames, anomalies = linked targets, regions = target-frames)
    and every layout problem."""
    root = Path(src.root)
    rep = SourceReport(layout="shanghaitech", root=str(root))
    for rel in ("testing/frames", "testing/test_frame_mask", "testing/test_pixel_mask", "training/videos"):
        if not (root / rel).is_dir():
            rep.problems.append(f"{root / rel}: folder missing (fix: extract the full ShanghaiTech release)")
    train_ids = src.train_ids()
    if train_ids:
        counts = zero_counts()
        for vid in progress(train_ids, desc="checking train", unit="video"):
            n = frame_count(src.video(vid), rep.problems, deep=deep)
            if n is None:
                continue
            counts["videos"] += 1
            counts["frames"] += n
        rep.counts["train"] = counts
    test_ids = src.test_ids()
    _check_labels_without_frames(root, set(test_ids), rep.problems)
    if test_ids:
        counts = zero_counts()
        counts["pixel_masks_hwt"] = 0
        counts["label_mask_disagreements"] = 0
        for vid in progress(test_ids, desc="checking test", unit="video"):
            _check_shanghaitech_test(src.video(vid), counts, rep.problems, deep=deep)
        if counts["pixel_masks_hwt"]:
            rep.notes.append(
                f"{counts['pixel_masks_hwt']} pixel mask file(s) stored as (H, W, T); read transposed"
            )
        if counts["label_mask_disagreements"]:
            rep.notes.append(
                f"{counts['label_mask_disagreements']} test frame(s) where the frame label and the pixel mask "
                "disagree (labelled abnormal with an empty mask, or the reverse); frame labels are used as given"
            )
        rep.counts["test"] = counts
    return rep


def _check_labels_without_frames(root: Path, test_ids: set[str], problems: list[str]) -> None:
    """Test label files whose video has no frames folder: the reader lists test videos by their frames, so
    such a video would silently be left out of the split."""
    for rel in ("testing/test_frame_mask", "testing/test_pixel_mask"):
        for path in sorted((root / rel).glob("*.npy")):
            if path.stem not in test_ids:
                problems.append(
                    f"{path}: labels of test video {path.stem}, which has no frames folder "
                    f"{root / 'testing' / 'frames' / path.stem}, so it is left out of the test split "
                    "(fix: extract its frames there, or remove the stray label file)"
                )


def _image_problem(path: Path) -> str | None:
    """Why a frame image is broken (OpenCV cannot decode it, or a JPEG/PNG is cut short), or ``None``.

    OpenCV decodes a truncated JPEG without an error (the missing rows come out grey), so the end marker is
    checked: a JPEG's end-of-image marker must follow its last start-of-scan (byte stuffing keeps both out of
    the compressed data), a PNG must end with its IEND chunk.
    """
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg") and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
        return f"{path}: JPEG is truncated (no end-of-image marker after its last scan) (fix: re-extract the frames)"
    if suffix == ".png" and (data.rfind(b"IEND") < 0 or len(data) - data.rfind(b"IEND") < 8):
        return f"{path}: PNG is truncated (no IEND chunk at the end) (fix: re-extract the frames)"
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        return f"{path}: OpenCV cannot decode this image in full (fix: re-extract the frames)"
    return None


def _check_shanghaitech_test(
    video: ShanghaiTechTestVideo, counts: dict[str, int], problems: list[str], *, deep: bool
) -> None:
    try:
        n = video.num_frames
        labels = video.frame_labels()
    except TvauError as exc:
        problems.append(str(exc))
        return
    if deep:
        problems.extend(p for p in map(_image_problem, video.frame_paths) if p is not None)
    counts["videos"] += 1
    counts["frames"] += n
    counts["abnormal_frames"] += int(labels.sum())
    try:
        objects = video.objects()
        if video.mask_layout == "HWT":
            counts["pixel_masks_hwt"] += 1
        masked = {f for o in objects for s, e in o.abnormal_intervals for f in range(s, e + 1)}
    except TvauError as exc:
        problems.append(str(exc))
        return
    counts["anomalies"] += len(objects)
    counts["regions"] += sum(e - s + 1 for o in objects for s, e in o.abnormal_intervals)
    counts["label_mask_disagreements"] += sum(bool(labels[f]) != (f in masked) for f in range(n))


# ---------------------------------------------------------------------------------------------- writers


def write_train_video(root: str | Path, name: str, frames: Iterable[np.ndarray], *, fps: float = FPS) -> None:
    """Write ``training/videos/{name}.avi`` (MJPG)."""
    vio.write_video(Path(root) / "training" / "videos" / f"{name}.avi", frames, fps)


def write_test_video(
    root: str | Path,
    name: str,
    frames: Iterable[np.ndarray],
    pixel_masks: np.ndarray,
    *,
    layout: str = "THW",
    frame_labels: np.ndarray | None = None,
) -> None:
    """Write a test video: ``testing/frames/{name}/{iii}.jpg``, its frame mask and its pixel masks.

    ``pixel_masks`` is (T, H, W) uint8; it is stored (T, H, W) or, with ``layout="HWT"``, (H, W, T). The frame
    mask is ``frame_labels`` when given, else 1 where the pixel mask has any pixel.
    """
    if layout not in ("THW", "HWT"):
        raise TvauError(f"unknown pixel mask layout {layout!r}", fix="use 'THW' or 'HWT'")
    root = Path(root)
    pm = np.asarray(pixel_masks)
    if pm.ndim != 3:
        raise TvauError(f"pixel masks must be (T, H, W), got shape {pm.shape}")
    folder = root / "testing" / "frames" / name
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, frame in enumerate(frames):
        if frame.shape[:2] != pm.shape[1:]:
            raise TvauError(f"frame {i} is {frame.shape[:2]} but pixel masks are {pm.shape[1:]}", path=folder)
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise TvauError(f"OpenCV cannot encode frame {i}", path=folder)
        atomic_write_bytes(folder / f"{i:03d}.jpg", buf.tobytes(), durable=False)
        n += 1
    if n != pm.shape[0]:
        raise TvauError(f"{n} frames but {pm.shape[0]} pixel masks", path=folder)
    labels = (pm.reshape(n, -1) > 0).any(axis=1) if frame_labels is None else np.asarray(frame_labels) > 0
    if labels.shape != (n,):
        raise TvauError(f"frame_labels has shape {labels.shape}, expected ({n},)")
    stored = (
        pm.astype(np.uint8)
        if layout == "THW"
        else np.ascontiguousarray(pm.astype(np.uint8).transpose(1, 2, 0))
    )
    _save_npy(root / "testing" / "test_frame_mask" / f"{name}.npy", labels.astype(np.uint8))
    _save_npy(root / "testing" / "test_pixel_mask" / f"{name}.npy", stored)


# ---------------------------------------------------------------------------------------------- helpers


def _save_npy(path: Path, arr: np.ndarray) -> None:
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def _load_npy(path: Path, *, mmap: bool = False) -> np.ndarray:
    if not path.is_file():
        raise TvauError("file not found", path=path, fix="check the testing/ folder of the dataset root")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise TvauError(f"cannot read this .npy file: {exc}", path=path, fix="re-download the file") from None


def check_mask_values(arr: np.ndarray, path: Path, what: str) -> None:
    """Refuse mask values that binarising with ``> 0`` would misread: NaN, infinities, negatives, fractions.

    Integers and whole floats (0.0/1.0, 255) pass; the first bad value is named with its (flat) position.
    """
    if arr.dtype.kind not in "biuf":
        raise TvauError(
            f"{what} has dtype {arr.dtype}; expected integers 0/1",
            path=path,
            fix="store the mask as uint8 0/1",
        )
    if arr.dtype.kind in "bu":
        return
    values = np.asarray(arr)
    bad = values < 0
    if values.dtype.kind == "f":
        bad |= ~np.isfinite(values)
        bad |= np.isfinite(values) & (values != np.floor(values))
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        where = f"frame {i}" if values.ndim == 1 else f"flat index {i}"
        raise TvauError(
            f"{what} holds {values.reshape(-1)[i].item()!r} at {where} ({int(bad.sum())} such value(s)); "
            "expected 0 or 1, and NaN or a fraction cannot be read as either",
            path=path,
            fix="re-download the mask, or store it as uint8 0/1",
        )


def detect_mask_layout(shape: tuple[int, ...], num_frames: int, size: tuple[int, int]) -> str | None:
    """``"THW"`` or ``"HWT"`` by matching the frame count and the frame size; ``None`` when neither fits."""
    if len(shape) != 3:
        return None
    if shape[0] == num_frames and tuple(shape[1:]) == tuple(size):
        return "THW"
    if shape[2] == num_frames and tuple(shape[:2]) == tuple(size):
        return "HWT"
    return None


# ---------------------------------------------------------------------------------------------- registration


def is_shanghaitech_root(root: Path) -> bool:
    """A folder holding ``testing/`` or ``training/videos/``."""
    return (root / "testing").is_dir() or (root / "training" / "videos").is_dir()


SPEC = SourceSpec(
    name="shanghaitech",
    family="ST",
    title="ShanghaiTech",
    full_title="ShanghaiTech Campus",
    url="https://svip-lab.github.io/dataset/campus_dataset.html",
    licence="The ShanghaiTech Campus dataset is distributed by its authors for research use under their "
    "own terms; obtain it from them and follow those terms.",
    citation="""@inproceedings{liu2018future,
title = {Future Frame Prediction for Anomaly Detection -- A New Baseline},
author = {Liu, Wen and Luo, Weixin and Lian, Dongze and Gao, Shenghua},
booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
year = {2018}
}
@inproceedings{luo2017revisit,
title = {A Revisit of Sparse Coding Based Anomaly Detection in Stacked RNN Framework},
author = {Luo, Weixin and Liu, Wen and Gao, Shenghua},
booktitle = {Proceedings of the IEEE International Conference on Computer Vision (ICCV)},
year = {2017}
}""",
    video_path_note="`video_path` is relative to the ShanghaiTech root (`training/videos/{name}.avi` or "
    "`testing/frames/{name}/`).",
    limitation="ShanghaiTech masks carry no object identity: targets are mask components linked over time "
    "and may merge or split people in crowds; categories are often `unknown`.\n"
    "- ShanghaiTech's train split is normal-only, so its models are trained as in `annotation/shanghaitech.yaml`: "
    "the AHD one-shot (`train ahd --shots 1`: the normal train videos plus the protocol's exemplar video, a test "
    "video the protocol leaves out of the scored set); the RAE + LoRA is the UBnormal-trained one, fed this "
    "AHD's heatmaps.",
    split_note="",
    detect=is_shanghaitech_root,
    marker="training/, testing/",
    absent="no training/ or testing/",
    root_hint="holding training/ and testing/",
    open=ShanghaiTechSource,
)
