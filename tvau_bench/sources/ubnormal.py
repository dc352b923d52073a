"""UBnormal layout (Acsintoae et al., CVPR 2022): reader, layout report, writers and registry entry (``SPEC``).

Layout (see ``FORMATS.md``)::

    Scene{S}/{video}.mp4
    Scene{S}/{video}_annotations/{video}_{iiii}_gt.png   one uint8 object-id map per frame, 0 = background
    Scene{S}/{video}_annotations/{video}_tracks.txt      abnormal videos: rows ``object_id,start,end``
    Scene{S}/{video}_annotations/{video}_new_tracks.txt  optional, preferred over ``_tracks.txt``
    scripts/{abnormal,normal}_{training,validation,test}_video_names.txt
    scripts/object_names_per_video.pkl                   {video: {object_id: class}}; unlisted ids are persons

Split lists and the class pickle are looked up in ROOT, then ROOT/scripts, then the official copies shipped in
``ubnormal_meta/``. Per-video scans of the id maps (object frame ranges and boxes) are cached per video; the
cache holds only boxes, never maps, so memory stays small.
"""

from __future__ import annotations

import collections
import pickle
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from .._io import atomic_write_bytes, atomic_write_text
from ..errors import TvauError, TvauWarning
from ..progress import progress
from . import video as vio
from .base import SPLITS, Box, Interval, LayoutReport, SourceObject, SourceSpec, TrackRow, check_split
from .intervals import labels_from_intervals, merge_intervals
from .masks import mask_box
from .pickle_safe import load_restricted
from .report import SourceReport, frame_count, zero_counts
from .scan import box_table, reference_track_rows, table_boxes

SHIPPED_META = Path(__file__).with_name("ubnormal_meta")
SPLIT_FILE_NAMES = {"train": "training", "validation": "validation", "test": "test"}
LIST_KEYS = tuple(f"{kind}_{s}" for s in SPLIT_FILE_NAMES.values() for kind in ("abnormal", "normal"))
CLASS_PICKLE = "object_names_per_video.pkl"
# Most names are {kind}_scene_{S}_scenario_{K}[_{suffix}], but Scene1's normal videos are named like
# normal_scene_1_scenario1_9: only the kind and the scene number are relied on, as the reference scripts do.
_NAME_RE = re.compile(r"^(abnormal|normal)_scene_(\d+)_[A-Za-z0-9_]+$")


# ---------------------------------------------------------------------------------------------- reader


