"""Layout detection (``open_source``) and the layout reports behind ``tvau-bench sources info``.

A report never stops at the first problem: every check catches the reader's :class:`TvauError`, records its
message (which names the file and the fix) and goes on, so one run lists everything wrong with a root.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import TvauError
from ..progress import progress
from . import video as vio
from .base import SPLITS, LayoutReport, Source

_COUNT_KEYS = ("videos", "frames", "abnormal_frames", "anomalies", "regions")


@dataclass
class SourceReport(LayoutReport):
    """A :class:`LayoutReport` with informational notes (where lists came from, mask layouts) besides problems."""

    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def detect_layout(root: str | Path) -> str:
    """``"ubnormal"`` or ``"shanghaitech"`` from the folders under ``root``; TvauError when neither fits."""
    root = Path(root)
    if not root.is_dir():
        raise TvauError("dataset root not found", path=root, fix="pass an existing folder")
    is_ub = any(
        p.is_dir() and p.name.startswith("Scene") and p.name[5:].isdigit() for p in root.iterdir()
    ) or any((folder / "abnormal_test_video_names.txt").is_file() for folder in (root, root / "scripts"))
    is_st = (root / "testing").is_dir() or (root / "training" / "videos").is_dir()
    if is_ub and not is_st:
        return "ubnormal"
    if is_st and not is_ub:
        return "shanghaitech"
    subs = [p.name for p in sorted(root.iterdir()) if p.is_dir() and p.name in ("ubnormal", "shanghaitech")]
    if is_ub and is_st:
        problem = "the root holds both UBnormal (Scene*/ or split lists) and ShanghaiTech (training/, testing/) folders"
    else:
        problem = "cannot tell the layout: no Scene{N}/ folders or split lists (UBnormal), no training/ or testing/ (ShanghaiTech)"
    fix = (
        f"pass one of {', '.join(str(root / s) for s in subs)}"
        if subs
        else "pass the UBnormal root (holding Scene1..Scene29) or the ShanghaiTech root (holding training/ and testing/)"
    )
    raise TvauError(problem, path=root, fix=fix)


def open_source(root: str | Path) -> Source:
    """The reader for ``root``'s layout (UBnormal or ShanghaiTech)."""
    layout = detect_layout(root)
    if layout == "ubnormal":
        from .ubnormal import UBnormalSource

        return UBnormalSource(root)
    from .shanghaitech import ShanghaiTechSource

    return ShanghaiTechSource(root)


def _zero() -> dict[str, int]:
    return dict.fromkeys(_COUNT_KEYS, 0)


def _check_decodable(path: Path, expected: int, problems: list[str]) -> None:
    got = vio.count_decodable(path)
    if got != expected:
        problems.append(
            f"{path}: OpenCV reports {expected} frames but decodes {got}: the video is truncated "
            "(fix: re-download or re-extract it)"
        )


def _frame_count(video, problems: list[str], *, deep: bool) -> int | None:
    """The video file's frame count (``deep``: also checked by decoding); ``None`` with the problem recorded
    when it cannot be read."""
    try:
        n = video.num_frames
    except TvauError as exc:
        problems.append(str(exc))
        return None
    if deep:
        _check_decodable(Path(video.root) / video.video_path, n, problems)
    return n


def report_ubnormal(src, *, deep: bool = False) -> SourceReport:
    """Counts per split (videos on disk, frames, abnormal frames, anomalies = tracks rows, regions = abnormal
    object-frames from the tracks rows) and every layout problem."""
    from .ubnormal import SHIPPED_META, scene_folder

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
        counts = _zero()
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
        p.stem
        for p in root.glob("Scene*/*.mp4")
        if p.stem not in listed_all and scene_folder_ok(p.stem, scene_folder)
    )
    if orphans:
        rep.notes.append(f"{len(orphans)} video(s) on disk are in no split list (e.g. {orphans[0]})")
    return rep


def scene_folder_ok(name: str, scene_folder) -> bool:
    try:
        scene_folder(name)
    except TvauError:
        return False
    return True


def _check_ubnormal_video(video, counts: dict[str, int], problems: list[str], *, deep: bool) -> None:
    n = _frame_count(video, problems, deep=deep)
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


def report_shanghaitech(src, *, deep: bool = False) -> SourceReport:
    """Counts per split (videos, frames, abnormal frames, anomalies = linked targets, regions = target-frames)
    and every layout problem."""
    root = Path(src.root)
    rep = SourceReport(layout="shanghaitech", root=str(root))
    for rel in ("testing/frames", "testing/test_frame_mask", "testing/test_pixel_mask", "training/videos"):
        if not (root / rel).is_dir():
            rep.problems.append(f"{root / rel}: folder missing (fix: extract the full ShanghaiTech release)")
    train_ids = src.train_ids()
    if train_ids:
        counts = _zero()
        for vid in progress(train_ids, desc="checking train", unit="video"):
            n = _frame_count(src.video(vid), rep.problems, deep=deep)
            if n is None:
                continue
            counts["videos"] += 1
            counts["frames"] += n
        rep.counts["train"] = counts
    test_ids = src.test_ids()
    _check_labels_without_frames(root, set(test_ids), rep.problems)
    if test_ids:
        counts = _zero()
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


def _check_shanghaitech_test(video, counts: dict[str, int], problems: list[str], *, deep: bool) -> None:
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


def format_report(rep: LayoutReport) -> str:
    """Human-readable report: a counts table per split, then notes and problems."""
    lines = [f"layout: {rep.layout}", f"root:   {rep.root}"]
    keys = list(_COUNT_KEYS)
    for c in rep.counts.values():
        keys += [k for k in c if k not in keys]
    width = max(len(k) for k in keys)
    splits = list(rep.counts)
    lines.append("")
    lines.append(f"{'':{width}}  " + "  ".join(f"{s:>12}" for s in splits))
    for k in keys:
        if any(k in rep.counts[s] for s in splits):
            lines.append(f"{k:{width}}  " + "  ".join(f"{rep.counts[s].get(k, 0):>12,}" for s in splits))
    for note in getattr(rep, "notes", []):
        lines.append(f"note: {note}")
    lines.append(f"problems: {len(rep.problems)}")
    lines.extend(f"  - {p}" for p in rep.problems)
    return "\n".join(lines)
