"""Detection runs on the leaderboard: admit a ``tvau-bench detect`` output folder and recompute its figures.

``leaderboard add DETECT_DIR`` (a folder holding ``summary.json``, ``scores/``, ``labels/``, ``tracks/`` and
``detections/``) checks, in order: every per-video file parses with the :mod:`tvau_bench.metrics.io` readers
(errors name the file and line); every labelled video has a score file of the same length and a detections
file, and no score, detection or track file names a video without labels; detection and track frames lie inside
their video; ``summary.json``'s ``num_frames`` is the sum of the label lengths (and ``videos`` their count); the
``detection_rule.json`` files match the summary's rule; and the four metrics recomputed from the per-video files
(:func:`tvau_bench.metrics.frame.frame_auc`, :func:`tvau_bench.metrics.region.region_metrics`, their defaults,
as ``detect`` scores) equal ``summary.json``'s to 1e-9. Any failure refuses the folder, naming the file.

An admitted folder is copied to ``ROOT/results/{dataset}/detection/{name}/`` with ``evidence.json`` (the SHA-256
of every copied file, through :mod:`.store`'s helpers). Rendering verifies those hashes, refuses files that were
not admitted, and recomputes the figures from the per-video files only (never from ``summary.json``), with 95%
percentile intervals from a bootstrap over videos: each resample draws videos with replacement (duplicates
become separate videos), and all four metrics are recomputed on it, RBDC/TBDC with ``num_frames`` = the drawn
videos' frames. A resample on which a metric is undefined (no abnormal frame, no ground-truth track drawn) is
left out of that metric's percentiles, and the row counts them; past 10% of the resamples (too few videos) the
metric gets no interval.

What this cannot catch: per-video files rewritten together with a ``summary.json`` that agrees with them, or
an edit that leaves all four metrics unchanged (e.g. a score changed without changing any ranking).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._io import read_json
from ..errors import TvauError
from ..metrics.detections import RULE_FILE
from ..metrics.io import (
    DETECTION_COLUMNS,
    TRACK_COLUMNS,
    parse_rows,
    read_detections_file,
    read_tracks_file,
    read_values_file,
)
from ..metrics.suite import DETECTION, detection_summary
from .store import (
    DETECTION_DIR,
    EVIDENCE,
    check_hashes,
    dataset_family,
    file_hashes,
    slug,
    store_folder,
)

SUMMARY = "summary.json"
PER_VIDEO = ("labels", "scores", "tracks", "detections")
RULE_FOLDERS = ("scores", "detections")  # where ``detect`` writes detection_rule.json
METRICS = DETECTION  # the four figures, in table order
TOLERANCE = 1e-9
N_RESAMPLES = 200
SEED = 0
BOOTSTRAP = "percentile bootstrap over videos (with replacement), numpy default_rng"
# Readable labels of the methods ``tvau-bench detect`` records; any other name is shown as given.
DISPLAY_NAMES = {
    "classical": "Classical motion baseline (offline)",
    "ahd": "AHD (this package)",
    "ahd-1s": "AHD (1S, this package)",
}

_SUFFIXES = {
    "labels": (".txt", ".npy"),
    "scores": (".txt", ".npy"),
    "tracks": (".txt",),
    "detections": (".txt",),
}


@dataclass(frozen=True)
class DetectionData:
    """The per-video files of a detection output, parsed and cross-checked (videos = the labelled ones)."""

    folder: Path
    paths: dict[str, dict[str, str]]  # folder kind -> {video: path relative to ``folder``}
    rules: tuple[str, ...]  # relative paths of the detection_rule.json files present
    labels: dict[str, np.ndarray] = field(repr=False)
    scores: dict[str, np.ndarray] = field(repr=False)
    tracks: dict[str, np.ndarray] = field(repr=False)
    detections: dict[str, np.ndarray] = field(repr=False)

    @property
    def videos(self) -> list[str]:
        """Video names, sorted."""
        return sorted(self.labels)

    @property
    def num_frames(self) -> int:
        """All test frames (normal videos included): the RBDC/TBDC false-positive denominator."""
        return int(sum(len(a) for a in self.labels.values()))

    def files(self) -> list[str]:
        """Every per-video and rule file, relative to ``folder``, sorted."""
        return sorted([*(p for kind in PER_VIDEO for p in self.paths[kind].values()), *self.rules])


@dataclass(frozen=True)
class StoredDetection:
    """An admitted detection run: identity from its evidence, figures' inputs from its per-video files."""

    path: Path
    name: str
    display_name: str
    dataset: str
    family: str | None
    split: str
    method: str | None
    rule: dict[str, Any] | None
    data: DetectionData


