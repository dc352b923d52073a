"""``tvau-bench demo``: the main job."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = sub.add_parser(
        "demo", help="the whole system end to end on the embedded synthetic default (resumable)"
    )
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (rerun to resume)")
    p.add_argument("--seed", type=int, default=0, help="synthetic scene seed")
    p.add_argument(
        "--ahd-epochs", type=int, default=60, help="AHD training epochs (about 4 s each on 2 cores)"
    )
    p.add_argument(
        "--publish",
        type=Path,
        metavar="REPO",
        help="then refresh the clone at REPO from the demo: leaderboard/ (its runs admitted, rendered), "
        "docs/ figures and docs/demo_summary.json (the README's demo figures are checked against it)",
    )
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from .._io import read_json
    from .pipeline import run_demo
    from .summary import print_summary

    results = run_demo(args.out, seed=args.seed, ahd_epochs=args.ahd_epochs)
    print_summary(args.out, results)
    if args.publish is not None:
        from .publish import publish, readme_figures

        for path in publish(args.out, args.publish):
            print(path)
        print("README demo table (docs/demo_summary.json):")
        print(readme_figures(read_json(args.publish / "docs" / "demo_summary.json")))
    return 0
