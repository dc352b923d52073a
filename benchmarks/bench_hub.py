"""Benchmark: hub export, validation and `datasets.load_dataset` time, and bytes per sample.

Input (one of): ``--annotations DIR`` (an annotate output folder); ``--synth PRESET`` (default ``demo``: the
synthetic generator's UBnormal layout, annotated with the geometric backend, the demo dataset); or
``--fixture SCALE`` (the hub tests' record generator: 4 videos, 8 samples, 100 track rows of 32x24 masks per
unit). Times are wall-clock seconds of one run each; "load cold" converts the Parquet shards into a fresh
`datasets` cache, "load warm" reuses it.

    .venv/bin/python benchmarks/bench_hub.py [--synth demo | --fixture 250 | --annotations DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TVAU_NO_PROGRESS", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets

from tvau_bench.hub.export import export, read_annotations
from tvau_bench.hub.features import CONFIGS
from tvau_bench.hub.validate import validate_hub


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _fixture_annotations(dest: Path, scale: int) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from hub_fixtures import write_annotations

    return write_annotations(dest, scale=scale)


def _synth_annotations(work: Path, preset: str) -> tuple[Path, dict[str, float]]:
    from tvau_bench.annotate.pipeline import run as annotate
    from tvau_bench.annotate.recipe import load_recipe
    from tvau_bench.synth import generate

    _, t_gen = _timed(generate, work / "src", fmt="ubnormal", seed=0, preset=preset)
    recipe = work / "recipe.yaml"
    recipe.write_text("name: bench-geometric\nbackend: {kind: geometric}\n", encoding="utf-8")
    _, t_ann = _timed(annotate, load_recipe(recipe), work / "src" / "ubnormal", work / "ann")
    return work / "ann", {"synth_s": round(t_gen, 3), "annotate_s": round(t_ann, 3)}


def run(annotations: Path, work: Path) -> dict[str, Any]:
    """Export, validate and load once; return timings and sizes."""
    datasets.disable_progress_bars()
    ann, t_read = _timed(read_annotations, annotations)
    res, t_export = _timed(export, ann, work / "hub", repo_id="tvau/bench", check=False)
    rep, t_validate = _timed(validate_hub, res.out)
    if not rep.ok:
        raise SystemExit(rep.format())
    out: dict[str, Any] = {
        "read_annotations_s": round(t_read, 3),
        "export_s": round(t_export, 3),
        "validate_s": round(t_validate, 3),
        "configs": {},
    }
    n_samples = sum(st.num_examples for st in res.stats["samples"].values())
    for config in CONFIGS:
        stats = res.stats[config].values()
        rows = sum(st.num_examples for st in stats)
        nbytes = sum(st.file_bytes for st in stats)
        cache = work / f"cache-{config}"
        _, cold = _timed(datasets.load_dataset, str(res.out), config, cache_dir=str(cache))
        _, warm = _timed(datasets.load_dataset, str(res.out), config, cache_dir=str(cache))
        out["configs"][config] = {
            "rows": rows,
            "parquet_bytes": nbytes,
            "bytes_per_row": round(nbytes / max(rows, 1), 1),
            "shards": sum(len(st.files) for st in stats),
            "load_cold_s": round(cold, 3),
            "load_warm_s": round(warm, 3),
        }
    total = sum(p.stat().st_size for p in res.out.rglob("*") if p.is_file())
    out["samples"] = n_samples
    out["hub_bytes"] = total
    out["hub_bytes_per_sample"] = round(total / max(n_samples, 1), 1)
    out["export_ms_per_sample"] = round(1000 * t_export / max(n_samples, 1), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--annotations", type=Path, default=None, help="an annotate --out folder")
    src.add_argument("--synth", default=None, help="synthetic preset to generate and annotate (default demo)")
    src.add_argument("--fixture", type=int, default=None, help="units of the hub tests' record generator")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        work = Path(tmp)
        before: dict[str, Any] = {}
        if args.annotations is not None:
            ann, source = args.annotations, str(args.annotations)
        elif args.fixture is not None:
            ann, source = _fixture_annotations(work / "ann", args.fixture), f"hub fixture x{args.fixture}"
        else:
            preset = args.synth or "demo"
            ann, before = _synth_annotations(work, preset)
            source = f"synth preset {preset!r}, UBnormal layout, geometric annotate"
        result = {
            "input": source,
            "python": platform.python_version(),
            "datasets": datasets.__version__,
            **before,
            **run(ann, work),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
