"""Annotation throughput.

1. Whole pipeline with the geometric backend on the default synthetic UBnormal-layout set: source frames/s.
2. The openai backend against the loopback server with a fixed latency L and concurrency C: requests/s against
   the ideal C/L (acceptance: at least 90%), for one endpoint and for two endpoints sharing the work.

    .venv/bin/python benchmarks/bench_annotate.py [--latency 0.1] [--concurrency 8] [--requests 400] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("TVAU_NO_PROGRESS", "1")

import cv2
import numpy as np
from loopback_openai import LoopbackServer

from tvau_bench.annotate.backends.base import Request
from tvau_bench.annotate.backends.openai_backend import OpenAIBackend
from tvau_bench.annotate.recipe import BackendConfig, load_recipe

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}},
}


def bench_pipeline(workdir: Path) -> dict:
    from tvau_bench.annotate.pipeline import run
    from tvau_bench.synth import generate

    generate(workdir / "synth", fmt="ubnormal", seed=0)
    t0 = time.perf_counter()
    report = run(load_recipe("synthetic"), workdir / "synth" / "ubnormal", workdir / "out")
    dt = time.perf_counter() - t0
    frames = report["counts"]["frames"]
    return {
        "videos": report["counts"]["videos"],
        "frames": frames,
        "targets": report["counts"]["targets"],
        "seconds": round(dt, 2),
        "frames_per_second": round(frames / dt, 1),
    }


def bench_openai(latency: float, concurrency: int, n: int, endpoints: int) -> dict:
    img = cv2.imencode(".jpg", np.full((224, 224, 3), 128, np.uint8))[1].tobytes()
    reqs = [Request("stage1", f"r{i}", "system", f"question {i}", (img,), SCHEMA) for i in range(n)]
    servers = [LoopbackServer(lambda body: {"ok": True}, latency=latency).start() for _ in range(endpoints)]
    try:
        cfg = BackendConfig(
            kind="openai", model="bench", endpoints=tuple(s.url for s in servers), max_concurrency=concurrency
        )
        backend = OpenAIBackend(cfg)
        backend.answer_many(reqs[: concurrency * endpoints])  # warm up connections and threads
        t0 = time.perf_counter()
        out = backend.answer_many(reqs)
        dt = time.perf_counter() - t0
    finally:
        for s in servers:
            s.stop()
    assert all(r.ok for r in out)
    ideal = concurrency * endpoints / latency
    rate = n / dt
    return {
        "latency_s": latency,
        "concurrency_per_endpoint": concurrency,
        "endpoints": endpoints,
        "requests": n,
        "seconds": round(dt, 3),
        "requests_per_second": round(rate, 1),
        "ideal_C_over_L": round(ideal, 1),
        "efficiency": round(rate / ideal, 3),
        "max_in_flight": max(s.max_in_flight() for s in servers),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results: dict = {}
    if not args.skip_pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            results["pipeline_geometric"] = bench_pipeline(Path(tmp))
    results["openai_loopback"] = [
        bench_openai(args.latency, args.concurrency, args.requests, 1),
        bench_openai(args.latency, args.concurrency, args.requests, 2),
    ]
    ok = all(r["efficiency"] >= 0.9 for r in results["openai_loopback"])
    results["openai_throughput_ok"] = ok
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        if "pipeline_geometric" in results:
            p = results["pipeline_geometric"]
            print(
                f"pipeline (geometric): {p['frames']} frames, {p['videos']} videos in {p['seconds']} s "
                f"= {p['frames_per_second']} frames/s"
            )
        for r in results["openai_loopback"]:
            print(
                f"openai vs loopback: L={r['latency_s']}s C={r['concurrency_per_endpoint']}x{r['endpoints']} "
                f"endpoint(s): {r['requests_per_second']} req/s of ideal {r['ideal_C_over_L']} "
                f"({100 * r['efficiency']:.1f}%)"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