@dataclass(frozen=True)
class DetectionFigures:
    """The four metrics x100 with their bootstrap intervals (``None``: undefined on some resample)."""

    values: dict[str, float]
    ci95: dict[str, tuple[float, float] | None]
    undefined: dict[str, int]  # resamples on which each metric was undefined
    n_resamples: int
    seed: int
    num_videos: int
    num_frames: int


@dataclass(frozen=True)
class MeasuredDetection:
    """A stored detection run with its recomputed figures: one row of the detection table."""

    run: StoredDetection
    figures: DetectionFigures


# --- admission ------------------------------------------------------------------------------------------------


def is_detect_output(folder: str | Path) -> bool:
    """Whether ``folder`` looks like a ``tvau-bench detect`` output (summary.json and the four folders)."""
    folder = Path(folder)
    return (folder / SUMMARY).is_file() and all((folder / kind).is_dir() for kind in PER_VIDEO)


def add_detection(
    folder: str | Path,
    *,
    root: str | Path = "leaderboard",
    name: str | None = None,
    dataset: str | None = None,
    replace: bool = False,
) -> Path:
    """Validate a ``detect`` output and copy it to ``ROOT/results/{dataset}/detection/{name}/``; returns that."""
    folder = Path(folder)
    data, summary = validate_detection(folder)
    name = name or summary.get("name") or summary.get("method")
    if not name:
        raise TvauError("summary.json names no method", path=folder / SUMMARY, fix="pass --name NAME")
    dataset = dataset or summary.get("dataset")
    if not dataset:
        raise TvauError(
            "a detect output does not record its dataset's name",
            path=folder / SUMMARY,
            fix="pass --dataset NAME (e.g. synthetic-ubnormal)",
        )
    names = [SUMMARY, *data.files()]
    evidence = {
        "kind": "detection",
        "name": name,
        "display_name": DISPLAY_NAMES.get(name, name),
        "dataset": dataset,
        "family": dataset_family(dataset),
        "split": summary["split"],
        "method": summary.get("method"),
        "rule": summary.get("rule"),
        "num_videos": len(data.videos),
        "num_frames": data.num_frames,
        "files": file_hashes(folder, names),
        "admitted_by": f"tvau-bench {__version__}",
    }
    dest = Path(root) / "results" / slug(dataset) / DETECTION_DIR / slug(name)
    return store_folder(
        folder, names, dest, evidence, replace=replace, what="detection run of this name on this dataset"
    )


def validate_detection(folder: str | Path) -> tuple[DetectionData, dict[str, Any]]:
    """Every check of :func:`add_detection`; returns the parsed per-video data and ``summary.json``."""
    folder = Path(folder)
    if not is_detect_output(folder):
        raise TvauError(
            f"not a detect output: needs {SUMMARY} and the folders {', '.join(PER_VIDEO)}",
            path=folder,
            fix="pass the --out folder of `tvau-bench detect`",
        )
    spath = folder / SUMMARY
    summary = read_json(spath)
    if not isinstance(summary, dict):
        raise TvauError("expected a JSON object", path=spath)
    if not isinstance(summary.get("split"), str):
        raise TvauError("split missing or not a string", path=spath, field="split")
    data = read_detection_data(folder)
    _check_count(spath, summary, "num_frames", data.num_frames, "the sum of the label files' lengths")
    if "videos" in summary:
        _check_count(spath, summary, "videos", len(data.videos), "the number of label files")
    for rel in data.rules:
        if "rule" in summary and read_json(folder / rel) != summary["rule"]:
            raise TvauError(
                "the detection rule differs from summary.json's rule", path=folder / rel, fix="rerun detect"
            )
    claimed = summary.get("metrics")
    if not isinstance(claimed, dict):
        raise TvauError("metrics missing", path=spath, field="metrics")
    try:
        recomputed = detection_metrics(data)
    except TvauError as exc:  # e.g. no abnormal frame at all: say which folder
        raise TvauError(exc.problem, path=folder / "labels", fix=exc.fix) from None
    for key in METRICS:
        value = claimed.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TvauError(f"not a finite number: {value!r}", path=spath, field=f"metrics.{key}")
        if abs(value - recomputed[key]) > TOLERANCE:
            raise TvauError(
                f"summary.json says {value!r} but the per-video files give {recomputed[key]!r}: "
                "the folder was edited after `tvau-bench detect` wrote it",
                path=spath,
                field=f"metrics.{key}",
                fix="rerun `tvau-bench detect`; a tampered folder is not admitted",
            )
    return data, summary


