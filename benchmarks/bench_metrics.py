"""Benchmark: vectorised RBDC/TBDC against the plain per-detection loop, side by side, at UBnormal test scale.

Synthetic data shaped like the UBnormal test set (211 videos, about 92,000 frames, about 80,000 ground-truth
regions in tracks with gaps, 150,000 scored detections: half jittered copies of ground-truth boxes, half random
boxes, scores rounded to 1e-3 so that ties occur). Both implementations run in full on the same input; the
results must agree to 1e-9. Times are wall-clock, best of ``--repeat`` runs for the fast one and of half as many for
the loop (the literal loop runs once); peak memory is
``tracemalloc``'s peak of Python/numpy allocations during a separate run of each.

    .venv/bin/python benchmarks/bench_metrics.py [--scale 1.0] [--seed 0] [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from tvau_bench.metrics.region import region_metrics
from tvau_bench.metrics.region_reference import rbdc_tbdc_loop

# UBnormal test split (FORMATS.md / paper Table 1), rounded.
VIDEOS, ABNORMAL_VIDEOS, FRAMES, REGIONS, DETECTIONS = 211, 158, 92_000, 80_000, 150_000
W, H = 1080, 720


def synth(scale: float = 1.0, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Tracks, detections (per video, reference row formats) and the total frame count."""
    rng = np.random.default_rng(seed)
    n_vid = max(2, round(VIDEOS * scale))
    n_abn = max(1, round(ABNORMAL_VIDEOS * scale))
    lengths = rng.integers(300, 573, size=n_vid)
    lengths = np.maximum(50, np.round(lengths * (FRAMES * scale / lengths.sum()))).astype(int)
    regions_per_video = REGIONS * scale / n_abn
    tracks: dict[str, np.ndarray] = {}
    for v in range(n_abn):
        rows = []
        t = 0
        left = regions_per_video
        while left >= 1:
            n = int(lengths[v])
            # The last track of a video is shortened so the total stays near the UBnormal count.
            length = min(int(rng.integers(30, min(n, 300))), max(2, round(left / 0.95)))
            start = int(rng.integers(0, n - length + 1))
            frames = np.arange(start, start + length)
            frames = frames[rng.random(length) > 0.05]  # gaps: the object is absent from some frames
            size = rng.integers(20, 120, size=2)
            pos = rng.uniform([0, 0], [W - size[0], H - size[1]]) + np.cumsum(
                rng.normal(0, 2, (len(frames), 2)), 0
            )
            pos = np.clip(np.round(pos), 0, [W - size[0] - 1, H - size[1] - 1])
            r = np.column_stack([np.full(len(frames), t), frames, pos, pos + size])
            rows.append(r)
            left -= len(r)
            t += 1
        tracks[f"{v:03d}_abnormal"] = np.concatenate(rows).astype(np.float64)
    all_regions = [(name, r) for name, r in tracks.items()]
    n_det = round(DETECTIONS * scale)
    per_video = np.bincount(rng.integers(0, n_vid, size=n_det), minlength=n_vid)
    names = [f"{v:03d}_abnormal" if v < n_abn else f"{v:03d}_normal" for v in range(n_vid)]
    detections: dict[str, np.ndarray] = {}
    for v, name in enumerate(names):
        k = int(per_video[v])
        frame = rng.integers(0, lengths[v], size=k).astype(np.float64)
        size = rng.integers(15, 150, size=(k, 2))
        xy = rng.uniform(0, 1, size=(k, 2)) * ([W, H] - size)
        boxes = np.column_stack([xy, xy + size])
        score = rng.beta(2, 5, size=k)
        if v < n_abn:  # half of an abnormal video's detections sit near its ground truth, scored higher
            gt = all_regions[v][1]
            near = rng.random(k) < 0.5
            pick = gt[rng.integers(0, len(gt), size=int(near.sum()))]
            jitter = rng.normal(0, 8, size=(int(near.sum()), 4))
            frame[near] = pick[:, 1]
            boxes[near] = pick[:, 2:6] + jitter
            boxes[near, 2:] = np.maximum(boxes[near, 2:], boxes[near, :2])
            score[near] = rng.beta(5, 2, size=int(near.sum()))
        detections[name] = np.column_stack([frame, np.round(boxes), np.round(score, 3)])
    return tracks, detections, int(lengths.sum())


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def _peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of UBnormal test scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=5, help="runs of the fast implementation (best is kept)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    tracks, dets, num_frames = synth(args.scale, args.seed)
    n_reg = sum(len(r) for r in tracks.values())
    n_det = sum(len(r) for r in dets.values())
    n_trk = sum(len(np.unique(r[:, 0])) for r in tracks.values())
    print(
        f"input: {len(dets)} videos, {num_frames} frames, {n_reg} regions in {n_trk} tracks, {n_det} detections",
        flush=True,
    )

    fast, t_fast = _timed(lambda: region_metrics(tracks, dets, num_frames), args.repeat)
    loop, t_loop = _timed(lambda: rbdc_tbdc_loop(tracks, dets, num_frames), max(1, args.repeat // 2))
    lit, t_lit = _timed(lambda: rbdc_tbdc_loop(tracks, dets, num_frames, recount=True), 1)
    for name, other in (("loop", loop), ("literal loop", lit)):
        for key in ("rbdc", "tbdc"):
            diff = abs(getattr(fast, key) - other[key])
            assert diff <= 1e-9, f"{key} differs from the {name}: {getattr(fast, key)} vs {other[key]}"
    peak_fast = _peak(lambda: region_metrics(tracks, dets, num_frames))
    peak_loop = _peak(lambda: rbdc_tbdc_loop(tracks, dets, num_frames))
    input_bytes = sum(a.nbytes for a in tracks.values()) + sum(a.nbytes for a in dets.values())
    fig = {
        "videos": len(dets),
        "frames": num_frames,
        "regions": n_reg,
        "tracks": n_trk,
        "detections": n_det,
        "rbdc": fast.rbdc,
        "tbdc": fast.tbdc,
        "fast_s": round(t_fast, 4),
        "loop_s": round(t_loop, 3),
        "literal_loop_s": round(t_lit, 3),
        "speedup_vs_loop": round(t_loop / t_fast, 1),
        "speedup_vs_literal_loop": round(t_lit / t_fast, 1),
        "peak_mib_fast": round(peak_fast / 2**20, 1),
        "peak_mib_loop": round(peak_loop / 2**20, 1),
        "input_mib": round(input_bytes / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": f"{platform.processor() or platform.machine()}, python {platform.python_version()}",
    }
    print(json.dumps(fig, indent=2))
    print(
        "\n| implementation | time (s) | speed-up | peak traced memory (MiB) |\n|---|---|---|---|\n"
        f"| vectorised `region_metrics` | {t_fast:.3f} | 1x | {fig['peak_mib_fast']} |\n"
        f"| per-detection loop (incremental track count) | {t_loop:.2f} | {fig['speedup_vs_loop']}x slower |"
        f" {fig['peak_mib_loop']} |\n"
        f"| per-detection loop, literal step 4 (recount every track) | {t_lit:.2f} |"
        f" {fig['speedup_vs_literal_loop']}x slower | - |"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(fig, fh, indent=2)
    return fig


if __name__ == "__main__":
    main()
