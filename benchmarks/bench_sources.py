"""Benchmark: source reader throughput (frames/s) on data written with the package's own writers.

Writes one UBnormal video (real size 1280x720 by default, 30 fps, six moving objects, three abnormal rows
covering half the frames) and one ShanghaiTech test video (856x480, pixel masks for two moving blobs), then
times, each on a fresh reader (no warm caches):

- UBnormal: frame decoding (mp4v), the id-map scan (read every map, box every object), ``object_masks``
  per frame, ``reference_tracks`` (abnormal object-frames/s);
- ShanghaiTech: frame reading (jpg), target linking from the pixel masks (frames/s), ``reference_tracks``.

    .venv/bin/python benchmarks/bench_sources.py [--frames 90] [--width 1280 --height 720] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tvau_bench.sources import shanghaitech, ubnormal

NAME = "abnormal_scene_1_scenario_1"


def _scene(t: int, h: int, w: int, n_obj: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, size=(h, w, 3), dtype=np.uint8)
    starts = rng.integers(0, w // 2, size=n_obj)
    rows = rng.integers(0, h - h // 4, size=n_obj)
    frames, maps = [], []
    for f in range(t):
        img = base.copy()
        m = np.zeros((h, w), np.uint8)
        for k in range(n_obj):
            x0 = int(starts[k] + 3 * f) % (w - w // 12)
            y0 = int(rows[k])
            m[y0 : y0 + h // 5, x0 : x0 + w // 24] = k + 1
            img[m == k + 1] = (30 * k, 255 - 30 * k, 120)
        frames.append(img)
        maps.append(m)
    return frames, maps


def _time(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = fn()
    return time.perf_counter() - t0, n


def run(t: int, h: int, w: int, seed: int) -> dict:
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        frames, maps = _scene(t, h, w, 6, seed)
        tracks = [(2, 0, t // 2), (4, t // 4, t - 1), (5, 0, t // 3)]
        dt, _ = _time(lambda: ubnormal.write_video(root / "ub", NAME, frames, maps, tracks) or t)
        results["ubnormal_write"] = {"seconds": dt, "frames": t}
        ubnormal.write_split_lists(root / "ub", {"abnormal_test": [NAME]})
        ubnormal.write_object_classes(root / "ub", {NAME: {2: "car"}})

        def video():
            return ubnormal.UBnormalSource(root / "ub").video(NAME)

        results["ubnormal_frames"] = dict(
            zip(("seconds", "frames"), _time(lambda: sum(1 for _ in video().frames())), strict=True)
        )
        results["ubnormal_id_map_scan"] = dict(
            zip(("seconds", "frames"), _time(lambda: (video().objects(), t)[1]), strict=True)
        )
        results["ubnormal_object_masks"] = dict(
            zip(
                ("seconds", "frames"),
                _time(lambda: (lambda v: sum(1 for f in range(t) if v.object_masks(f)))(video())),
                strict=True,
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results["ubnormal_reference_tracks"] = dict(
                zip(("seconds", "frames"), _time(lambda: len(video().reference_tracks())), strict=True)
            )

        sh, sw = 480, 856
        s_frames, s_maps = _scene(t, sh, sw, 2, seed + 1)
        pm = np.stack(s_maps).astype(np.uint8)
        pm[pm > 0] = 1
        dt, _ = _time(lambda: shanghaitech.write_test_video(root / "st", "01_0001", s_frames, pm) or t)
        results["shanghaitech_write"] = {"seconds": dt, "frames": t}

        def st_video():
            return shanghaitech.ShanghaiTechSource(root / "st").video("01_0001")

        results["shanghaitech_frames"] = dict(
            zip(("seconds", "frames"), _time(lambda: sum(1 for _ in st_video().frames())), strict=True)
        )
        results["shanghaitech_link_targets"] = dict(
            zip(("seconds", "frames"), _time(lambda: (st_video().objects(), t)[1]), strict=True)
        )
        results["shanghaitech_reference_tracks"] = dict(
            zip(("seconds", "frames"), _time(lambda: len(st_video().reference_tracks())), strict=True)
        )
    for r in results.values():
        r["frames_per_s"] = r["frames"] / r["seconds"] if r["seconds"] else float("inf")
    return {
        "frames": t,
        "ubnormal_size": [w, h],
        "shanghaitech_size": [856, 480],
        "machine": platform.processor() or platform.machine(),
        "results": results,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    out = run(args.frames, args.height, args.width, args.seed)
    print(f"{out['frames']} frames; UBnormal {args.width}x{args.height}, ShanghaiTech 856x480")
    print(f"{'measure':32} {'items':>7} {'seconds':>8} {'items/s':>9}")
    for name, r in out["results"].items():
        print(f"{name:32} {r['frames']:>7} {r['seconds']:>8.2f} {r['frames_per_s']:>9.1f}")
    print("items are frames, except reference_tracks: track rows (abnormal object-frames)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