def _check_count(path: Path, summary: dict[str, Any], key: str, want: int, what: str) -> None:
    got = summary.get(key)
    if isinstance(got, bool) or got != want:
        raise TvauError(
            f"{got!r} but {what} is {want}", path=path, field=key, fix="rerun detect; the folder was edited"
        )


def read_detection_data(folder: str | Path) -> DetectionData:
    """Parse and cross-check the per-video files of a detect output (or a stored copy of one)."""
    folder = Path(folder)
    paths = {kind: _video_files(folder, kind) for kind in PER_VIDEO}
    if not paths["labels"]:
        raise TvauError("no label files", path=folder / "labels", fix="pass a complete detect output")
    labels: dict[str, np.ndarray] = {}
    for video, rel in paths["labels"].items():
        arr = read_values_file(folder / rel)
        bad = np.flatnonzero((arr != 0) & (arr != 1))
        if bad.size:
            raise TvauError(f"label {arr[bad[0]]:g} at frame {int(bad[0])} is not 0 or 1", path=folder / rel)
        labels[video] = arr.astype(np.int64)
    scores = {v: read_values_file(folder / rel) for v, rel in paths["scores"].items()}
    detections = {v: read_detections_file(folder / rel) for v, rel in paths["detections"].items()}
    tracks = {v: read_tracks_file(folder / rel) for v, rel in paths["tracks"].items()}
    for kind in ("scores", "detections", "tracks"):
        for video in sorted(set(paths[kind]) - set(labels)):
            raise TvauError(
                f"video {video!r} has no label file",
                path=folder / paths[kind][video],
                fix="remove it or rerun detect",
            )
    for video in sorted(labels):
        n = len(labels[video])
        for kind in ("scores", "detections"):
            if video not in paths[kind]:
                raise TvauError(
                    f"missing: video {video!r} has labels but no {kind} file",
                    path=folder / kind / f"{video}.txt",
                    fix="restore it or rerun detect",
                )
        if len(scores[video]) != n:
            raise TvauError(
                f"{len(scores[video])} scores but {n} labels in {paths['labels'][video]}",
                path=folder / paths["scores"][video],
                fix="one score a frame: restore the file or rerun detect",
            )
        _check_frames(folder / paths["detections"][video], detections[video][:, 0], n, DETECTION_COLUMNS)
        if video in tracks:
            _check_frames(folder / paths["tracks"][video], tracks[video][:, 1], n, TRACK_COLUMNS)
    rules = tuple(f"{kind}/{RULE_FILE}" for kind in RULE_FOLDERS if (folder / kind / RULE_FILE).is_file())
    return DetectionData(folder, paths, rules, labels, scores, tracks, detections)


def _video_files(folder: Path, kind: str) -> dict[str, str]:
    """``{video: relative path}`` of the files a metrics.io reader would read in ``folder/kind`` (sorted)."""
    out: dict[str, str] = {}
    for p in sorted((folder / kind).iterdir()):
        if p.suffix not in _SUFFIXES[kind] or not p.is_file():
            continue
        if p.stem in out:
            raise TvauError(f"video {p.stem!r} has two files", path=p, fix="keep one file per video")
        out[p.stem] = f"{kind}/{p.name}"
    return out


def _check_frames(path: Path, frames: np.ndarray, n: int, columns: tuple[str, ...]) -> None:
    bad = np.flatnonzero(frames >= n)
    if bad.size:
        # The readers drop line numbers; recover the offending row's line from the same parser.
        _, lines = parse_rows(path.read_bytes().decode("utf-8-sig"), path, columns)
        raise TvauError(
            f"frame_id {int(frames[bad[0]])} is outside the video's {n} frames",
            path=path,
            line=int(lines[bad[0]]),
            fix="restore the file or rerun detect",
        )


# --- reading the store ------------------------------------------------------------------------------------------


def stored_detections(root: str | Path = "leaderboard") -> list[StoredDetection]:
    """Every admitted detection run under ``ROOT/results/*/detection/``, verified (sorted by path)."""
    base = Path(root) / "results"
    return [load_stored_detection(p.parent) for p in sorted(base.glob(f"*/{DETECTION_DIR}/*/{EVIDENCE}"))]


