"""The benchmark's inputs: the ``samples`` and ``videos`` configs of an exported dataset.

Accepted forms: a Hub repo id or an exported folder (Parquet configs, read with ``datasets.load_dataset``),
or an annotation output folder (``samples.jsonl`` + ``videos.jsonl``, as ``tvau-bench annotate`` writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import iter_jsonl, sha256_json
from ..errors import TvauError
from ..schemas import validate


@dataclass
class BenchmarkData:
    """Samples per split (sorted by ``sample_id``) and video records by ``video_id``."""

    name: str
    samples: dict[str, list[dict[str, Any]]]
    videos: dict[str, dict[str, Any]]
    origin: str = ""
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def split(self, split: str) -> list[dict[str, Any]]:
        """The samples of ``split``; an unknown or empty split is an error naming the ones there are."""
        rows = self.samples.get(split)
        if not rows:
            have = sorted(k for k, v in self.samples.items() if v)
            raise TvauError(
                f"dataset {self.name!r} has no samples in split {split!r}", fix=f"use one of {have}"
            )
        return rows

    def sample(self, sample_id: str) -> dict[str, Any]:
        if not self._by_id:
            self._by_id = {s["sample_id"]: s for rows in self.samples.values() for s in rows}
        return self._by_id[sample_id]

    @property
    def source(self) -> str:
        """The source dataset(s) of the videos, e.g. ``ubnormal`` (``+``-joined when mixed)."""
        return "+".join(sorted({v.get("source", "unknown") for v in self.videos.values()})) or "unknown"

    def content_hash(self, split: str) -> str:
        """SHA-256 of the split's sample records (what was asked and what counts as right)."""
        return sha256_json(self.split(split))


def load_benchmark(spec: str | Path) -> BenchmarkData:
    """Load a dataset from a Hub repo id, an exported folder, or an annotation output folder."""
    path = Path(spec)
    if path.is_dir() and (path / "samples.jsonl").is_file():
        return _from_jsonl(path)
    if path.exists() and not path.is_dir():
        raise TvauError("a dataset must be a folder or a Hub repo id", path=path)
    if not path.exists() and (str(spec).startswith((".", "/")) or str(spec).count("/") != 1):
        raise TvauError(
            "dataset not found",
            path=spec,
            fix="pass an exported folder, an annotate output folder or a Hub repo id",
        )
    return _from_hub(str(spec), local=path.is_dir())


def _from_jsonl(folder: Path) -> BenchmarkData:
    samples: dict[str, list[dict[str, Any]]] = {}
    for line, rec in iter_jsonl(folder / "samples.jsonl"):
        validate(rec, "sample", path=str(folder / "samples.jsonl"), line=line)
        samples.setdefault(rec["split"], []).append(rec)
    videos_file = folder / "videos.jsonl"
    videos = {rec["video_id"]: rec for _, rec in iter_jsonl(videos_file)} if videos_file.is_file() else {}
    return _finish(folder.resolve().name, samples, videos, str(folder))


def _from_hub(spec: str, *, local: bool) -> BenchmarkData:
    from ..hub.load import load  # datasets.load_dataset after the card's schema-version check

    loaded = {}
    for config in ("samples", "videos"):
        try:
            loaded[config] = load(spec, config)
        except TvauError:
            raise
        except Exception as exc:  # datasets raises many types; the user needs the cause and the fix
            raise TvauError(
                f"cannot load config {config!r}: {type(exc).__name__}: {exc}",
                path=spec,
                fix="pass an exported folder (with its README.md configs) or a reachable Hub repo id",
            ) from None
    from ..hub.features import from_arrow_row  # Arrow stores maps as key/value lists

    samples = {}
    for split, ds in loaded["samples"].items():
        rows = [from_arrow_row(r, "samples") for r in ds.to_list()]
        for i, rec in enumerate(rows):
            validate(rec, "sample", path=f"{spec} (samples/{split})", line=i + 1)
        samples[split] = rows
    videos = {
        rec["video_id"]: rec
        for ds in loaded["videos"].values()
        for rec in (from_arrow_row(r, "videos") for r in ds.to_list())
    }
    name = Path(spec).resolve().name if local else spec
    return _finish(name, samples, videos, spec)


def _finish(name: str, samples: dict, videos: dict, origin: str) -> BenchmarkData:
    for split, rows in samples.items():
        rows.sort(key=lambda r: r["sample_id"])
        seen = set()
        for r in rows:
            if r["sample_id"] in seen:
                raise TvauError(f"duplicate sample_id {r['sample_id']!r} in split {split!r}", path=origin)
            seen.add(r["sample_id"])
    return BenchmarkData(name=name, samples=samples, videos=videos, origin=origin)
