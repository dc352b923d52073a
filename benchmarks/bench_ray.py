"""``annotate --engine ray`` against the default engine: source frames/s on a local Ray cluster.

The geometric backend on the default synthetic UBnormal-layout set (the CPU half of the pipeline: decoding,
id-map and mask scanning, views, geometry), once with the single-process engine and once per worker count with
the Ray engine (one cluster, started once and timed apart). Every Ray run's outputs are checked byte for byte
against the default engine's. The curve is bounded by the cores of the machine: ``os.cpu_count()`` is printed.

    .venv/bin/python benchmarks/bench_ray.py [--workers 1 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TVAU_NO_PROGRESS", "1")

from tvau_bench.annotate.pipeline import OUTPUTS, run
from tvau_bench.annotate.recipe import load_recipe


def _files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in OUTPUTS if n != "report.json"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import ray

    from tvau_bench._ray import local_cpus
    from tvau_bench.annotate.engine_ray import run_ray
    from tvau_bench.synth import generate

    recipe = load_recipe("synthetic")
    result: dict = {"cores": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate(work / "synth", fmt="ubnormal", seed=0)
        src = work / "synth" / "ubnormal"
        t0 = time.perf_counter()
        report = run(recipe, src, work / "default")
        dt = time.perf_counter() - t0
        frames = report["counts"]["frames"]
        result.update(videos=report["counts"]["videos"], frames=frames)
        result["runs"].append(
            {"engine": "default", "workers": 1, "s": round(dt, 2), "fps": round(frames / dt, 1)}
        )
        t0 = time.perf_counter()
        ray.init(num_cpus=local_cpus(max(args.workers)), include_dashboard=False, logging_level="WARNING")
        result["ray_start_s"] = round(time.perf_counter() - t0, 2)
        try:
            for n in args.workers:
                out = work / f"ray{n}"
                t0 = time.perf_counter()
                run_ray(recipe, src, out, workers=n)
                dt = time.perf_counter() - t0
                if _files(out) != _files(work / "default"):
                    print(f"ray with {n} workers: outputs differ from the default engine", file=sys.stderr)
                    return 1
                result["runs"].append(
                    {"engine": "ray", "workers": n, "s": round(dt, 2), "fps": round(frames / dt, 1)}
                )
        finally:
            ray.shutdown()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['videos']} videos, {frames} frames, {result['cores']} cores; ray start {result['ray_start_s']} s"
        )
        for r in result["runs"]:
            print(
                f"{r['engine']:8s} workers={r['workers']}  {r['s']:7.2f} s  {r['fps']:7.1f} frames/s  (outputs identical)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