def load_stored_detection(folder: str | Path) -> StoredDetection:
    """One stored detection run: its files must hash as admitted, and no unadmitted file may be read."""
    folder = Path(folder)
    ev = read_json(folder / EVIDENCE)
    if ev.get("kind") != "detection":
        raise TvauError("not a detection run's evidence", path=folder / EVIDENCE, field="kind")
    check_hashes(folder, ev["files"])
    # The readers read every file of a folder: one added after admission would silently join the figures.
    present = [p for kind in PER_VIDEO for p in _video_files(folder, kind).values()]
    extra = sorted(set(present) - set(ev["files"]))
    if extra:
        raise TvauError(
            "file added after admission",
            path=folder / extra[0],
            fix="remove it, or re-add the run with --replace",
        )
    data = read_detection_data(folder)
    if len(data.videos) != ev["num_videos"] or data.num_frames != ev["num_frames"]:
        raise TvauError("videos or frames differ from the admitted run", path=folder / EVIDENCE)
    return StoredDetection(
        path=folder,
        name=ev["name"],
        display_name=ev["display_name"],
        dataset=ev["dataset"],
        family=ev["family"],
        split=ev["split"],
        method=ev.get("method"),
        rule=ev.get("rule"),
        data=data,
    )


def measured_detections(
    root: str | Path = "leaderboard", *, n_resamples: int = N_RESAMPLES, seed: int = SEED
) -> list[MeasuredDetection]:
    """Stored detection runs with their figures, sorted by dataset, split and name."""
    runs = sorted(stored_detections(root), key=lambda r: (r.dataset, r.split, r.name))
    return [MeasuredDetection(r, detection_figures(r.data, n_resamples=n_resamples, seed=seed)) for r in runs]


# --- figures (pure) -----------------------------------------------------------------------------------------------


def detection_metrics(data: DetectionData) -> dict[str, float]:
    """Micro/macro frame AUC and RBDC/TBDC in [0, 1], with the metrics package's defaults (as ``detect``)."""
    return detection_summary(data.labels, data.scores, data.tracks, data.detections, data.num_frames)


MIN_DEFINED_SHARE = 0.9  # below this share of defined resamples, no interval


def detection_figures(
    data: DetectionData, *, n_resamples: int = N_RESAMPLES, seed: int = SEED
) -> DetectionFigures:
    """The four metrics x100 and their bootstrap-over-videos 95% intervals (see the module docstring)."""
    from ..metrics.bootstrap import bootstrap_defined
    from ..metrics.frame import video_auc

    videos = data.videos
    point = detection_metrics(data)
    # The padded per-video AUC depends on that video alone, so a resample's macro AUC is the mean of the drawn
    # videos' AUCs: the same number frame_auc gives on the resampled set, without recomputing each.
    per_video = np.asarray([video_auc(data.labels[v], data.scores[v]) for v in videos], dtype=np.float64)
    intervals = bootstrap_defined(
        np.arange(len(videos)),
        lambda idx: _resample_metrics(data, videos, per_video, idx),
        n_resamples=n_resamples,
        seed=seed,
        min_defined=MIN_DEFINED_SHARE,
    )
    ci95 = {m: intervals[m].ci95 for m in METRICS}
    return DetectionFigures(
        values={m: 100.0 * point[m] for m in METRICS},
        ci95={m: None if ci is None else (100.0 * ci[0], 100.0 * ci[1]) for m, ci in ci95.items()},
        undefined={m: intervals[m].undefined for m in METRICS},
        n_resamples=n_resamples,
        seed=seed,
        num_videos=len(videos),
        num_frames=data.num_frames,
    )


def _resample_metrics(
    data: DetectionData, videos: list[str], per_video: np.ndarray, idx: np.ndarray
) -> dict[str, float]:
    """The four metrics (in [0, 1]; NaN where undefined) on the videos drawn at ``idx``."""
    from ..metrics.frame import video_auc
    from ..metrics.region import region_metrics

    drawn = [videos[i] for i in idx.tolist()]
    micro = video_auc(
        np.concatenate([data.labels[v] for v in drawn]),
        np.concatenate([data.scores[v] for v in drawn]),
        padded=False,
    )
    out = {"micro_auc": math.nan if micro is None else micro, "macro_auc": float(per_video[idx].mean())}
    # A video drawn twice counts as two videos: its copies get distinct names (in the original's sort position).
    seen: dict[str, int] = {}
    tracks, dets = {}, {}
    for v in drawn:
        k = seen[v] = seen.get(v, -1) + 1
        name = f"{v}#{k}"
        dets[name] = data.detections[v]
        if v in data.tracks:
            tracks[name] = data.tracks[v]
    if not any(len(t) for t in tracks.values()):
        out["rbdc"] = out["tbdc"] = math.nan  # no ground-truth region drawn: RBDC/TBDC undefined
        return out
    frames = int(sum(len(data.labels[v]) for v in drawn))
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # e.g. repeated track rows: warned once at admission, not per resample
        region = region_metrics(tracks, dets, frames)
    out["rbdc"], out["tbdc"] = region.rbdc, region.tbdc
    return out