class UBnormalVideo(vio.VideoFileMixin):
    """One UBnormal video: metadata from OpenCV, labels from its tracks file, objects from its id maps."""

    source = "ubnormal"

    def __init__(self, root: Path, video_id: str, split: str, classes: Callable[[], dict[int, str]]) -> None:
        self.root = root
        self.video_id = video_id
        self.split = split
        self.scene = scene_folder(video_id)
        self.video_path = f"{self.scene}/{video_id}.mp4"
        self.ann_dir = root / self.scene / f"{video_id}_annotations"
        self._classes = classes  # called lazily: a bad class pickle must not stop frame/label reading
        self.reference_skipped = 0  # frames the reference script would crash on (object absent); skipped
        self.track_problems: list[str] = []  # tracks rows past the video's end, filled when rows are read

    def __repr__(self) -> str:
        return f"UBnormalVideo({self.video_id!r}, split={self.split!r})"

    # metadata and frames (num_frames, fps, width, height, frames): VideoFileMixin, from the mp4

    # --- id maps ----------------------------------------------------------------------------------
    def map_path(self, frame: int) -> Path:
        return self.ann_dir / f"{self.video_id}_{frame:04d}_gt.png"

    def map_count(self) -> int:
        """Number of ``*_gt.png`` maps on disk (0 when the annotation folder is missing)."""
        if not self.ann_dir.is_dir():
            return 0
        return sum(1 for _ in self.ann_dir.glob(f"{glob_escape(self.video_id)}_*_gt.png"))

    def id_map(self, frame: int) -> np.ndarray:
        """The uint8 (H, W) object-id map of ``frame``; TvauError when missing, unreadable or mis-sized."""
        path = self.map_path(frame)
        if not path.is_file():
            raise TvauError(
                f"id map of frame {frame} is missing",
                path=path,
                fix="re-extract the video's _annotations folder",
            )
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise TvauError("OpenCV cannot read this id map", path=path, fix="re-extract the annotations")
        if img.ndim == 3:
            img = img[:, :, 0]  # a map saved as 3 equal channels: the id is in any of them
        if img.shape != (self.height, self.width):
            raise TvauError(
                f"id map is {img.shape[1]}x{img.shape[0]} but the video is {self.width}x{self.height}",
                path=path,
                fix="the maps and the video must come from the same release (do not resize either)",
            )
        return img.astype(np.uint8, copy=False)

    def id_maps(self, indices: Iterable[int] | None = None) -> Iterator[np.ndarray]:
        for i in range(self.num_frames) if indices is None else indices:
            yield self.id_map(i)

    # --- tracks -----------------------------------------------------------------------------------
    @cached_property
    def tracks_path(self) -> Path | None:
        """``_new_tracks.txt`` when present (the reference script prefers it), else ``_tracks.txt``, else None."""
        for suffix in ("_new_tracks.txt", "_tracks.txt"):
            p = self.ann_dir / f"{self.video_id}{suffix}"
            if p.is_file():
                return p
        return None

    @cached_property
    def track_rows(self) -> list[tuple[int, int, int]]:
        """The tracks file's ``(object_id, start, end)`` rows, clipped to the video (with a warning)."""
        if self.tracks_path is None:
            return []
        rows = read_tracks_file(self.tracks_path)
        kept, problems = clip_track_rows(rows, self.num_frames)
        for msg in problems:
            warnings.warn(f"{self.tracks_path}: {msg}", TvauWarning, stacklevel=2)
        self.track_problems = [f"{self.tracks_path}: {m}" for m in problems]
        return kept

    def abnormal_intervals(self) -> list[Interval]:
        return merge_intervals((s, e) for _, s, e in self.track_rows)

    def frame_labels(self) -> np.ndarray:
        return labels_from_intervals(self.abnormal_intervals(), self.num_frames)

    # --- objects ----------------------------------------------------------------------------------
    @cached_property
    def _boxes(self) -> dict[int, np.ndarray]:
        """One pass over all id maps: ``{object_id: int32 array of rows (frame, x0, y0, x1, y1)}``.

        This is the per-video cache (a full real video costs tens of kB).
        """
        # Missing maps are reported by report(); objects still come from the maps that exist.
        frames = [f for f in range(self.num_frames) if self.map_path(f).is_file()]
        return box_table(frames, lambda frame: map_boxes(self.id_map(frame)))

    def objects(self) -> list[SourceObject]:
        per_obj: dict[int, list[Interval]] = collections.defaultdict(list)
        for oid, s, e in self.track_rows:
            per_obj[oid].append((s, e))
        classes = self._classes()
        out = []
        for oid in sorted(set(self._boxes) | set(per_obj)):
            frames = self._boxes[oid][:, 0] if oid in self._boxes else np.zeros(0, np.int32)
            if frames.size == 0:
                warnings.warn(
                    f"{self.tracks_path}: object {oid} has abnormal rows but appears in no id map",
                    TvauWarning,
                    stacklevel=2,
                )
            out.append(
                SourceObject(
                    object_id=oid,
                    category=classes.get(oid, "person"),
                    abnormal_intervals=tuple(merge_intervals(per_obj.get(oid, []))),
                    first_frame=int(frames.min()) if frames.size else -1,
                    last_frame=int(frames.max()) if frames.size else -1,
                )
            )
        return out

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        m = self.id_map(frame)
        return {oid: m == oid for oid in present_ids(m)}

    def object_boxes(self, object_id: int) -> dict[int, Box]:
        return table_boxes(self._boxes, object_id)

    def reference_tracks(self) -> list[TrackRow]:
        """Tracks as ``create_tracks_for_tbdc_rbdc.py`` writes them; frames where the object is absent are
        skipped (the script would crash) and counted in ``reference_skipped`` with one warning."""
        rows = sorted(self.track_rows, key=lambda r: r[0])  # stable: equal ids keep file order

        def masks_at(frame: int, oids) -> dict[int, np.ndarray]:
            if not self.map_path(frame).is_file():
                return {}  # every object of the frame is skipped
            m = self.id_map(frame)
            return {oid: m == oid for oid in oids}

        out, skipped = reference_track_rows([(oid, range(s, e + 1)) for oid, s, e in rows], masks_at)
        self.reference_skipped = len(skipped)
        if skipped:
            oid, frame = skipped[0]
            warnings.warn(
                f"{self.tracks_path}: {len(skipped)} abnormal frame(s) skipped because the object is absent "
                f"from its id map (first: object {oid}, frame {frame}); the reference script crashes there",
                TvauWarning,
                stacklevel=2,
            )
        return out


