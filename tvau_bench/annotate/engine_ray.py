"""``annotate --engine ray``: the videos of a run spread over a Ray cluster, same bytes as the default engine.

One row per video goes through Ray Data to a pool of actors; each actor holds a backend, the request cache and
the source, and runs :func:`.pipeline.annotate_one` (the very function of the single-process engine). Each
result comes back to the driver, which writes it at once, atomically, to ``OUT/.parts/KEY/VIDEO.json``; the
merge then reads the parts in ``video_id`` order through :func:`.pipeline.write_outputs`, so the output files
are byte-identical to a single-process run.

Resume: the parts are the checkpoint. A rerun (same recipe, so same ``KEY``) skips every video with a part and
sends only the rest; a kill loses only the videos in flight, whose answered requests are in the cache anyway.
A video with a failed request is merged but not counted as done, so a rerun retries it. On a complete run the
parts folder is removed and OUT holds exactly the single-process files. (Ray Data's own checkpointing needs a
file read at the start, a write sink at the end and a separate checkpoint store; the parts do the same job and
are the merge input as well.)
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

from .. import __version__
from .._io import atomic_write_text, canonical_json, sha256_json, write_json
from .._ray import connect, map_rows
from ..errors import TvauError
from ..progress import progress
from .asker import Asker, AskStats
from .pipeline import (
    PIPELINE_VERSION,
    Counts,
    VideoResult,
    annotate_one,
    backend_info,
    build_report,
    failed_requests,
    select_videos,
    write_outputs,
)
from .recipe import Recipe

PARTS = ".parts"


class VideoWorker:
    """A Ray actor: one backend, cache and source, reused for every video it is given."""

    def __init__(self, recipe: Recipe, source_root: str, cache_dir: str) -> None:
        from ..sources import open_source
        from .backends import make_backend
        from .cache import RequestCache

        self.recipe = recipe
        source = open_source(source_root)
        self.videos = {v.video_id: v for split in source.splits() for v in source.videos(split)}
        self.backend = make_backend(recipe)
        self.cache = RequestCache(cache_dir)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        asker = Asker(self.backend, self.cache)
        res = annotate_one(self.videos[row["video_id"]], self.recipe, asker)
        # JSON text columns: Arrow then never has to infer a schema from nested, ragged records.
        return {
            "video_id": row["video_id"],
            "part": canonical_json(_encode(res, backend_info(self.backend))),
            "stats": canonical_json(_stats_dict(asker.stats)),
        }

    def __del__(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()


def run_ray(
    recipe: Recipe,
    source_root: str | Path,
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    videos: list[str] | None = None,
    address: str | None = None,
    workers: int = 2,
) -> dict:
    """Annotate like :func:`.pipeline.run`, with ``workers`` Ray actors; returns the report."""
    from ..sources import open_source

    if workers < 1:
        raise TvauError(f"--workers must be at least 1, not {workers}", field="--workers")
    t0 = time.perf_counter()
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    source = open_source(source_root)
    todo = select_videos(source, recipe, videos)
    parts = out / PARTS / run_key(recipe)
    done = {v.video_id for v in todo if _finished(parts / f"{v.video_id}.json")}
    pending = [{"video_id": v.video_id} for v in todo if v.video_id not in done]
    stats = AskStats()
    if pending:
        connect(address, workers)
        init = {
            "recipe": recipe,
            "source_root": str(Path(source_root).absolute()),
            "cache_dir": str(Path(cache_dir).absolute() if cache_dir is not None else out / "cache"),
        }
        gpus = 1 if recipe.backend.kind == "vllm" else 0
        bar = progress(total=len(pending), desc="annotate (ray)", unit="video")
        try:
            for row in map_rows(VideoWorker, init, pending, workers=workers, num_gpus=gpus):
                atomic_write_text(parts / f"{row['video_id']}.json", row["part"] + "\n")
                stats.add(_stats_from(json.loads(row["stats"])))
                bar.update(1)
        finally:
            bar.close()
    backends: list[dict] = []

    def results():  # parts read one at a time, in video_id order: memory holds one video's tracks
        for v in todo:
            res, backend = _decode(_read_part(parts / f"{v.video_id}.json"))
            backends.append(backend)
            yield res

    merged = write_outputs(out, results())
    info = backends[0] if backends else {}
    extra = {"engine": {"name": "ray", "workers": workers, "videos_resumed": len(done)}}
    report = build_report(recipe, source, info, stats, merged, time.perf_counter() - t0, **extra)
    write_json(out / "report.json", report)
    if not merged.failed:  # complete: OUT now holds exactly the single-process engine's files
        shutil.rmtree(out / PARTS, ignore_errors=True)
    return report


def run_key(recipe: Recipe) -> str:
    """Names the parts of one recipe and code version: parts of another recipe are never reused."""
    return sha256_json(
        {"recipe": recipe.fingerprint(), "pipeline": PIPELINE_VERSION, "package": __version__}
    )[:16]


def _finished(path: Path) -> bool:
    """A part exists, parses and had no failed request (a video with one is redone to retry it)."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(part, dict) and part.get("complete") is True


def _read_part(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TvauError(
            f"unreadable per-video part: {exc}", path=path, fix="delete it and rerun the same command"
        ) from None


def _encode(res: VideoResult, backend: dict) -> dict:
    return {
        "record": res.record,
        "samples": res.samples,
        "tracks": res.tracks,
        "quarantine": res.quarantine,
        "counts": dict(res.counts.c),
        "consistency": res.counts.consistency,
        "backend": backend,
        "complete": not failed_requests(res.record["video_id"], res.quarantine),
    }


def _decode(part: dict) -> tuple[VideoResult, dict]:
    counts = Counts()
    counts.c.update(part["counts"])
    counts.consistency = list(part["consistency"])
    res = VideoResult(part["record"], part["samples"], part["tracks"], part["quarantine"], counts)
    return res, part["backend"]


def _stats_dict(stats: AskStats) -> dict:
    return {f.name: getattr(stats, f.name) for f in fields(stats)}


def _stats_from(d: dict) -> AskStats:
    stats = AskStats()
    for f in fields(stats):
        value = d[f.name]
        setattr(stats, f.name, Counter(value) if isinstance(value, dict) else value)
    return stats
