"""The benchmark's inputs: the ``samples`` and ``videos`` configs of an exported dataset, and its identity.

Accepted forms: an exported folder (its Parquet shards, per the card's ``configs``, read directly with
pyarrow: no ``datasets`` cache that could serve other content), a Hub repo id (that folder downloaded at the
repo's current commit), or an annotation output folder (``samples.jsonl`` + ``videos.jsonl``, as
``tvau-bench annotate`` writes). ``BenchmarkData.identity`` is the content hash of what was read: the card
and every ``samples``/``videos`` shard, or the two JSONL files; runs record it and the fingerprint hashes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import iter_jsonl, sha256_file, sha256_json
from ..errors import TvauError
from ..schemas import validate

BENCH_CONFIGS = ("samples", "videos")


@dataclass
class BenchmarkData:
    """Samples per split (sorted by ``sample_id``) and video records by ``video_id``.

    ``identity`` is the dataset's content hash (computed from the records when not given); ``revision`` the
    Hub commit it was downloaded at (``None`` for a local folder).
    """

    name: str
    samples: dict[str, list[dict[str, Any]]]
    videos: dict[str, dict[str, Any]]
    origin: str = ""
    identity: str = ""
    revision: str | None = None
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.identity:
            self.identity = sha256_json({"samples": self.samples, "videos": self.videos})

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


def load_benchmark(spec: str | Path, *, revision: str | None = None) -> BenchmarkData:
    """Load a dataset from a Hub repo id, an exported folder, or an annotation output folder.

    ``revision`` (Hub ids only; a folder has none) is the branch, tag or commit to load, default main.
    """
    path = Path(spec)
    if path.is_dir() and (path / "samples.jsonl").is_file():
        return _from_jsonl(path)
    if path.exists() and not path.is_dir():
        raise TvauError("a dataset must be a folder or a Hub repo id", path=path)
    if path.is_dir():
        return _from_folder(path, path.resolve().name, str(spec))
    if str(spec).startswith((".", "/")) or str(spec).count("/") != 1:
        raise TvauError(
            "dataset not found",
            path=spec,
            fix="pass an exported folder, an annotate output folder or a Hub repo id",
        )
    from ..hub.load import hub_snapshot

    folder, commit = hub_snapshot(str(spec), BENCH_CONFIGS, revision)
    return _from_folder(folder, str(spec), str(spec), revision=commit)


def _from_jsonl(folder: Path) -> BenchmarkData:
    from ..hub.shards import content_identity

    files = [name for name in ("samples.jsonl", "videos.jsonl") if (folder / name).is_file()]
    identity = content_identity({name: sha256_file(folder / name) for name in files})
    samples: dict[str, list[dict[str, Any]]] = {}
    for line, rec in iter_jsonl(folder / "samples.jsonl"):
        validate(rec, "sample", path=str(folder / "samples.jsonl"), line=line)
        samples.setdefault(rec["split"], []).append(rec)
    videos_file = folder / "videos.jsonl"
    videos = {rec["video_id"]: rec for _, rec in iter_jsonl(videos_file)} if videos_file.is_file() else {}
    return _finish(folder.resolve().name, samples, videos, str(folder), identity)


def _from_folder(folder: Path, name: str, origin: str, *, revision: str | None = None) -> BenchmarkData:
    """An exported folder's ``samples`` and ``videos`` shards, each checked, with their content identity."""
    from ..hub.card import read_card
    from ..hub.load import check_schema_version
    from ..hub.shards import CARD, content_identity, read_config

    meta, _ = read_card(folder / CARD)
    check_schema_version(meta.get("schema_version"), str(folder / CARD))
    hashes = {CARD: sha256_file(folder / CARD)}
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for config in BENCH_CONFIGS:
        for split, shards in read_config(folder, meta, config).items():
            for shard in shards:
                hashes[shard.rel] = shard.sha256
                rows.setdefault(config, {}).setdefault(split, []).extend(shard.rows)
    videos = {rec["video_id"]: rec for recs in rows.get("videos", {}).values() for rec in recs}
    return _finish(name, rows.get("samples", {}), videos, origin, content_identity(hashes), revision)


def _finish(
    name: str, samples: dict, videos: dict, origin: str, identity: str, revision: str | None = None
) -> BenchmarkData:
    for split, rows in samples.items():
        rows.sort(key=lambda r: r["sample_id"])
        seen = set()
        for r in rows:
            if r["sample_id"] in seen:
                raise TvauError(f"duplicate sample_id {r['sample_id']!r} in split {split!r}", path=origin)
            seen.add(r["sample_id"])
    return BenchmarkData(name, samples, videos, origin=origin, identity=identity, revision=revision)
