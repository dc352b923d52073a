"""The layout report behind ``tvau-bench sources info``: its record, the checks every layout shares, and its text.

Each source module builds its own report (``report_ubnormal``, ``report_shanghaitech``) from these pieces. A
report never stops at the first problem: every check catches the reader's :class:`TvauError`, records its
message (which names the file and the fix) and goes on, so one run lists everything wrong with a root.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import TvauError
from . import video as vio
from .base import LayoutReport

COUNT_KEYS = ("videos", "frames", "abnormal_frames", "anomalies", "regions")


@dataclass
class SourceReport(LayoutReport):
    """A :class:`LayoutReport` with informational notes (where lists came from, mask layouts) besides problems."""

    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def zero_counts() -> dict[str, int]:
    """The per-split counts every report starts from (:data:`COUNT_KEYS` at 0)."""
    return dict.fromkeys(COUNT_KEYS, 0)


def _check_decodable(path: Path, expected: int, problems: list[str]) -> None:
    got = vio.count_decodable(path)
    if got != expected:
        problems.append(
            f"{path}: OpenCV reports {expected} frames but decodes {got}: the video is truncated "
            "(fix: re-download or re-extract it)"
        )


def frame_count(video, problems: list[str], *, deep: bool) -> int | None:
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


def format_report(rep: LayoutReport) -> str:
    """Human-readable report: a counts table per split, then notes and problems."""
    lines = [f"layout: {rep.layout}", f"root:   {rep.root}"]
    keys = list(COUNT_KEYS)
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
