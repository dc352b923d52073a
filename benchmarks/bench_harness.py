"""Harness throughput against a loopback OpenAI server with latency L and concurrency C.

Reports requests/s against the ideal C/L (samples are dialogues: turns of one sample are sequential, samples
run in parallel), the cost of a resumed run with every sample already logged, and the scoring time.

    .venv/bin/python benchmarks/bench_harness.py [--latency 0.05] [--samples 120] [--json]
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

from harness_fixtures import records, write_model, write_source
from loopback_openai import LoopbackServer

from tvau_bench._io import write_jsonl
from tvau_bench.harness.model_config import load_model_config
from tvau_bench.harness.runner import RunOptions, results_from_log, run


def build(workdir: Path, n_samples: int) -> tuple[Path, Path]:
    """The test fixture's videos, with the test samples repeated under new ids up to ``n_samples``."""
    samples, videos = records()
    test = [s for s in samples if s["split"] == "test"]
    extra = []
    for i in range(n_samples):
        s = dict(test[i % len(test)])
        s["sample_id"] = f"{s['sample_id']}-r{i}"
        extra.append(s)
    data = workdir / "dataset"
    write_jsonl(data / "samples.jsonl", [s for s in samples if s["split"] != "test"] + extra)
    write_jsonl(data / "videos.jsonl", videos)
    return data, write_source(workdir / "source")


def one(data: Path, source: Path, workdir: Path, latency: float, concurrency: int) -> dict:
    with LoopbackServer(lambda body: "Yes. A red square.", check_shape=False, latency=latency) as srv:
        path = write_model(
            workdir / f"m{concurrency}.yaml",
            "loopback",
            "openai",
            adapter_args={"base_url": srv.url, "max_concurrency": concurrency},
        )
        config = load_model_config(path)
        out = workdir / f"run-c{concurrency}"
        t0 = time.perf_counter()
        run(config, RunOptions(dataset=str(data), out=out, video_root=source))
        wall = time.perf_counter() - t0
        n = len(srv.served())
        t1 = time.perf_counter()
        run(config, RunOptions(dataset=str(data), out=out, video_root=source))
        resume = time.perf_counter() - t1
    t2 = time.perf_counter()
    results_from_log(out)
    score = time.perf_counter() - t2
    return {
        "concurrency": concurrency,
        "requests": n,
        "wall_s": round(wall, 3),
        "requests_per_s": round(n / wall, 2),
        "ideal_requests_per_s": round(concurrency / latency, 2),
        "efficiency": round(n / wall / (concurrency / latency), 3),
        "resume_all_logged_s": round(resume, 3),
        "score_s": round(score, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, source = build(work, args.samples)
        rows = [one(data, source, work, args.latency, c) for c in (1, 8)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(
            f"C={r['concurrency']}: {r['requests']} requests in {r['wall_s']} s = {r['requests_per_s']}/s "
            f"(ideal {r['ideal_requests_per_s']}/s, {r['efficiency']:.0%}); rerun with all logged "
            f"{r['resume_all_logged_s']} s; score {r['score_s']} s"
        )


if __name__ == "__main__":
    main()
