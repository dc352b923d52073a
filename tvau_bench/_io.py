"""Small I/O primitives shared by every area: atomic writes, canonical JSON/JSONL, content hashes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import TvauError


def atomic_write_bytes(path: str | Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one.

    The rename alone survives a killed process; ``durable`` also fsyncs, against power loss. Bulk media
    (thousands of frames a video) pass ``durable=False``: an fsync per frame halves write throughput.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Atomic UTF-8 text write (LF line endings as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept; equal objects give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write pretty, key-sorted JSON with a trailing newline."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a parse error names the file and line."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TvauError("file not found", path=path) from None
    except json.JSONDecodeError as exc:
        raise TvauError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> None:
    """Atomically write one canonical JSON object per line."""
    atomic_write_text(path, "".join(canonical_json(r) + "\n" for r in rows))


def iter_jsonl(path: str | Path, *, tolerate_torn_tail: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, object)`` for each non-empty line.

    ``tolerate_torn_tail`` skips an unparsable *last* line (an append interrupted by a kill); any other bad
    line is an error naming the file and line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TvauError("file not found", path=path) from None
    last = max((i for i, s in enumerate(lines) if s.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield i + 1, json.loads(line)
        except json.JSONDecodeError as exc:
            if tolerate_torn_tail and i == last:
                return
            raise TvauError(f"invalid JSON: {exc.msg}", path=path, line=i + 1) from None


def append_jsonl(path: str | Path, obj: Any) -> None:
    """Append one canonical JSON line and fsync it (for resumable logs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(canonical_json(obj) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of an object's canonical JSON (a lone surrogate in it is a :class:`TvauError`)."""
    try:
        data = canonical_json(obj).encode("utf-8")
    except UnicodeEncodeError:  # readers of user files check first (lone_surrogate), naming file and line
        raise TvauError(
            "a string holds a lone surrogate, which is not Unicode text", field=lone_surrogate(obj) or None
        ) from None
    return sha256_bytes(data)


def lone_surrogate(obj: Any, where: str = "") -> str | None:
    """Dotted path of the first key or string in ``obj`` holding a lone UTF-16 surrogate, else ``None``.

    JSON parsers accept ``"\\ud800"`` and give a ``str`` that no UTF-8 encoder can write or hash.
    """
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return None
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list | tuple) else ()
    for key, value in items:
        path = f"{where}.{key}" if where else str(key)
        if isinstance(key, str) and lone_surrogate(key) is not None:
            return path
        found = lone_surrogate(value, path)
        if found is not None:
            return found
    return None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