class UBnormalSource:
    """A UBnormal dataset root (real or synthetic)."""

    layout = "ubnormal"

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise TvauError(
                "dataset root not found", path=self._root, fix="pass the folder holding Scene1..Scene29"
            )
        self.root = str(self._root)
        # The six lists come from one folder (the first holding any of them); a list absent there is empty,
        # so a root with its own lists never mixes in the official ones.
        folder = find_lists_folder(self._root)
        self.list_origin: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        for key in LIST_KEYS:
            path = folder / f"{key}_video_names.txt"
            self.list_origin[key] = str(path) if path.is_file() else ""
            self.lists[key] = read_split_list(path) if path.is_file() else []
        self.classes_path = find_meta_file(self._root, CLASS_PICKLE)
        self._split_of: dict[str, str] = {}
        for split, file_split in SPLIT_FILE_NAMES.items():
            for kind in ("abnormal", "normal"):
                for name in self.lists[f"{kind}_{file_split}"]:
                    self._split_of.setdefault(name, split)
        self._videos: dict[str, UBnormalVideo] = {}

    def __repr__(self) -> str:
        return f"UBnormalSource({self.root!r})"

    @cached_property
    def classes(self) -> dict[str, dict[int, str]]:
        raw = load_restricted(self.classes_path)
        out: dict[str, dict[int, str]] = {}
        for name, objs in raw.items():
            if not isinstance(objs, dict):
                raise TvauError(f"entry {name!r} is not a dict of object classes", path=self.classes_path)
            out[str(name)] = {int(k): str(v) for k, v in objs.items()}
        return out

    def listed(self, split: str) -> list[str]:
        """Every video name the split lists give for ``split`` (abnormal and normal), sorted."""
        check_split(split)
        fs = SPLIT_FILE_NAMES[split]
        return sorted(self.lists[f"abnormal_{fs}"] + self.lists[f"normal_{fs}"])

    def missing(self, split: str) -> list[str]:
        """Listed videos whose mp4 is not on disk (users may hold only some scenes)."""
        return [n for n in self.listed(split) if not (self._root / scene_folder(n) / f"{n}.mp4").is_file()]

    def splits(self) -> list[str]:
        return [s for s in SPLITS if self.listed(s)]

    def _make(self, name: str, split: str) -> UBnormalVideo:
        if name not in self._videos:
            self._videos[name] = UBnormalVideo(self._root, name, split, lambda: self.classes.get(name, {}))
        return self._videos[name]

    def videos(self, split: str) -> list[UBnormalVideo]:
        """The split's videos present on disk; listed ones that are missing give one warning."""
        missing = set(self.missing(split))
        if missing:
            listed = len(self.listed(split))
            warnings.warn(
                f"{self.root}: {len(missing)} of {listed} listed {split} videos are not on disk "
                f"(e.g. {sorted(missing)[0]}); they are skipped",
                TvauWarning,
                stacklevel=2,
            )
        return [self._make(n, split) for n in self.listed(split) if n not in missing]

    def video(self, video_id: str) -> UBnormalVideo:
        split = self._split_of.get(video_id)
        if split is None:
            raise TvauError(f"video {video_id!r} is in none of the split lists", path=self.root)
        if not (self._root / scene_folder(video_id) / f"{video_id}.mp4").is_file():
            raise TvauError(
                f"video {video_id!r} is listed but not on disk",
                path=self._root / scene_folder(video_id) / f"{video_id}.mp4",
            )
        return self._make(video_id, split)

    def report(self, *, deep: bool = False) -> LayoutReport:
        """Per-split counts and every layout problem; ``deep`` also decodes each video to find truncation."""
        return report_ubnormal(self, deep=deep)


# ---------------------------------------------------------------------------------------------- report


