"""CPU AHD vs the classical baseline on the default synthetic source (UBnormal layout).

Generates the default synthetic set (``tvau_bench.synth.generate``, preset ``ci``), trains the CPU AHD
(``tvau-bench train ahd`` defaults, at most ``--max-minutes``), runs detection on the test split for the AHD and
for the classical motion baseline, scores both with the metrics package, and prints the numbers, the training
time and whether the acceptance targets hold (micro AUC >= 0.90, RBDC >= 0.50, TBDC >= 0.70, and AHD above the
baseline on all three). A rerun reuses the generated data and resumes (or reuses) the finished training.

    python benchmarks/bench_ahd.py [--work DIR (default demo_out/bench_ahd, git-ignored)] [--max-minutes 10] [--threads 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TARGETS = {"micro_auc": 0.90, "rbdc": 0.50, "tbdc": 0.70}


def main(argv: list[str] | None = None) -> dict:
    import torch

    from tvau_bench.models.classical import classical_baseline
    from tvau_bench.models.detect import ahd_heatmap_fn, run_detection
    from tvau_bench.models.train_ahd import AHDConfig, load_ahd, train_ahd
    from tvau_bench.sources import open_source
    from tvau_bench.synth import generate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path("demo_out/bench_ahd"))
    p.add_argument("--max-minutes", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=None, help="override the default epoch count")
    p.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    root = args.work / "synth" / "ubnormal"
    if not (root / "truth.jsonl").is_file():
        generate(args.work / "synth", fmt="ubnormal", seed=args.seed)
    source = open_source(root)
    cfg = AHDConfig()
    if args.epochs:
        cfg.epochs = args.epochs
    ckpt = args.work / "ahd_ckpt"
    t0 = time.monotonic()
    res = train_ahd(root, ckpt, cfg, max_minutes=args.max_minutes)
    wall = time.monotonic() - t0
    model, mcfg = load_ahd(ckpt)
    ahd = run_detection(
        source, "test", args.work / "det_ahd", ahd_heatmap_fn(model, mcfg), max_side=mcfg.max_side
    )
    t1 = time.monotonic()
    classical = run_detection(
        source,
        "test",
        args.work / "det_classical",
        classical_baseline(source, 192),
        max_side=192,
    )
    classical_s = time.monotonic() - t1
    a, c = ahd["metrics"], classical["metrics"]
    checks = {f"{k} >= {v}": a[k] >= v for k, v in TARGETS.items()}
    checks.update({f"{k} beats classical": a[k] > c[k] for k in TARGETS})
    out = {
        "data": str(root),
        "test_videos": ahd["videos"],
        "test_frames": ahd["num_frames"],
        "train_seconds": round(res["seconds"], 1),
        "train_wall_seconds_this_run": round(wall, 1),
        "epochs": res["epochs"],
        "steps": res["steps"],
        "stopped": res["stopped"],
        "threads": args.threads,
        "ahd": a,
        "classical": c,
        "classical_seconds": round(classical_s, 1),
        "checks": checks,
        "all_pass": all(checks.values()),
    }
    print(
        f"training: {out['train_seconds']} s, {res['epochs']} epochs, {res['steps']} steps ({res['stopped']})"
    )
    print(f"{'':10} {'microAUC':>9} {'macroAUC':>9} {'RBDC':>7} {'TBDC':>7}")
    for name, m in (("AHD", a), ("classical", c)):
        print(f"{name:10} {m['micro_auc']:9.4f} {m['macro_auc']:9.4f} {m['rbdc']:7.4f} {m['tbdc']:7.4f}")
    for k, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {k}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return out


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(0 if result["all_pass"] else 1)
