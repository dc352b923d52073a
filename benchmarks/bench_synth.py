"""Benchmark: synthetic scene generator throughput in frames per second.

Two measurements on the same preset: *render* (plan + draw + id maps + truth boxes, in memory, no files) and
*generate* (the full ``tvau_bench.synth.generate`` of both layouts: render plus the sources writers: mp4/avi
encoding, one PNG id map per UBnormal frame, one JPEG per ShanghaiTech test frame, npy masks, truth.jsonl).
Frames per second counts rendered frames (both layouts together; retried clips are not counted). Wall-clock
seconds of one run each.

    .venv/bin/python benchmarks/bench_synth.py [--preset ci] [--seed 0] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TVAU_NO_PROGRESS", "1")

from tvau_bench.synth import generate
from tvau_bench.synth.writer import iter_clips, make_config


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ci")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args()
    cfg = make_config(args.preset)

    t = time.perf_counter()
    frames = 0
    for fmt in ("ubnormal", "shanghaitech"):
        for _, clip in iter_clips(fmt, cfg, args.seed):
            frames += clip.num_frames
    render_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        generate(Path(tmp) / "out", fmt="both", seed=args.seed, preset=args.preset)
        generate_s = time.perf_counter() - t
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())

    result = {
        "preset": args.preset,
        "size": f"{cfg.width}x{cfg.height}",
        "videos": cfg.ub_train + cfg.ub_validation + cfg.ub_test + cfg.st_train + cfg.st_test,
        "frames": frames,
        "render_s": round(render_s, 2),
        "render_fps": round(frames / render_s, 1),
        "generate_s": round(generate_s, 2),
        "generate_fps": round(frames / generate_s, 1),
        "output_mb": round(size / 1e6, 1),
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    print(
        f"synth {result['preset']} ({result['size']}, {result['videos']} videos, {frames} frames): "
        f"render {result['render_fps']} frames/s ({render_s:.1f} s), "
        f"generate both layouts {result['generate_fps']} frames/s ({generate_s:.1f} s), {result['output_mb']} MB"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
