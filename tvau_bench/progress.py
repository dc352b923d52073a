"""Progress bars for long work: one place that decides how they look."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(
    iterable: Iterable[T] | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    **kwargs: Any,
) -> Any:
    """A tqdm bar on stderr; silenced with ``TVAU_NO_PROGRESS=1`` (tests set it)."""
    disable = os.environ.get("TVAU_NO_PROGRESS") == "1"
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=disable,
        dynamic_ncols=True,
        leave=False,
        **kwargs,
    )
