"""``tvau-bench annotate`` (build the dataset configs from a source) and ``annotate-eval`` (fidelity vs truth).

Exit status of ``annotate``: 0 when every request was answered; 3 when the run finished but some requests
failed after all retries (they are printed, quarantined and listed under ``requests.failed`` in report.json,
so the outputs are partial: rerun to retry them, or ``export --allow-partial``); 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys

from .._ray import add_engine_args

EXIT_PARTIAL = (
    3  # finished, but some requests failed for good (report.json lists them): the outputs are partial
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "annotate",
        help="annotate a source dataset: videos/samples/tracks JSONL, quarantine and report",
        description="Run the three-stage annotation pipeline of RECIPE (a YAML path or a shipped recipe name, "
        "e.g. 'synthetic') on a source root (UBnormal or ShanghaiTech layout). Every model request is cached "
        "under OUT/cache (or --cache): kill and rerun the same command to resume.",
        epilog="Exit status: 0 = every request answered; 3 = finished, but some requests failed after all "
        "retries (listed on stderr and under requests.failed in OUT/report.json; the outputs are partial and "
        "`tvau-bench export` refuses them without --allow-partial; rerun to retry only those); "
        "2 = usage or input error.",
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
    add_engine_args(p, "videos")
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
    from .backends import make_backend
    from .pipeline import run
    from .recipe import load_recipe

    overrides = {"backend": {"endpoints": args.endpoint}} if args.endpoint else None
    recipe = load_recipe(args.recipe, overrides)
    backend = make_backend(recipe)  # a dead server is said at once, not after every request's retries
    try:
        backend.check()
    finally:
        backend.close()
    if args.engine == "ray":
        from .engine_ray import run_ray

        report = run_ray(
            recipe,
            args.source,
            args.out,
            cache_dir=args.cache,
            videos=args.video,
            address=args.ray_address,
            workers=args.workers,
        )
    else:
        report = run(recipe, args.source, args.out, cache_dir=args.cache, videos=args.video)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        c, r, s3 = report["counts"], report["requests"], report["stages"]["stage3"]
        # Targets and quarantine notes are counted apart: one target can leave several notes (e.g. outliers).
        print(
            f"annotated {c['videos']} videos, {c['targets']} targets ({c['abnormal_targets']} abnormal; "
            f"{s3['verified']} verified, {s3['flagged']} flagged, {s3['quarantined']} quarantined): "
            f"{c['samples_yes']} Yes + {c['samples_no']} No samples, {c['track_rows']} track rows, "
            f"{c['quarantined_records']} notes in quarantine.jsonl; requests sent {r['requests_total']}, "
            f"from cache {r['cache_hits_total']}, failed {sum(r['failures'].values())} -> {args.out}",
            file=sys.stderr,
        )
    failed = report["requests"]["failed"]
    if failed:
        print(failure_summary(failed, args.out), file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def failure_summary(failed: list[dict], out: str, shown: int = 10) -> str:
    """Which requests (and videos) failed for good, in a few lines for stderr."""
    videos = sorted({f["video_id"] for f in failed})
    lines = [
        f"annotate: {len(failed)} request(s) of {len(videos)} video(s) failed after all retries; "
        f"the outputs in {out} are partial (exit status {EXIT_PARTIAL})",
        "  videos: " + ", ".join(videos),
    ]
    lines += [f"  {f['stage']} {f['item']}: {f['error']}" for f in failed[:shown]]
    if len(failed) > shown:
        lines.append(f"  ... and {len(failed) - shown} more under requests.failed in {out}/report.json")
    lines.append("  rerun the same command to retry only these (answered requests are cached)")
    return "\n".join(lines)


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
