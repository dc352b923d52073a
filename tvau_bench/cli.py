"""The ``tvau-bench`` command: one subcommand group per area, each registered by ``{area}/cli.py``.

Area modules import their heavy dependencies (torch, datasets) inside their handlers, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import os
import select
import sys
from collections.abc import Sequence

from . import __version__
from .errors import TvauError
from .extras import missing_extra

# Order is the order in --help; each listed module defines register(subparsers).
AREAS = (
    "synth",
    "sources",
    "metrics",
    "annotate",
    "hub",
    "harness",
    "leaderboard",
    "models",
    "integrations",
    "demo",
    "reproduce",
)


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
    """Entry point: parse, dispatch, and turn :class:`TvauError` and :class:`OSError` (permission denied, disk
    full, read-only file system) into a one-line message and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # so that a closed stdout pipe shows here, not in the interpreter's exit
    except TvauError as exc:
        print(f"tvau-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            return 141  # the reader went away (`| head`): stop quietly, as a SIGPIPE would (128 + 13)
        print(f"tvau-bench {args.command}: error: {os_error(exc)}", file=sys.stderr)
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


# errno -> the fix shown to the user; anything else gets the generic one
_OS_FIXES = {
    errno.ENOSPC: "free disk space or write to another disk, then rerun the same command to resume",
    errno.EROFS: "write to a folder on a writable file system",
    errno.EACCES: "check the permissions of the path or write somewhere you own",
    errno.EPERM: "check the permissions of the path or write somewhere you own",
    errno.ENOTDIR: "a parent of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder; give a file",
    errno.ENOENT: "check that the path exists",
    errno.EEXIST: "remove the existing path or choose another one",
}


def os_error(exc: OSError) -> TvauError:
    """``exc`` as a :class:`TvauError` naming its path (both paths of a rename) and a fix chosen by errno."""
    names = [os.fsdecode(f) if isinstance(f, bytes) else str(f) for f in (exc.filename, exc.filename2) if f]
    return TvauError(
        exc.strerror or str(exc),
        path=" -> ".join(names) or None,
        fix=_OS_FIXES.get(exc.errno, "check the path and the file system"),
    )


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone; if so, stdout now points at /dev/null so that the
    interpreter's final flush cannot raise again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced stdout without a descriptor
        return False
    if hasattr(select, "poll"):  # POSIX: the write end of a pipe without readers polls as an error
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poller.poll(0)):
            return False
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    return True


if __name__ == "__main__":
    sys.exit(main())
