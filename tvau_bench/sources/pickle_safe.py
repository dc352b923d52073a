"""A restricted unpickler for the UBnormal class pickle (``object_names_per_video.pkl``).

Only ``dict``, ``collections.defaultdict``, ``str`` and ``int`` may come out. The official file stores its
video names as numpy ``str_`` scalars (``numpy.core.multiarray.scalar`` with a ``U27`` dtype); those are
rebuilt here as plain ``str`` from their raw bytes without importing or calling numpy, so no callable of the
file's choosing ever runs.
"""

from __future__ import annotations

import collections
import io
import pickle
from pathlib import Path
from typing import Any

from ..errors import TvauError


class _Dtype:
    """Stand-in for ``numpy.dtype``: records kind, item size and byte order, nothing else."""

    def __init__(self, spec: Any, *_args: Any) -> None:
        if not isinstance(spec, str) or len(spec) < 2 or spec[0] not in "Uiu" or not spec[1:].isdigit():
            raise pickle.UnpicklingError(f"numpy dtype {spec!r} is not allowed (only str and int scalars)")
        self.kind = spec[0]
        self.size = int(spec[1:])
        self.order = "<"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.order = state[1]


def _scalar(dtype: Any, data: Any = None) -> str | int:
    """Stand-in for ``numpy.core.multiarray.scalar``: a plain ``str`` or ``int`` from the raw bytes."""
    if not isinstance(dtype, _Dtype) or not isinstance(data, bytes):
        raise pickle.UnpicklingError("numpy scalar without an allowed dtype")
    big = dtype.order == ">"
    if dtype.kind == "U":
        return data.decode("utf-32-be" if big else "utf-32-le").rstrip("\x00")
    return int.from_bytes(data, "big" if big else "little", signed=dtype.kind == "i")


_ALLOWED = {
    ("builtins", "dict"): dict,
    ("__builtin__", "dict"): dict,  # protocol 0-2 pickles name Python 2's module
    ("collections", "defaultdict"): collections.defaultdict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("numpy", "dtype"): _Dtype,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed") from None


def _check(obj: Any, depth: int = 0) -> None:
    """Reject anything but dicts of str/int (plus bool, a subclass of int the pickle format uses freely)."""
    if isinstance(obj, str | int):
        return
    if isinstance(obj, dict) and depth < 3:
        for k, v in obj.items():
            _check(k, depth + 1)
            _check(v, depth + 1)
        return
    raise pickle.UnpicklingError(f"value of type {type(obj).__name__} is not allowed")


def load_restricted(path: str | Path) -> dict:
    """Unpickle ``path`` allowing only dict/defaultdict of str/int; a disallowed type raises TvauError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TvauError(f"cannot read the class pickle: {exc.strerror}", path=path) from None
    try:
        obj = _Restricted(io.BytesIO(data)).load()
        if isinstance(obj, collections.defaultdict):
            # the default factory is a type the file chose; drop it so lookups never call it
            obj = dict(obj)
        _check(obj)
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise TvauError(
            f"refused to unpickle: {exc}",
            path=path,
            fix="use the official object_names_per_video.pkl (a dict of {video: {object_id: class}})",
        ) from None
    if not isinstance(obj, dict):
        raise TvauError(f"expected a dict at the top level, found {type(obj).__name__}", path=path)
    return obj
