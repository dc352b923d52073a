"""``tvau-bench synth``: write the synthetic scenes in the UBnormal and/or ShanghaiTech layouts."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .writer import FORMATS, PRESETS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` subcommand."""
    p = subparsers.add_parser(
        "synth",
        help="generate synthetic anomaly scenes in the UBnormal / ShanghaiTech layouts",
        description="Procedural scenes (people, bicycles, skateboards, cars; normal and abnormal behaviour) written "
        "in the source layouts with a truth.jsonl per root. Deterministic from --seed and the sizes.",
    )
    p.add_argument(
        "--format", dest="fmt", choices=FORMATS, default="both", help="layout(s) to write (default both)"
    )
    p.add_argument(
        "--out", required=True, type=Path, help="output folder (gets ubnormal/ and/or shanghaitech/)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--preset", choices=sorted(PRESETS), default="ci", help="base sizes: ci (small, default) or demo"
    )
    size = p.add_argument_group("sizes (override the preset)")
    size.add_argument("--width", type=int, help="frame width in pixels")
    size.add_argument("--height", type=int, help="frame height in pixels")
    size.add_argument("--frames", type=int, help="frames per video")
    size.add_argument("--scenes", type=int, help="number of camera scenes")
    size.add_argument("--ub-train", type=int, help="UBnormal training videos (about half abnormal)")
    size.add_argument("--ub-val", type=int, dest="ub_validation", help="UBnormal validation videos")
    size.add_argument("--ub-test", type=int, help="UBnormal test videos")
    size.add_argument("--st-train", type=int, help="ShanghaiTech training videos (normal)")
    size.add_argument("--st-test", type=int, help="ShanghaiTech test videos (about two thirds abnormal)")
    size.add_argument("--anomalies-per-video", type=int, help="anomalies in an abnormal video")
    p.set_defaults(func=_run)


_SIZE_KEYS = (
    "width",
    "height",
    "frames",
    "scenes",
    "ub_train",
    "ub_validation",
    "ub_test",
    "st_train",
    "st_test",
    "anomalies_per_video",
)


def _run(args: argparse.Namespace) -> int:
    from .._io import iter_jsonl
    from . import generate

    sizes = {k: getattr(args, k) for k in _SIZE_KEYS}
    t0 = time.perf_counter()
    out = generate(args.out, fmt=args.fmt, seed=args.seed, preset=args.preset, **sizes)
    took = time.perf_counter() - t0
    for name in ("ubnormal", "shanghaitech"):
        truth = out / name / "truth.jsonl"
        if args.fmt in (name, "both") and truth.is_file():
            rows = [r for _, r in iter_jsonl(truth)]
            videos = {r["video_id"] for r in rows}
            abnormal = sum(1 for r in rows if r["abnormal_intervals"])
            print(f"{out / name}: {len(videos)} videos, {len(rows)} objects ({abnormal} abnormal)")
    print(f"done in {took:.1f} s")
    return 0
