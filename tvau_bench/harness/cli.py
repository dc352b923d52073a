"""``tvau-bench run``, ``tvau-bench score`` and ``tvau-bench submit``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._ray import add_engine_args
from ..errors import TvauError
from .frames import DEFAULT_MAX_SIDE


def register(sub: argparse._SubParsersAction) -> None:
    """Add the harness commands to the top-level parser."""
    p = sub.add_parser("run", help="run a model through the benchmark protocol (resumable)")
    p.add_argument("--model", required=True, help="model config YAML, or NAME of baselines/NAME.yaml")
    _protocol_args(p)
    p.add_argument("--video-root", type=Path, help="root of the source dataset (frames are decoded from it)")
    p.add_argument(
        "--limit", type=int, help="only the first N samples (fixed hash order, same for every model)"
    )
    p.add_argument(
        "--adapter-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one of the model config's adapter_args (repeatable), e.g. ckpt=models/ahd",
    )
    add_engine_args(p, "samples")
    p.set_defaults(func=_run)

    p = sub.add_parser("score", help="recompute results.json of a run folder from its samples.jsonl alone")
    p.add_argument("rundir", type=Path, help="the --out folder of `tvau-bench run` or `submit`")
    p.add_argument("--write", action="store_true", help="write results.json (otherwise print it)")
    p.add_argument(
        "--repair",
        action="store_true",
        help="first drop repeated rows of a sample from samples.jsonl (copies must agree), keeping the first",
    )
    p.set_defaults(func=_score)

    p = sub.add_parser("submit", help="validate and score a predictions JSONL file")
    p.add_argument("predictions", type=Path, help="JSONL: one {sample_id, answers} object per line")
    _protocol_args(p)
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="score missing samples as wrong instead of failing; the run is then partial "
        "(`leaderboard add --partial` only)",
    )
    p.add_argument(
        "--name", required=True, help="your model's name: recorded in results.json, its leaderboard row"
    )
    p.set_defaults(func=_submit)


def _protocol_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset", required=True, help="exported dataset folder, annotate output folder or Hub repo id"
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (samples.jsonl, results.json)")
    p.add_argument(
        "--split", default="test", choices=("train", "validation", "test"), help="default: %(default)s"
    )
    p.add_argument("--shots", type=int, choices=(0, 1), help="0 or 1 (default: the model config's)")
    p.add_argument("--history", default="own", choices=("own", "gold"), help="answers shown at turns 2-3")
    p.add_argument(
        "--exemplar-seed", type=int, default=0, help="picks the one-shot exemplar (keep 0 to compare)"
    )
    p.add_argument("--max-side", type=int, default=DEFAULT_MAX_SIDE, help="resolution cap of every frame")
    p.add_argument(
        "--include-unverified",
        action="store_true",
        help="also score samples whose target failed verification (left out by default)",
    )
    p.add_argument(
        "--new-run", action="store_true", help="archive an incompatible run in --out and start over"
    )


def _options(args: argparse.Namespace):
    from .runner import RunOptions

    return RunOptions(
        dataset=args.dataset,
        out=args.out,
        split=args.split,
        shots=args.shots,
        history=args.history,
        limit=getattr(args, "limit", None),
        video_root=getattr(args, "video_root", None),
        new_run=getattr(args, "new_run", False),
        exemplar_seed=args.exemplar_seed,
        max_side=args.max_side,
        include_unverified=args.include_unverified,
        engine=getattr(args, "engine", "local"),
        workers=getattr(args, "workers", 2),
        ray_address=getattr(args, "ray_address", None),
    )


def _run(args: argparse.Namespace) -> int:
    from .model_config import load_model_config
    from .runner import run

    config = load_model_config(args.model, parse_adapter_args(args.adapter_arg))
    results = run(config, _options(args))
    _summary(results, args.out)
    return 0


def _score(args: argparse.Namespace) -> int:
    from .._lock import folder_lock

    with folder_lock(args.rundir, "run folder", create=False):
        return _score_locked(args)


def _score_locked(args: argparse.Namespace) -> int:
    from .._io import iter_jsonl, write_json
    from .run_log import LOG, RESULTS, repair_log
    from .runner import results_from_log
    from .scoring import row_problems

    if args.repair and (args.rundir / LOG).is_file():
        dropped = repair_log(args.rundir / LOG)
        print(f"{args.rundir / LOG}: removed {dropped} repeated or torn lines", file=sys.stderr)
    results = results_from_log(args.rundir)
    for line, row in iter_jsonl(args.rundir / LOG, tolerate_torn_tail=True):
        problems = row_problems(row)
        if problems:  # scores come from the raw answers anyway; say that the log was edited
            print(f"{args.rundir / LOG}:{line}: warning: {'; '.join(problems)}", file=sys.stderr)
    if args.write:
        write_json(args.rundir / RESULTS, results)
        _summary(results, args.rundir)
    else:
        print(json.dumps(results, indent=2, sort_keys=True))
    return 0


def _submit(args: argparse.Namespace) -> int:
    from .runner import submit

    results = submit(args.predictions, _options(args), name=args.name, allow_missing=args.allow_missing)
    _summary(results, args.out)
    if results.get("n_missing"):
        print(f"{results['n_missing']} samples had no answers and were counted wrong")
    return 0


def _summary(results: dict, out: Path) -> None:
    from ..metrics.suite import figures_line

    print(
        f"{results['model']['name']} on {results['dataset']}/{results['split']} "
        f"({results['n_samples']}/{results['n_expected']} samples, {results['shots']}-shot, history {results['history']}): "
        f"{figures_line(results)}  (unknown {results['unknown_rate']:.1%}) -> {out}"
    )
    if results.get("n_unverified_excluded"):
        print(
            f"{results['n_unverified_excluded']} samples whose target failed verification were left out "
            "(--include-unverified scores them too)"
        )


def parse_adapter_args(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are YAML scalars (``8`` is an int, ``true`` a bool)."""
    from .._yaml import parse_yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TvauError(
                f"--adapter-arg {item!r} is not KEY=VALUE", fix="write e.g. --adapter-arg ckpt=DIR"
            )
        out[key.strip()] = parse_yaml(value, path=f"--adapter-arg {key.strip()}") if value.strip() else ""
    return out
