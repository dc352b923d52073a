"""``tvau-bench annotate`` (build the dataset configs from a source) and ``annotate-eval`` (fidelity vs truth)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "annotate",
        help="annotate a source dataset: videos/samples/tracks JSONL, quarantine and report",
        description="Run the three-stage annotation pipeline of RECIPE (a YAML path or a shipped recipe name, "
        "e.g. 'synthetic') on a source root (UBnormal or ShanghaiTech layout). Every model request is cached "
        "under OUT/cache (or --cache): kill and rerun the same command to resume.",
    )
    p.add_argument(
        "recipe", nargs="?", default="synthetic", help="recipe YAML or shipped name (default: synthetic)"
    )
    p.add_argument("--source", required=True, help="source dataset root")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--cache", default=None, help="request cache folder (default: OUT/cache)")
    p.add_argument("--video", action="append", default=None, help="only this video id (repeatable)")
    p.add_argument(
        "--endpoint", action="append", default=None, help="override the recipe's endpoints (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_annotate)

    e = sub.add_parser(
        "annotate-eval",
        help="score an annotate output against the synthetic generator's truth.jsonl",
        description="Match annotated targets to truth objects and report category, colour, direction and "
        "enter/exit accuracy (percent) and BLEU-4 of appearance and trajectory sentences.",
    )
    e.add_argument("out", help="annotate output folder (with videos.jsonl)")
    e.add_argument("--truth", required=True, help="truth.jsonl written by `tvau-bench synth`")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_evaluate)


def _annotate(args: argparse.Namespace) -> int:
    from .pipeline import run
    from .recipe import load_recipe

    overrides = {"backend": {"endpoints": args.endpoint}} if args.endpoint else None
    recipe = load_recipe(args.recipe, overrides)
    report = run(recipe, args.source, args.out, cache_dir=args.cache, videos=args.video)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        c, r = report["counts"], report["requests"]
        print(
            f"annotated {c['videos']} videos, {c['targets']} targets ({c['abnormal_targets']} abnormal): "
            f"{c['samples_yes']} Yes + {c['samples_no']} No samples, {c['track_rows']} track rows, "
            f"{c['quarantined_records']} quarantine records; requests sent {r['requests_total']}, "
            f"from cache {r['cache_hits_total']}, failed {sum(r['failures'].values())} -> {args.out}",
            file=sys.stderr,
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate

    result = evaluate(args.out, args.truth)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for k in (
            "category_accuracy",
            "colour_accuracy",
            "direction_accuracy",
            "enter_exit_accuracy",
            "appearance_bleu4",
            "trajectory_bleu4",
        ):
            print(f"{k:22s} {result[k]:7.2f}")
        print(f"{'matched targets':22s} {result['matched']:7d} of {result['truth_objects']}")
        print(
            f"{'matched abnormal':22s} {result['matched_abnormal']:7d} of {result['truth_abnormal_objects']}"
        )
    return 0
