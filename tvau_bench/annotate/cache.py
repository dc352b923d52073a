"""On-disk request cache keyed by content hash: what makes a killed annotation run resume for free.

A key is the SHA-256 of the canonical JSON of everything that determines an answer (model, revision, prompts,
image bytes' hashes, answer schema, generation parameters). Entries are written atomically, one file each, so a
kill leaves either a whole entry or none; an unreadable entry counts as a miss and is rewritten.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .._io import atomic_write_text, canonical_json, sha256_json
from ..errors import TvauWarning


def request_key(parts: dict[str, Any]) -> str:
    """The cache key of a request described by ``parts`` (JSON-ready; images given by their hashes)."""
    return sha256_json(parts)


class RequestCache:
    """Answers stored as ``DIR/ab/abcdef….json`` (``{"key", "answer", "raw", "usage", "kind", "item"}``)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        """The stored entry, or ``None`` when absent or unreadable."""
        path = self._path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            warnings.warn(f"{path}: unreadable cache entry, asking again", TvauWarning, stacklevel=2)
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or "answer" not in entry:
            warnings.warn(
                f"{path}: cache entry does not match its key, asking again", TvauWarning, stacklevel=2
            )
            return None
        return entry

    def put(self, key: str, entry: dict) -> None:
        """Store ``entry`` under ``key`` atomically (the key is recorded inside for checking)."""
        atomic_write_text(self._path(key), canonical_json({**entry, "key": key}) + "\n")

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("??/*.json")) if self.dir.is_dir() else 0
