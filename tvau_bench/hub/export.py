"""Export an annotation folder to a Hub dataset folder: Parquet shards per config and split, schemas, card.

Layout written under ``out``::

    README.md                                        dataset card (YAML configs + dataset_info), written last
    data/{config}/{split}-NNNNN-of-NNNNN.parquet     configs samples (default), videos, tracks
    schemas/{sample,video,track}.json                the JSON Schemas the rows follow (byte copies)
    annotation/report.json, annotation/quarantine.jsonl   the annotation run's report (local paths and
                                                     timings removed) and its rejects

An annotation run whose report counts requests that failed for good (``tvau-bench annotate`` exit status 3) is
partial; it is refused unless ``allow_partial``, and a partial export says so in the card (metadata
``partial_annotation`` and a warning under *Limitations*).

Re-exporting the same annotations gives byte-identical Parquet: rows are sorted by a stable key, the writer
options below are pinned, and nothing time-dependent is written into the data.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._io import atomic_write_bytes, iter_jsonl, read_json, write_json
from ..errors import TvauError
from ..progress import progress
from ..schemas import NAMES, validate
from .card import CardInputs, SplitStats, default_repo_id, render_card
from .fastcheck import checker_for
from .features import CONFIGS, arrow_schema, to_arrow_row

if TYPE_CHECKING:
    import pyarrow as pa

    from .validate import ValidationReport

SPLIT_ORDER = ("train", "validation", "test")
# Rows per Parquet row group, fixed per config so that the file layout never depends on the machine.
ROW_GROUP_ROWS = {"samples": 1000, "videos": 100, "tracks": 2000}
# A split is cut into shards of at most this many in-memory Arrow bytes (the Hub's viewer prefers < 500 MB).
MAX_SHARD_BYTES = 256 << 20
# Pinned writer options: a change here changes every file's bytes, so it is a dataset format change.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "data_page_size": 1 << 20,
    "use_compliant_nested_type": True,
    "store_schema": True,
    "write_page_index": False,
}
ANNOTATION_FILES = ("videos.jsonl", "samples.jsonl", "tracks.jsonl")


@dataclass
class Annotations:
    """An annotation folder read and checked against the schemas."""

    root: Path
    videos: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    tracks: list[dict[str, Any]]
    report: dict[str, Any] | None = None
    quarantine_count: int = 0


@dataclass
class ExportResult:
    """What :func:`export` wrote: per config, per split statistics; and the validation of the output."""

    out: Path
    stats: dict[str, dict[str, SplitStats]] = field(default_factory=dict)
    validation: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        return self.validation is None or self.validation.ok


def read_annotations(root: str | Path) -> Annotations:
    """Read ``videos/samples/tracks.jsonl`` (+ ``report.json``, ``quarantine.jsonl``), each row schema-checked."""
    root = Path(root)
    if not root.is_dir():
        raise TvauError("annotation folder not found", path=root, fix="run `tvau-bench annotate` first")
    for name in ANNOTATION_FILES:
        if not (root / name).is_file():
            raise TvauError(
                f"{name} missing",
                path=root,
                fix="point at the --out folder of a finished `tvau-bench annotate`",
            )
    rows = {}
    for config, schema in CONFIGS.items():
        path = root / f"{config}.jsonl"
        recs = []
        fast = checker_for(schema)  # pre-screen; jsonschema names the field of a rejected row
        for line, obj in progress(iter_jsonl(path), desc=f"read {config}", unit="row"):
            if fast is None or not fast(obj):
                validate(obj, schema, path=str(path), line=line)
            recs.append(obj)
        rows[config] = recs
    report = read_json(root / "report.json") if (root / "report.json").is_file() else None
    if report is not None and not isinstance(report, dict):
        raise TvauError("report.json is not a JSON object", path=root / "report.json")
    qpath = root / "quarantine.jsonl"
    quarantined = sum(1 for _ in iter_jsonl(qpath, tolerate_torn_tail=True)) if qpath.is_file() else 0
    return Annotations(root, rows["videos"], rows["samples"], rows["tracks"], report, quarantined)


def export(
    annotations: str | Path | Annotations,
    out: str | Path,
    *,
    repo_id: str | None = None,
    license: str | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    check: bool = True,
    allow_partial: bool = False,
) -> ExportResult:
    """Write the Hub dataset folder ``out`` from an annotation folder; see the module doc for the layout.

    ``repo_id`` (named in the card's usage examples) defaults to ``tvau/{source}-fg``. With ``check`` the
    written folder is validated (:func:`tvau_bench.hub.validate.validate_hub`) and the report is returned in
    ``result.validation``; an invalid row of the input raises :class:`TvauError`.
    """
    ann = annotations if isinstance(annotations, Annotations) else read_annotations(annotations)
    out = Path(out)
    if not ann.videos:
        raise TvauError("videos.jsonl has no rows", path=ann.root, fix="annotate at least one video")
    if out.resolve() == ann.root.resolve():
        raise TvauError("output folder is the annotation folder", path=out, fix="choose another --out")
    partial = annotation_failures(ann.report)
    if partial is not None and not allow_partial:
        videos = ", ".join(partial["videos"][:5]) or "not listed"
        raise TvauError(
            f"the annotation run is partial: {partial['failed_requests']} request(s) failed after all retries "
            f"(videos: {videos})",
            path=ann.root / "report.json",
            field="requests.failures",
            fix="rerun the same `tvau-bench annotate` command to retry them, or pass --allow-partial "
            "(recorded in the card)",
        )
    # The card goes first and comes back last: a killed export leaves a folder that fails validation.
    (out / "README.md").unlink(missing_ok=True)
    video_split = {v["video_id"]: v["split"] for v in ann.videos}
    splits = [s for s in SPLIT_ORDER if s in set(video_split.values())]
    result = ExportResult(out)
    written: set[Path] = set()
    for config, rows in (("samples", ann.samples), ("videos", ann.videos), ("tracks", ann.tracks)):
        by_split = group_by_split(rows, config, video_split, splits)
        result.stats[config] = {}
        for split in splits:
            if not by_split[split]:  # `datasets` cannot read a 0-row shard: an empty split is left out
                continue
            stats = _write_split(out, config, split, by_split[split], max_shard_bytes)
            result.stats[config][split] = stats
            written.update(out / f for f in stats.files)
    _remove_stale(out / "data", written)
    _copy_schemas(out / "schemas")
    public_report = None if ann.report is None else public_report_of(ann.report)
    _copy_annotation_files(ann.root, out / "annotation", public_report)
    card = render_card(
        CardInputs(
            repo_id=repo_id or default_repo_id(ann.videos),
            stats=result.stats,
            videos=ann.videos,
            samples=ann.samples,
            report=public_report,
            quarantine_count=ann.quarantine_count,
            license=license,
            partial=partial,
        )
    )
    atomic_write_bytes(out / "README.md", card.encode("utf-8"))
    if check:
        from .validate import validate_hub

        result.validation = validate_hub(out)
    return result


# ---------------------------------------------------------------------------------------------- I/O helpers


def _write_split(
    out: Path, config: str, split: str, rows: list[dict[str, Any]], max_bytes: int
) -> SplitStats:
    import pyarrow as pa

    rows = sorted(rows, key=SORT_KEYS[config])
    try:
        table = pa.Table.from_pylist([to_arrow_row(r, config) for r in rows], schema=arrow_schema(config))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise TvauError(
            f"{config} rows do not fit the Arrow schema: {exc}", fix="check the input rows"
        ) from None
    bounds = shard_bounds(table.num_rows, table.nbytes, max_bytes)
    files, file_bytes = [], 0
    for i, (lo, hi) in enumerate(bounds):
        rel = f"data/{config}/{split}-{i:05d}-of-{len(bounds):05d}.parquet"
        data = parquet_bytes(table.slice(lo, hi - lo), ROW_GROUP_ROWS[config])
        path = out / rel
        if not path.is_file() or path.read_bytes() != data:  # leave identical files untouched (mtime, rsync)
            atomic_write_bytes(path, data)
        files.append(rel)
        file_bytes += len(data)
    return SplitStats(table.num_rows, table.nbytes, tuple(files), file_bytes)


def parquet_bytes(table: pa.Table, row_group_rows: int) -> bytes:
    """One Parquet file's bytes, written with the pinned options (deterministic for equal tables)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group_rows, **PARQUET_OPTIONS)
    return sink.getvalue().to_pybytes()


def _remove_stale(data_dir: Path, keep: set[Path]) -> None:
    """Delete shards of an earlier export that this one did not write (a ``train-*`` glob would pick them up)."""
    if not data_dir.is_dir():
        return
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path not in keep:
            path.unlink()
    for path in sorted(data_dir.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _copy_schemas(dest: Path) -> None:
    pkg = resources.files("tvau_bench.schemas")
    for name in NAMES:
        atomic_write_bytes(dest / f"{name}.json", pkg.joinpath(f"{name}.json").read_bytes())


def _copy_annotation_files(src: Path, dest: Path, report: dict[str, Any] | None) -> None:
    if report is None:
        (dest / "report.json").unlink(missing_ok=True)
    else:
        write_json(dest / "report.json", report)
    if (src / "quarantine.jsonl").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / "quarantine.jsonl", dest / "quarantine.jsonl")
    else:
        (dest / "quarantine.jsonl").unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- pure helpers


# Report entries that are machine-local (absolute paths) or vary between identical runs (timings, cache hits):
# kept out of the published copy and the card, so the repo leaks no local path and re-exports are stable.
PRIVATE_REPORT_KEYS = (("source", "root"), ("recipe", "path"), ("timings",), ("requests",))


def public_report_of(report: dict[str, Any]) -> dict[str, Any]:
    """The annotation report without :data:`PRIVATE_REPORT_KEYS`."""
    out = json.loads(json.dumps(report))
    for key in PRIVATE_REPORT_KEYS:
        node = out
        for part in key[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(key[-1], None)
    return out


def annotation_failures(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"failed_requests": n, "videos": [...]}`` when the run's report counts requests that failed for good.

    ``None`` for a complete run (or one without a report). ``videos`` is empty for reports written before
    ``requests.failed`` listed them.
    """
    requests = (report or {}).get("requests")
    failures = requests.get("failures") if isinstance(requests, dict) else None
    n = sum(int(v) for v in failures.values()) if isinstance(failures, dict) else 0
    if n == 0:
        return None
    listed = requests.get("failed") if isinstance(requests.get("failed"), list) else []
    videos = sorted({str(f["video_id"]) for f in listed if isinstance(f, dict) and "video_id" in f})
    return {"failed_requests": n, "videos": videos}


def group_by_split(
    rows: list[dict[str, Any]], config: str, video_split: dict[str, str], splits: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Rows per split; ``samples``/``videos`` carry ``split``, ``tracks`` take their video's split."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in splits}
    for i, row in enumerate(rows):
        split = row.get("split") if config != "tracks" else video_split.get(row["video_id"])
        if split is None:
            raise TvauError(
                f"track row {i + 1} refers to video {row['video_id']!r}, which is not in videos.jsonl",
                field="video_id",
                fix="export the videos.jsonl of the same annotation run",
            )
        if split not in out:
            raise TvauError(
                f"{config} row {i + 1} is in split {split!r}, which no video has",
                field="split",
                fix="give every record its video's split",
            )
        out[split].append(row)
    return out


def shard_bounds(num_rows: int, nbytes: int, max_bytes: int) -> list[tuple[int, int]]:
    """Row ranges ``[lo, hi)`` of near-equal shards so that each holds at most about ``max_bytes``."""
    if max_bytes <= 0:
        raise TvauError("max shard size must be positive", field="max_shard_bytes")
    k = max(1, min(num_rows, math.ceil(nbytes / max_bytes)))
    return [(i * num_rows // k, (i + 1) * num_rows // k) for i in range(k)]


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically (``v:2`` before ``v:10``)."""
    return tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(text))


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "samples": lambda r: (
        natural_key(r["video_id"]),
        r["start_frame"],
        r["end_frame"],
        natural_key(r["sample_id"]),
    ),
    "videos": lambda r: natural_key(r["video_id"]),
    "tracks": lambda r: (natural_key(r["video_id"]), natural_key(r["target_id"]), r["frame"]),
}