def report_ubnormal(src: UBnormalSource, *, deep: bool = False) -> SourceReport:
    """Counts per split (videos on disk, frames, abnormal frames, anomalies = tracks rows, regions = abnormal
    object-frames from the tracks rows) and every layout problem."""
    root = Path(src.root)
    rep = SourceReport(layout="ubnormal", root=str(root))
    if not any(p.is_dir() and p.name.startswith("Scene") for p in root.iterdir()):
        rep.problems.append(f"{root}: no Scene{{N}} folders (fix: pass the folder holding Scene1..Scene29)")
    origins = {str(Path(p).parent) for p in src.list_origin.values() if p}
    absent = [k for k, p in src.list_origin.items() if not p]
    if absent:
        rep.notes.append(f"split lists absent (taken as empty): {', '.join(absent)}")
    for folder in sorted(origins):
        label = "the official lists shipped with tvau-bench" if Path(folder) == SHIPPED_META else folder
        rep.notes.append(f"split lists read from {label}")
    rep.notes.append(
        "class pickle: "
        + (
            "the official copy shipped with tvau-bench"
            if src.classes_path.parent == SHIPPED_META
            else str(src.classes_path)
        )
    )
    rep.notes.append(
        "frames are OpenCV frame counts, as the reference track script counts them (its comment gives 89,908 "
        "for the real test split; the paper's Table 1 says 92,640)"
    )
    try:
        _ = src.classes
    except TvauError as exc:
        rep.problems.append(str(exc))
    listed_all: set[str] = set()
    for split in SPLITS:
        listed = src.listed(split)
        listed_all.update(listed)
        if not listed:
            continue
        counts = zero_counts()
        counts["listed_videos"] = len(listed)
        missing = src.missing(split)
        counts["missing_videos"] = len(missing)
        if missing:
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            rep.problems.append(
                f"{root}: {len(missing)} of {len(listed)} listed {split} videos are not on disk ({shown}) "
                "(fix: extract the missing scenes, or ignore if you hold only some)"
            )
        gone = set(missing)
        present = [n for n in listed if n not in gone]
        for name in progress(present, desc=f"checking {split}", unit="video"):
            video = src._make(name, split)
            _check_ubnormal_video(video, counts, rep.problems, deep=deep)
        rep.counts[split] = counts
    orphans = sorted(
        p.stem for p in root.glob("Scene*/*.mp4") if p.stem not in listed_all and scene_folder_ok(p.stem)
    )
    if orphans:
        rep.notes.append(f"{len(orphans)} video(s) on disk are in no split list (e.g. {orphans[0]})")
    return rep


def scene_folder_ok(name: str) -> bool:
    """Whether ``name`` follows the UBnormal video naming (:func:`scene_folder` accepts it)."""
    try:
        scene_folder(name)
    except TvauError:
        return False
    return True


