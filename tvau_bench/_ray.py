"""Ray Data plumbing shared by the ``--engine ray`` of ``annotate`` and ``run``: connect, map, unwrap errors.

The engines send one row per unit of work (a video, a sample) through ``Dataset.map`` with a pool of actors;
each actor builds the heavy objects once (backend or adapter, source, cache) and runs the project's own
per-unit function. Rows come back to the driver in completion order, and the driver alone writes outputs.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from typing import Any

from .errors import TvauError

_INSTALL = 'install the extra: pip install "tvau-bench[ray]" (Ray Data, CPU only)'


def add_engine_args(p: argparse.ArgumentParser, units: str) -> None:
    """``--engine``, ``--ray-address`` and ``--workers`` (shared by ``annotate`` and ``run``)."""
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help=f"local: this process (default); ray: spread the {units} over a Ray cluster (extra [ray])",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join (e.g. auto, or HEAD:6379); default: start a local one",
    )
    p.add_argument(
        "--workers", type=int, default=2, metavar="N", help="Ray actors (with --engine ray; default 2)"
    )


def _ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise TvauError(f"--engine ray needs Ray Data ({exc.name} is not installed)", fix=_INSTALL) from None
    return ray


def local_cpus(workers: int) -> int:
    """Logical CPUs for a local cluster: one per worker plus one for Ray Data's own tasks, at least the cores.

    Declaring more logical CPUs than cores is what lets two 1-CPU actors run beside the input task on a
    2-core machine; the real work is still bounded by the cores (the scaling figures say so).
    """
    return max(os.cpu_count() or 1, workers + 1)


def connect(address: str | None, workers: int) -> None:
    """Join the cluster at ``address`` (``auto``: the one ``ray start`` made here) or start a local one.

    An already-initialised Ray (a test fixture, a notebook) is used as it is.
    """
    ray = _ray()
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=local_cpus(workers), **kwargs)
    except ConnectionError as exc:
        raise TvauError(
            f"cannot reach the Ray cluster at {address!r}: {exc}",
            field="--ray-address",
            fix="run `ray start --head` on the head node and `ray start --address HEAD:6379` on the others, "
            "or leave --ray-address out for a local cluster",
        ) from None


def map_rows(
    worker: type,
    init: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    workers: int,
    num_gpus: float = 0,
) -> Iterator[dict[str, Any]]:
    """``worker(**init)(row)`` on each row over ``workers`` actors; yields result rows as they finish.

    One block per row, so a slow unit never holds others back and every result reaches the driver (and its
    durable output) the moment it exists.
    """
    ray = _ray()
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the engines keep the project's own progress bar
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if not rows:
        return
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map(
        worker,
        fn_constructor_kwargs=init,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        num_gpus=num_gpus or None,
    )
    try:
        yield from ds.iter_rows()
    except Exception as exc:
        raise _unwrap(exc) from None


def _unwrap(exc: BaseException) -> BaseException:
    """The project's own error when a worker raised one (Ray wraps it), else the original exception."""
    seen = exc
    while seen is not None:
        if isinstance(seen, TvauError):
            return seen
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else (seen.__cause__ or seen.__context__)
    return exc
