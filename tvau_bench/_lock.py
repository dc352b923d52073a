"""One writer per folder: an OS file lock that a second process is refused at once and that dies with its holder.

``with folder_lock(RUNDIR, "run folder"):`` holds an exclusive ``flock`` on ``RUNDIR/.lock`` (which records the
holder's pid). The kernel drops the lock when the holder exits or is killed, so a stale ``.lock`` file never
blocks anyone; the file itself is left in place (deleting it would let two processes lock two different files).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import TvauError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str, *, create: bool = True) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` for the ``with`` block (``create`` makes a missing folder).

    Raises :class:`TvauError` naming the holder's pid when another process holds it.
    """
    folder = Path(folder)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise TvauError(f"{what} not found", path=folder, fix="check the path")
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TvauError(
                f"this {what} is in use by another tvau-bench process (pid {_holder(fd)})",
                path=folder,
                fix="wait for that process to finish or stop it; two processes on one folder corrupt it",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _holder(fd: int) -> str:
    """The pid the holder wrote, or ``unknown`` in the instant between its lock and its write."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"
