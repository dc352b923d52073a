"""The ``tvau-bench`` command: one subcommand group per area, each registered by ``{area}/cli.py``.

Area modules import their heavy dependencies (torch, datasets) inside their handlers, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from . import __version__
from .errors import TvauError
from .extras import missing_extra

# Order is the order in --help; each listed module defines register(subparsers).
AREAS = ("synth", "sources", "metrics", "annotate", "hub", "harness", "leaderboard", "models", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every area that is installed."""
    parser = argparse.ArgumentParser(
        prog="tvau-bench",
        description="T-VAU fine-grained video anomaly understanding: datasets, metrics, benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"tvau-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        name = f"tvau_bench.{area}.cli"
        if importlib.util.find_spec(f"tvau_bench.{area}") is None or importlib.util.find_spec(name) is None:
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn :class:`TvauError` into a one-line message and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _dispatch(args)
    except TvauError as exc:
        print(f"tvau-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return int(code or 0)


def _dispatch(args: argparse.Namespace) -> int | None:
    """Run the subcommand; a missing module of an optional extra becomes an error naming the extra."""
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        # train, detect, demo and the model adapters import torch & co. only when they run.
        missing = missing_extra(exc)
        if missing is None:
            raise
        raise missing from None


if __name__ == "__main__":
    sys.exit(main())