def _check_ubnormal_video(
    video: UBnormalVideo, counts: dict[str, int], problems: list[str], *, deep: bool
) -> None:
    n = frame_count(video, problems, deep=deep)
    if n is None:
        return
    if not video.ann_dir.is_dir():
        problems.append(f"{video.ann_dir}: annotation folder missing (fix: extract the video's _annotations)")
    else:
        n_maps = video.map_count()
        if n_maps != n:
            problems.append(
                f"{video.ann_dir}: {n_maps} id maps but the video has {n} frames (OpenCV count) "
                "(fix: the maps and the video must come from the same release)"
            )
        if n_maps:
            try:
                video.id_map(0)
            except TvauError as exc:
                problems.append(str(exc))
    abnormal = video.video_id.startswith("abnormal")
    if abnormal and video.tracks_path is None:
        problems.append(
            f"{video.ann_dir}: abnormal video without {video.video_id}_tracks.txt (fix: extract its annotations)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = video.track_rows
    except TvauError as exc:
        problems.append(str(exc))
        rows = []
    problems.extend(video.track_problems)
    counts["videos"] += 1
    counts["frames"] += n
    counts["abnormal_frames"] += int(video.frame_labels().sum())
    counts["anomalies"] += len(rows)
    counts["regions"] += sum(e - s + 1 for _, s, e in rows)
    counts["abnormal_videos"] = counts.get("abnormal_videos", 0) + bool(rows)


# ---------------------------------------------------------------------------------------------- writers


def write_video(
    root: str | Path,
    name: str,
    frames: Iterable[np.ndarray],
    id_maps: Iterable[np.ndarray],
    tracks: list[tuple[int, int, int]] | None,
    *,
    fps: float = 30.0,
    crlf: bool = True,
    new_tracks: list[tuple[int, int, int]] | None = None,
) -> None:
    """Write one video in the UBnormal layout: the mp4, one id map per frame and, when given, its tracks files.

    ``tracks`` rows are ``(object_id, start, end)`` (inclusive); ``None`` or empty writes no tracks file (a
    normal video). Tracks files have no header, CRLF line endings when ``crlf`` and no trailing newline.
    """
    root = Path(root)
    scene = scene_folder(name)
    n_frames = vio.write_video(root / scene / f"{name}.mp4", frames, fps)
    ann = root / scene / f"{name}_annotations"
    ann.mkdir(parents=True, exist_ok=True)
    n_maps = 0
    for i, m in enumerate(id_maps):
        m = np.asarray(m)
        if m.ndim != 2 or m.dtype != np.uint8:
            raise TvauError(f"id map {i} has shape {m.shape} and dtype {m.dtype}; expected (H, W) uint8")
        ok, buf = cv2.imencode(".png", m)
        if not ok:
            raise TvauError(f"OpenCV cannot encode id map {i}", path=ann)
        atomic_write_bytes(ann / f"{name}_{i:04d}_gt.png", buf.tobytes(), durable=False)
        n_maps += 1
    if n_maps != n_frames:
        raise TvauError(f"{n_frames} frames but {n_maps} id maps were given", path=ann)
    sep = "\r\n" if crlf else "\n"
    for suffix, rows in (("_tracks.txt", tracks), ("_new_tracks.txt", new_tracks)):
        if rows:
            text = sep.join(f"{int(o)},{int(s)},{int(e)}" for o, s, e in rows)
            atomic_write_text(ann / f"{name}{suffix}", text)


def write_split_lists(root: str | Path, lists: dict[str, list[str]]) -> None:
    """Write ``root/scripts/{key}_video_names.txt`` per key (e.g. ``abnormal_training``), no trailing newline."""
    scripts = Path(root) / "scripts"
    for key, names in lists.items():
        if key not in LIST_KEYS:
            raise TvauError(f"unknown split list {key!r}", fix=f"use one of {', '.join(LIST_KEYS)}")
        atomic_write_bytes(scripts / f"{key}_video_names.txt", "\n".join(names).encode("utf-8"))


def write_object_classes(root: str | Path, classes: dict[str, dict[int, str]]) -> None:
    """Write ``root/scripts/object_names_per_video.pkl``: a pickled defaultdict, persons omitted."""
    out: collections.defaultdict[str, dict[int, str]] = collections.defaultdict(dict)
    for name, objs in classes.items():
        kept = {int(k): str(v) for k, v in objs.items() if v != "person"}
        if kept:
            out[str(name)] = kept
    atomic_write_bytes(Path(root) / "scripts" / CLASS_PICKLE, pickle.dumps(out, protocol=3))


# ---------------------------------------------------------------------------------------------- helpers


def find_lists_folder(root: Path) -> Path:
    """ROOT, then ROOT/scripts, then the shipped copy: the first folder holding any split list."""
    for folder in (root, root / "scripts"):
        if any((folder / f"{key}_video_names.txt").is_file() for key in LIST_KEYS):
            return folder
    return SHIPPED_META


def read_split_list(path: Path) -> list[str]:
    try:
        return parse_split_list(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TvauError(
            f"cannot read split list: {exc}", path=path, fix="one video name a line, UTF-8"
        ) from None


def find_meta_file(root: Path, name: str) -> Path:
    """``name`` in ROOT, then ROOT/scripts, then the shipped official copy."""
    for folder in (root, root / "scripts", SHIPPED_META):
        if (folder / name).is_file():
            return folder / name
    raise TvauError(f"{name} not found in the root, its scripts/ or the package", path=root)


def scene_folder(name: str) -> str:
    """``Scene{S}`` from a video name ``{normal|abnormal}_scene_{S}_scenario_{K}[_{suffix}]``."""
    match = _NAME_RE.match(name)
    if match is None:
        raise TvauError(
            f"video name {name!r} does not follow {{normal|abnormal}}_scene_S_scenario_K[_suffix]",
            fix="rename the video or fix the split list",
        )
    return f"Scene{int(match.group(2))}"


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def read_tracks_file(path: str | Path) -> list[tuple[int, int, int]]:
    """Rows of a ``_tracks.txt`` file; TvauError naming the line for anything unparsable."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TvauError(f"cannot read tracks file: {exc}", path=path) from None
    return parse_tracks_text(text, path=path)


def parse_tracks_text(text: str, *, path: str | Path | None = None) -> list[tuple[int, int, int]]:
    """``object_id,start,end`` rows (CRLF or LF, trailing newline or not, one row or many)."""
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            if len(parts) != 3:
                raise ValueError
            oid, start, end = (int(float(p)) for p in parts)
        except ValueError:
            raise TvauError(
                f"expected 'object_id,start_frame,end_frame', found {line.strip()!r}",
                path=path,
                line=line_no,
                fix="each row is three integers separated by commas",
            ) from None
        if oid <= 0 or start < 0 or end < start:
            raise TvauError(
                f"invalid row {oid},{start},{end} (ids are >= 1, frames 0-based, start <= end)",
                path=path,
                line=line_no,
            )
        rows.append((oid, start, end))
    return rows


def clip_track_rows(
    rows: list[tuple[int, int, int]], num_frames: int
) -> tuple[list[tuple[int, int, int]], list[str]]:
    """Clip rows to ``0..num_frames-1``; returns the kept rows and one message per row that went past the end."""
    kept, problems = [], []
    for line_no, (oid, s, e) in enumerate(rows, start=1):
        if e >= num_frames:
            what = "dropped" if s >= num_frames else f"clipped to end {num_frames - 1}"
            problems.append(
                f"line {line_no}: row {oid},{s},{e} goes past the video's last frame {num_frames - 1} ({what})"
            )
            if s >= num_frames:
                continue
            e = num_frames - 1
        kept.append((oid, s, e))
    return kept, problems


def parse_split_list(text: str) -> list[str]:
    """Video names of a split list, one a line (no trailing newline in the official files)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def present_ids(id_map: np.ndarray) -> list[int]:
    """Non-zero ids present in a uint8 map (bincount: much faster than np.unique on large maps)."""
    counts = np.bincount(id_map.ravel(), minlength=256)
    return [int(i) for i in np.flatnonzero(counts[1:]) + 1]


def map_boxes(id_map: np.ndarray) -> dict[int, Box]:
    """``{object_id: inclusive box}`` for every id of a map.

    Works on the crop holding all objects: they usually cover a small part of the frame, so the per-id
    comparisons touch few pixels.
    """
    whole = mask_box(id_map)
    if whole is None:
        return {}
    x0, y0, x1, y1 = whole
    crop = id_map[y0 : y1 + 1, x0 : x1 + 1]
    out = {}
    for oid in present_ids(crop):
        bx0, by0, bx1, by1 = mask_box(crop == oid)
        out[oid] = (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)
    return out


# ---------------------------------------------------------------------------------------------- registration


def is_ubnormal_root(root: Path) -> bool:
    """A folder holding ``Scene{N}/`` folders, or the test split list in itself or its ``scripts/``."""
    return any(
        p.is_dir() and p.name.startswith("Scene") and p.name[5:].isdigit() for p in root.iterdir()
    ) or any((folder / "abnormal_test_video_names.txt").is_file() for folder in (root, root / "scripts"))


SPEC = SourceSpec(
    name="ubnormal",
    family="UB",
    title="UBnormal",
    full_title="UBnormal",
    url="https://github.com/lilygeorgescu/UBnormal",
    licence="The UBnormal authors distribute their videos and annotations under their own terms "
    "(CC BY-NC-ND 4.0, Acsintoae et al., CVPR 2022); check them before use.",
    citation="""@inproceedings{acsintoae2022ubnormal,
title = {UBnormal: New Benchmark for Supervised Open-Set Video Anomaly Detection},
author = {Acsintoae, Andra and Florescu, Andrei and Georgescu, Mariana-Iuliana and Mare, Tudor and Sumedrea, Paul and Ionescu, Radu Tudor and Khan, Fahad Shahbaz and Shah, Mubarak},
booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
year = {2022}
}""",
    video_path_note="`video_path` is relative to the UBnormal root (`Scene{N}/{video}.mp4`).",
    limitation="UBnormal is rendered (synthetic) video: people and scenes look game-like, so models tuned on it "
    "may not transfer as is to real footage.",
    split_note="anomaly types are disjoint across UBnormal's splits",
    detect=is_ubnormal_root,
    marker="Scene*/ or split lists",
    absent="no Scene{N}/ folders or split lists",
    root_hint="holding Scene1..Scene29",
    open=UBnormalSource,
)
