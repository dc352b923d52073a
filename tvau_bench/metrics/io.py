"""Readers and writers for the reference text formats the metrics consume.

- tracks: ``tracks/{video}.txt``, rows ``track_id,frame_id,x_min,y_min,x_max,y_max`` (the UBnormal reference
  script writes ``x_max = x + w``; the metric only needs the numbers as given);
- detections: ``detections/{video}.txt``, rows ``frame_id,x_min,y_min,x_max,y_max,score``;
- per-video frame labels or scores: ``{video}.npy`` (1-D) or ``{video}.txt`` (one value a line).

Unlike the reference scripts (``np.loadtxt``), these accept CRLF, one-row and empty files, and every malformed
row fails with the file and line. Blank lines and ``#`` comments are skipped, as ``np.loadtxt`` does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from io import BytesIO
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes, atomic_write_text
from ..errors import TvauError, TvauWarning

TRACK_COLUMNS = ("track_id", "frame_id", "x_min", "y_min", "x_max", "y_max")
DETECTION_COLUMNS = ("frame_id", "x_min", "y_min", "x_max", "y_max", "score")


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise TvauError("file not found", path=path) from None
    except UnicodeDecodeError as exc:
        raise TvauError(
            f"not UTF-8 text ({exc.reason})", path=path, fix="write the file as plain text"
        ) from None


def _data_lines(text: str) -> Iterable[tuple[int, str]]:
    """``(line_number, content)`` of the non-blank, non-comment lines; CR, LF and CRLF all end a line."""
    for i, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            yield i, line


def parse_rows(
    text: str, path: str | Path, columns: tuple[str, ...], *, integer_columns: tuple[str, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Parse comma-separated numeric rows into a float64 ``(n, len(columns))`` array and their line numbers.

    Every value must be a finite number, ``integer_columns`` non-negative integers, and ``x_max >= x_min``,
    ``y_max >= y_min`` where those columns exist. Errors name ``path`` and the line.
    """
    ncol = len(columns)
    int_idx = [columns.index(c) for c in integer_columns]
    box = [columns.index(c) for c in ("x_min", "y_min", "x_max", "y_max")] if "x_min" in columns else None
    values: list[list[float]] = []
    lines: list[int] = []
    for line_no, line in _data_lines(text):
        parts = line.split(",")
        if len(parts) != ncol:
            raise TvauError(
                f"expected {ncol} comma-separated values ({','.join(columns)}), found {len(parts)}",
                path=path,
                line=line_no,
                fix="write one row per line in the reference format",
            )
        row: list[float] = []
        for name, part in zip(columns, parts, strict=True):
            try:
                v = float(part)
            except ValueError:
                raise TvauError(
                    f"{name} is not a number: {part.strip()!r}", path=path, line=line_no
                ) from None
            if not math.isfinite(v):
                raise TvauError(f"{name} is {part.strip()} (must be finite)", path=path, line=line_no)
            row.append(v)
        for k in int_idx:
            if row[k] < 0 or row[k] != int(row[k]):
                raise TvauError(
                    f"{columns[k]} must be a non-negative integer, found {parts[k].strip()}",
                    path=path,
                    line=line_no,
                )
        if box is not None:
            x0, y0, x1, y1 = (row[k] for k in box)
            if x1 < x0 or y1 < y0:
                raise TvauError(
                    f"box has x_max < x_min or y_max < y_min: {x0:g},{y0:g},{x1:g},{y1:g}",
                    path=path,
                    line=line_no,
                    fix="write boxes as x_min,y_min,x_max,y_max",
                )
        values.append(row)
        lines.append(line_no)
    arr = np.asarray(values, dtype=np.float64).reshape(len(values), ncol)
    return arr, np.asarray(lines, dtype=np.int64)


def _txt_files(directory: str | Path, what: str) -> list[Path]:
    d = Path(directory)
    if not d.is_dir():
        raise TvauError(
            f"{what} folder not found", path=d, fix="pass the folder holding one {video}.txt per video"
        )
    return sorted(p for p in d.iterdir() if p.suffix == ".txt" and p.is_file())


def read_tracks_file(path: str | Path) -> np.ndarray:
    """One video's ground-truth track rows as float64 ``(n, 6)``: track_id, frame_id, x_min, y_min, x_max, y_max."""
    path = Path(path)
    rows, _ = parse_rows(_read_text(path), path, TRACK_COLUMNS, integer_columns=("track_id", "frame_id"))
    return rows


def read_detections_file(path: str | Path) -> np.ndarray:
    """One video's detection rows as float64 ``(n, 6)``: frame_id, x_min, y_min, x_max, y_max, score."""
    path = Path(path)
    rows, _ = parse_rows(_read_text(path), path, DETECTION_COLUMNS, integer_columns=("frame_id",))
    return rows


def read_tracks_dir(directory: str | Path) -> dict[str, np.ndarray]:
    """``{video: rows}`` for every ``{video}.txt`` of a tracks folder (sorted by video name)."""
    return {p.stem: read_tracks_file(p) for p in _txt_files(directory, "tracks")}


