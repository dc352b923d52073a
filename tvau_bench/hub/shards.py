"""An exported folder's Parquet shards read directly with pyarrow, checked and hashed (no cache to go stale).

The card's ``configs`` name each config's shards by pattern (matched against the files under ``data/``).
Every shard is read once: its SHA-256 is taken of the very bytes that are parsed, so the content identity of
a folder (:func:`content_identity` of the card's and the shards' hashes) always describes the rows returned.
A shard that is not Parquet, is truncated, has another Arrow schema or holds a row outside the JSON Schema is
refused with its path and what is wrong with it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import sha256_bytes, sha256_file, sha256_json
from ..errors import TvauError
from ..schemas import validate
from .fastcheck import checker_for
from .features import CONFIGS, arrow_schema, from_arrow_row

CARD = "README.md"
_FIX = "re-export or re-download the folder; `tvau-bench validate FOLDER` lists every problem"


@dataclass
class Shard:
    """One Parquet file of a config: its path relative to the folder, its SHA-256 and its JSON records."""

    rel: str
    sha256: str
    rows: list[dict[str, Any]]


def data_folder_files(root: Path) -> list[Path]:
    """Every file under ``root/data`` (sorted): the files a card's ``data_files`` patterns select from."""
    data = root / "data"
    return sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else []


def matching(root: Path, files: list[Path], pattern: str) -> list[Path]:
    """The ``files`` whose path relative to ``root`` matches a card's ``data_files`` pattern."""
    return [p for p in files if fnmatch.fnmatchcase(p.relative_to(root).as_posix(), pattern)]


def config_patterns(meta: dict[str, Any], config: str, card: Path | str) -> list[tuple[str, str]]:
    """``(split, pattern)`` of each ``data_files`` entry of ``config`` in the card's ``configs``."""
    entry = next(
        (c for c in meta.get("configs") or [] if isinstance(c, dict) and c.get("config_name") == config), None
    )
    if entry is None:
        raise TvauError(f"config {config!r} missing from `configs`", path=card, field="configs", fix=_FIX)
    out = []
    for df in entry.get("data_files") or []:
        split, pattern = (df.get("split"), df.get("path")) if isinstance(df, dict) else (None, None)
        if not isinstance(split, str) or not isinstance(pattern, str):
            raise TvauError(
                f"config {config!r}: data_files entry {df!r} is not {{split, path}}",
                path=card,
                field="configs",
                fix=_FIX,
            )
        out.append((split, pattern))
    if not out:
        raise TvauError(f"config {config!r} lists no data_files", path=card, field="configs", fix=_FIX)
    return out


def config_files(root: Path, meta: dict[str, Any], config: str) -> dict[str, list[Path]]:
    """``{split: [shard paths]}`` of ``config``; a pattern that matches no file is an error naming it."""
    files = data_folder_files(root)
    out: dict[str, list[Path]] = {}
    for split, pattern in config_patterns(meta, config, root / CARD):
        found = matching(root, files, pattern)
        if not found:
            raise TvauError(
                f"config {config!r} split {split!r}: pattern {pattern!r} matches no file",
                path=root / CARD,
                field="configs",
                fix=_FIX,
            )
        out.setdefault(split, []).extend(found)
    return out


def read_config(root: Path, meta: dict[str, Any], config: str) -> dict[str, list[Shard]]:
    """``{split: [Shard]}`` of ``config``, every shard read, hashed and checked (see the module docstring)."""
    return {
        split: [read_shard(p, p.relative_to(root).as_posix(), config) for p in paths]
        for split, paths in config_files(root, meta, config).items()
    }


def read_shard(path: Path, rel: str, config: str) -> Shard:
    """Read one Parquet shard of ``config``; :class:`TvauError` naming ``path`` if it cannot be used."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = path.read_bytes()
    try:
        table = pq.ParquetFile(pa.BufferReader(data)).read()
    except Exception as exc:  # pyarrow raises several types for corrupt and truncated files
        raise TvauError(
            f"cannot be read as Parquet ({len(data)} bytes): {type(exc).__name__}: {exc}", path=path, fix=_FIX
        ) from None
    problems = arrow_problems(table.schema, arrow_schema(config))
    if problems:
        raise TvauError(
            f"not a {config!r} shard of this tvau-bench: " + "; ".join(problems), path=path, fix=_FIX
        )
    name = CONFIGS[config]
    fast = checker_for(name)  # pre-screen; jsonschema words the message for a rejected row
    rows = []
    for i, row in enumerate(table.to_pylist()):
        record = from_arrow_row(row, config)
        if fast is None or not fast(record):
            validate(record, name, path=f"{path} row {i}")
        rows.append(record)
    return Shard(rel=rel, sha256=sha256_bytes(data), rows=rows)


def arrow_problems(actual: Any, expected: Any) -> list[str]:
    """What differs between a shard's Arrow schema and the expected one (metadata aside); empty when equal."""
    if actual.equals(expected, check_metadata=False):
        return []
    want = {f.name: f.type for f in expected}
    have = {f.name: f.type for f in actual}
    problems = []
    for name in want:
        if name not in have:
            problems.append(f"column {name!r} missing")
        elif not have[name].equals(want[name]):
            problems.append(f"column {name!r} is {have[name]}, expected {want[name]}")
    problems += [f"unexpected column {name!r}" for name in have if name not in want]
    if list(have) != list(want) and set(have) == set(want):
        problems.append("columns are not in the schema's order")
    return problems


def content_identity(hashes: dict[str, str]) -> str:
    """The identity of a dataset: SHA-256 over the sorted ``{relative path: file SHA-256}`` of its files."""
    return sha256_json(dict(sorted(hashes.items())))


def folder_identity(root: Path, meta: dict[str, Any], configs: list[str] | tuple[str, ...]) -> str:
    """:func:`content_identity` of the card and the shards of ``configs`` (hashed, not parsed)."""
    hashes = {CARD: sha256_file(root / CARD)}
    for config in configs:
        for paths in config_files(root, meta, config).values():
            hashes.update({p.relative_to(root).as_posix(): sha256_file(p) for p in paths})
    return content_identity(hashes)
