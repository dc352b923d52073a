"""``tvau-bench sources``: inspect a dataset root, and write reference ground-truth tracks for RBDC/TBDC."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from ..errors import TvauWarning


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sources", help="inspect UBnormal / ShanghaiTech roots, write reference tracks"
    )
    sub = parser.add_subparsers(dest="sources_command", required=True, metavar="SUBCOMMAND")

    info = sub.add_parser("info", help="detect the layout; print per-split counts and every layout problem")
    info.add_argument(
        "root", help="dataset root (UBnormal: holds Scene1..; ShanghaiTech: holds training/, testing/)"
    )
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.add_argument(
        "--deep",
        action="store_true",
        help="also decode every video and frame image to find truncated files (slow)",
    )
    info.add_argument("--strict", action="store_true", help="exit with status 1 when any problem is found")
    info.set_defaults(func=_info)

    tracks = sub.add_parser(
        "tracks",
        help="write {video}.txt reference tracks (track_id,frame_id,x_min,y_min,x_max,y_max) per abnormal video",
    )
    tracks.add_argument("root", help="dataset root")
    tracks.add_argument("--split", default="test", choices=["train", "validation", "test"])
    tracks.add_argument("--out", required=True, help="output folder")
    tracks.set_defaults(func=_tracks)


def _info(args: argparse.Namespace) -> int:
    from .layout import open_source
    from .report import format_report

    source = open_source(args.root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TvauWarning)  # the report lists them
        report = source.report(deep=args.deep)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print(format_report(report))
    return 1 if args.strict and report.problems else 0


def _tracks(args: argparse.Namespace) -> int:
    from .._io import atomic_write_text
    from ..progress import progress
    from .layout import open_source

    source = open_source(args.root)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total_frames = written = skipped = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TvauWarning)
        videos = source.videos(args.split)
        for video in progress(videos, desc=f"tracks {args.split}", unit="video"):
            total_frames += video.num_frames
            rows = video.reference_tracks()
            skipped += getattr(video, "reference_skipped", 0)
            if not rows:
                continue
            text = "".join(f"{r.track_id},{r.frame},{r.x_min},{r.y_min},{r.x_max},{r.y_max}\n" for r in rows)
            atomic_write_text(out / f"{video.video_id}.txt", text)
            written += 1
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"{source.layout} {args.split}: {len(videos)} videos, {written} tracks files written to {out}")
    if skipped:
        print(f"skipped {skipped} abnormal frame(s) where the object is absent from its map", file=sys.stderr)
    print(f"total frames: {total_frames}")
    return 0
