"""CLI groups ``tvau-bench leaderboard {add,render,compare}`` and ``tvau-bench baselines {list,serve-cmd}``.

``leaderboard add FOLDER`` dispatches on the folder's contents: a ``tvau-bench detect`` output (summary.json,
scores/, labels/, tracks/, detections/) is a detection run; anything else is taken as a dialogue run folder.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``leaderboard`` and ``baselines`` command groups."""
    lb = subparsers.add_parser("leaderboard", help="admit runs, rebuild the leaderboard tables, compare runs")
    lb_sub = lb.add_subparsers(dest="leaderboard_command", required=True, metavar="SUBCOMMAND")

    add = lb_sub.add_parser(
        "add", help="validate a dialogue run or a detect output and store it under leaderboard/results/"
    )
    add.add_argument(
        "rundir",
        help="a folder written by `tvau-bench run` (run.json, samples.jsonl, results.json) or by "
        "`tvau-bench detect` (summary.json, scores/, labels/, tracks/, detections/)",
    )
    add.add_argument("--root", default="leaderboard", help="leaderboard folder (default: %(default)s)")
    add.add_argument(
        "--dataset",
        help="dialogue run: the dataset it used (default: the name in run.json); detect output: the dataset's "
        "name for the table (required, e.g. synthetic-ubnormal)",
    )
    add.add_argument(
        "--name", help="detect output only: the row's name (default: the method in summary.json)"
    )
    add.add_argument(
        "--replace",
        action="store_true",
        help="supersede a stored run of the same model (or name) and dataset",
    )
    add.set_defaults(func=_add)

    ren = lb_sub.add_parser("render", help="rebuild README.md, tables.tex, *.csv and dialogue.png")
    ren.add_argument("--root", default="leaderboard", help="leaderboard folder (default: %(default)s)")
    ren.add_argument("--out", help="write the outputs here instead of --root")
    ren.set_defaults(func=_render)

    cmp_ = lb_sub.add_parser("compare", help="paired bootstrap comparison of two runs (delta = B - A)")
    cmp_.add_argument("run_a", help="run folder A (or a leaderboard/results/DATASET/MODEL folder)")
    cmp_.add_argument("run_b", help="run folder B")
    cmp_.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples (default: %(default)s)"
    )
    cmp_.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    cmp_.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmp_.set_defaults(func=_compare)

    bl = subparsers.add_parser("baselines", help="the paper's baseline models as runnable configs")
    bl_sub = bl.add_subparsers(dest="baselines_command", required=True, metavar="SUBCOMMAND")
    ls = bl_sub.add_parser("list", help="list baselines/*.yaml")
    ls.add_argument("--dir", help="baselines folder (default: the shipped baselines)")
    ls.set_defaults(func=_list)
    sc = bl_sub.add_parser("serve-cmd", help="print the exact `vllm serve` command of a baseline")
    sc.add_argument("name", help="baseline name (file stem in baselines/)")
    sc.add_argument("--dir", help="baselines folder (default: the shipped baselines)")
    sc.set_defaults(func=_serve_cmd)


def _add(args: argparse.Namespace) -> int:
    from .._lock import folder_lock

    with folder_lock(args.root, "leaderboard"):
        return _add_locked(args)


def _add_locked(args: argparse.Namespace) -> int:
    from ..errors import TvauError
    from .detection import add_detection, is_detect_output
    from .store import add_run

    if is_detect_output(args.rundir):
        dest = add_detection(
            args.rundir, root=args.root, name=args.name, dataset=args.dataset, replace=args.replace
        )
    elif args.name is not None:
        raise TvauError(
            "--name applies to detect outputs only; this folder is not one",
            path=args.rundir,
            fix="drop --name (a dialogue run is named by its model config)",
        )
    else:
        dest = add_run(args.rundir, root=args.root, dataset=args.dataset, replace=args.replace)
    print(f"admitted {args.rundir} -> {dest}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from .._lock import folder_lock
    from .render import render

    # an `add` meanwhile would change what is rendered halfway through
    with folder_lock(args.root, "leaderboard", create=False):
        for path in render(args.root, args.out):
            print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_runs, format_comparison

    result = compare_runs(args.run_a, args.run_b, n_resamples=args.resamples, seed=args.seed)
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else format_comparison(result))
    return 0


def _list(args: argparse.Namespace) -> int:
    from .baselines import format_list, list_baselines

    print(format_list(list_baselines(args.dir)))
    return 0


def _serve_cmd(args: argparse.Namespace) -> int:
    from .baselines import format_command, serve_command

    print(format_command(serve_command(args.name, args.dir)))
    return 0