def read_detections_dir(directory: str | Path) -> dict[str, np.ndarray]:
    """``{video: rows}`` for every ``{video}.txt`` of a detections folder (sorted by video name)."""
    return {p.stem: read_detections_file(p) for p in _txt_files(directory, "detections")}


def read_values_file(path: str | Path) -> np.ndarray:
    """A per-video 1-D float64 array from ``.npy`` (1-D) or ``.txt`` (one finite value a line)."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise TvauError(f"cannot read .npy ({exc})", path=path) from None
        if arr.ndim != 1:
            raise TvauError(f"expected a 1-D array, found shape {arr.shape}", path=path)
        if arr.dtype.kind not in "biuf":
            raise TvauError(f"expected numbers, found dtype {arr.dtype}", path=path)
        arr = arr.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise TvauError(f"value {arr[bad[0]]} at index {int(bad[0])} is not finite", path=path)
        return arr
    rows, _ = parse_rows(_read_text(path), path, ("value",))
    return rows[:, 0].copy()


def read_values_dir(directory: str | Path, what: str) -> dict[str, np.ndarray]:
    """``{video: values}`` from a folder of ``{video}.npy`` / ``{video}.txt`` files; other files are ignored."""
    d = Path(directory)
    if not d.is_dir():
        raise TvauError(
            f"{what} folder not found", path=d, fix="pass a folder of {video}.npy or {video}.txt files"
        )
    out: dict[str, np.ndarray] = {}
    for p in sorted(d.iterdir()):
        if p.suffix not in (".npy", ".txt") or not p.is_file():
            continue
        if p.stem in out:
            raise TvauError(
                f"video {p.stem!r} has both a .npy and a .txt file", path=p, fix="keep one file per video"
            )
        out[p.stem] = read_values_file(p)
    return out


def read_labels_dir(directory: str | Path) -> dict[str, np.ndarray]:
    """Per-video frame labels (0 normal, 1 abnormal) as int arrays; any other value is an error."""
    labels = read_values_dir(directory, "labels")
    for video, arr in labels.items():
        bad = np.flatnonzero((arr != 0) & (arr != 1))
        if bad.size:
            raise TvauError(
                f"video {video!r}: label {arr[bad[0]]:g} at frame {int(bad[0])} is not 0 or 1",
                path=directory,
                fix="labels are 0 (normal) or 1 (abnormal)",
            )
    return {v: a.astype(np.int64) for v, a in labels.items()}


def _fmt(v: float) -> str:
    # repr is the shortest string that reads back to the same float: written scores round-trip exactly.
    f = float(v)
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


def format_rows(rows: np.ndarray) -> str:
    """Rows as comma-separated lines (LF, trailing newline), numbers written so they read back exactly."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    return "".join(",".join(_fmt(v) for v in row) + "\n" for row in rows.tolist())


def write_detections_file(path: str | Path, rows: np.ndarray) -> None:
    """Write ``frame_id,x_min,y_min,x_max,y_max,score`` rows (an ``(n, 6)`` array) atomically."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    atomic_write_text(path, format_rows(rows))


def write_tracks_file(path: str | Path, rows: np.ndarray) -> None:
    """Write ``track_id,frame_id,x_min,y_min,x_max,y_max`` rows (an ``(n, 6)`` array) atomically."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    atomic_write_text(path, format_rows(rows))


def write_values_file(path: str | Path, values: np.ndarray) -> None:
    """Write a per-video 1-D array as ``.npy`` or ``.txt`` (one value a line) by the path's suffix."""
    path = Path(path)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if path.suffix == ".npy":
        buf = BytesIO()
        np.save(buf, values, allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    else:
        atomic_write_text(path, format_rows(values.reshape(-1, 1)))


def pair_by_video(
    labels: Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    *,
    labels_where: str,
    scores_where: str,
) -> list[str]:
    """The sorted common videos of labels and scores; a video on one side only or lengths that differ are errors."""
    only_l = sorted(set(labels) - set(scores))
    only_s = sorted(set(scores) - set(labels))
    if only_l:
        raise TvauError(
            f"video {only_l[0]!r} has labels but no scores", path=scores_where, fix="score every video"
        )
    if only_s:
        raise TvauError(f"video {only_s[0]!r} has scores but no labels", path=labels_where, fix="remove it")
    for v in sorted(labels):
        if len(labels[v]) != len(scores[v]):
            raise TvauError(
                f"video {v!r}: {len(labels[v])} labels but {len(scores[v])} scores",
                path=scores_where,
                fix="write one score per frame",
            )
    if not labels:
        raise TvauError(
            "no videos found", path=labels_where, fix="pass a folder of {video}.npy or {video}.txt files"
        )
    return sorted(labels)


def warn(msg: str) -> None:
    """Skip-and-go-on warnings of this area."""
    warnings.warn(msg, TvauWarning, stacklevel=3)
