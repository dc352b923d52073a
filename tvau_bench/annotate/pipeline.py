"""Run orchestration: a source root and a recipe in, the three configs plus quarantine and report out.

Per video (:func:`annotate_video`): the targets' geometry, the frames each stage will look at (read once), then
:mod:`.stage1`, :mod:`.stage2` and :mod:`.stage3` in turn on a shared :class:`.state.VideoState`, and the
records, worded by :mod:`.words`.

Videos are processed in ``video_id`` order, one at a time (the requests of a video go out together, so an
``openai`` backend keeps its concurrency busy). Every VLM answer is cached on disk as soon as its batch returns,
so a killed run resumes: the rerun recomputes the cheap geometry and takes every answered request from the
cache. Outputs are written atomically at the end, sorted, so an interrupted and a clean run give the same
bytes. ``report.json`` alone holds timings and cache counts.

A request that still fails after every retry is quarantined, not cached, and listed in ``report.json`` under
``requests.failed`` (``video_id``, ``stage``, ``item``, ``error``); the outputs are then partial, and
``tvau-bench annotate`` exits with status 3 (``annotate.cli.EXIT_PARTIAL``) so a script does not export them unnoticed.
A rerun asks only the failed requests again.
"""

from __future__ import annotations

import os
import platform
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .._io import canonical_json, sha256_json, write_json, write_jsonl
from ..errors import TvauError
from ..progress import progress
from ..schemas import schema_errors
from . import dialogue, stage1, stage2, stage3
from .asker import Asker, AskStats
from .backends import make_backend
from .cache import RequestCache
from .motion import analyse, describe, waypoints
from .recipe import Recipe
from .sentences import appearance_sentence, garment
from .state import Counts, Quarantine, Target, VideoState, failed_requests
from .timelines import Observation, geometry_pass, majority
from .vocab import normalise_category
from .words import SLOTS, action_sequence, target_answer, trajectory

PIPELINE_VERSION = "annotate-1"
OUTPUTS = ("videos.jsonl", "samples.jsonl", "tracks.jsonl", "quarantine.jsonl", "report.json")


def run(
    recipe: Recipe,
    source_root: str | Path,
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    videos: list[str] | None = None,
) -> dict:
    """Annotate every video of the recipe's splits (or only ``videos``); returns the report."""
    from ..sources import open_source

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = open_source(source_root)
    backend = make_backend(recipe)
    asker = Asker(backend, RequestCache(cache_dir if cache_dir is not None else out / "cache"))
    todo = select_videos(source, recipe, videos)
    try:
        merged = write_outputs(
            out, (annotate_one(v, recipe, asker) for v in progress(todo, desc="annotate", unit="video"))
        )
        info = backend_info(backend)
    finally:
        backend.close()
    report = build_report(recipe, source, info, asker.stats, merged, time.perf_counter() - t0)
    write_json(out / "report.json", report)
    return report


@dataclass
class VideoResult:
    """What annotating one video gives: the rows of each output file and the video's counts."""

    record: dict
    samples: list[dict]
    tracks: list[dict]
    quarantine: list[dict]
    counts: Counts


@dataclass
class Merged:
    """The rows written by :func:`write_outputs`, and the totals the report needs."""

    videos: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    n_frames: int = 0


def annotate_one(video, recipe: Recipe, asker: Asker) -> VideoResult:
    """Annotate one video and check its records against the schemas (the unit every engine runs)."""
    counts = Counts()
    rec, samples, tracks, quarantine = annotate_video(video, recipe, asker, counts)
    _check(rec, "video")
    for s in samples:
        _check(s, "sample")
    counts.add("videos")
    return VideoResult(rec, samples, tracks, quarantine, counts)


def write_outputs(out: Path, results: Iterable[VideoResult]) -> Merged:
    """Write videos/samples/tracks/quarantine JSONL from per-video results given in ``video_id`` order.

    Track rows (the bulk) stream to a temporary file; every file appears atomically at the end, so the bytes
    depend only on the results, not on how or where they were computed.
    """
    merged = Merged()
    # One fixed name: a run killed before the end leaves it behind, and the next run overwrites it.
    tracks_tmp = out / ".tracks.jsonl.tmp"
    try:
        with open(tracks_tmp, "w", encoding="utf-8") as tracks_fh:
            for res in results:
                vid = res.record["video_id"]
                merged.videos.append(res.record)
                merged.samples += res.samples
                merged.quarantine += res.quarantine
                merged.failed += failed_requests(vid, res.quarantine)
                for row in res.tracks:
                    tracks_fh.write(canonical_json(row) + "\n")
                merged.n_frames += res.record["num_frames"]
                merged.counts.merge(res.counts)
            tracks_fh.flush()
            os.fsync(tracks_fh.fileno())
        merged.samples.sort(key=dialogue.sample_sort_key)
        write_jsonl(out / "videos.jsonl", merged.videos)
        write_jsonl(out / "samples.jsonl", merged.samples)
        write_jsonl(out / "quarantine.jsonl", merged.quarantine)
        os.replace(tracks_tmp, out / "tracks.jsonl")
    finally:
        tracks_tmp.unlink(missing_ok=True)
    return merged


def backend_info(backend) -> dict:
    """The ``backend`` section of report.json (computed where the backend lives: a worker, under Ray)."""
    return {**backend.provenance(), "kind": backend.name, "identity": backend.identity()}


def select_videos(source, recipe: Recipe, only: list[str] | None) -> list:
    """The videos of the recipe's splits (or only those named), in ``video_id`` order."""
    have = set(source.splits())
    vids = [v for split in recipe.splits if split in have for v in source.videos(split)]
    vids.sort(key=lambda v: v.video_id)
    if only is not None:
        wanted = set(only)
        missing = wanted - {v.video_id for v in vids}
        if missing:
            raise TvauError(
                f"videos not found in the recipe's splits: {sorted(missing)[:5]}", field="--video"
            )
        vids = [v for v in vids if v.video_id in wanted]
    return vids


def _check(rec: dict, schema: str) -> None:
    errs = schema_errors(rec, schema)
    if errs:  # our own output: a bug, reported with the record's id
        ident = rec.get("sample_id") or rec.get("video_id")
        raise TvauError(f"internal error: {schema} record {ident} breaks the schema: {errs[0]}")


def annotate_video(video, recipe: Recipe, asker: Asker, counts: Counts) -> tuple[dict, list, list, list]:
    """All three stages for one video: ``(video record, samples, track rows, quarantine records)``."""
    vid = video.video_id
    fps = float(video.fps) if video.fps and video.fps > 0 else 25.0
    width, height, num_frames = int(video.width), int(video.height), int(video.num_frames)
    state = VideoState(vid, fps, counts)
    state.targets = targets = _targets(video, recipe, fps, state.quarantine)
    counts.add("targets", len(targets))
    counts.add("abnormal_targets", sum(1 for t in targets.values() if t.obj.is_abnormal))

    # Plan the frames every stage looks at, then read only those images and masks.
    frames1 = stage1.plan(recipe, num_frames, targets)
    views2 = stage2.plan(recipe, targets)
    needed = sorted(set(frames1) | {f for a, b in views2.values() for f in (*a, *b)})
    state.images = dict(zip(needed, video.frames(needed), strict=True)) if needed else {}
    state.masks = {f: video.object_masks(f) for f in needed}
    state.speeds = {oid: t.geo.speeds(fps) for oid, t in targets.items()}

    stage1.run(recipe, asker, state, frames1)
    stage2.run(recipe, asker, state, views2)
    stage3.run(recipe, asker, state)

    records, tracks_rows, samples = [], [], []
    for t in targets.values():
        stage3.settle(recipe, state, t)
        rec, actions = _target_record(vid, t, width, height, recipe)
        records.append(rec)
        tracks_rows += _track_rows(vid, t)
        samples += _abnormal_samples(video, t, rec, actions, recipe, fps, state.quarantine)
    d = recipe.dialogue
    for clip in dialogue.normal_clips(
        video.frame_labels(), d.normal_clip_frames, d.normal_clips_per_video, d.normal_margin
    ):
        samples.append(dialogue.normal_sample(vid, video.split, clip, d.frames_per_sample))
    counts.add("samples_yes", sum(1 for s in samples if s["label"] == "Yes"))
    counts.add("samples_no", sum(1 for s in samples if s["label"] == "No"))
    counts.add("track_rows", len(tracks_rows))
    prov = {
        **asker.backend.provenance(),
        "prompt_hashes": recipe.prompt_hashes(),
        "pipeline_version": PIPELINE_VERSION,
    }
    video_rec = {
        "video_id": vid,
        "source": video.source,
        "split": video.split,
        "scene": str(video.scene),
        "video_path": video.video_path,
        "num_frames": num_frames,
        "fps": round(fps, 6),
        "width": width,
        "height": height,
        "abnormal_intervals": [[int(s), int(e)] for s, e in video.abnormal_intervals()],
        "targets": records,
        "provenance": prov,
    }
    return video_rec, sorted(samples, key=dialogue.sample_sort_key), tracks_rows, state.quarantine.records


def _targets(video, recipe: Recipe, fps: float, quarantine: Quarantine) -> dict[int, Target]:
    """The video's objects visible in their masks, with their geometry and measured motion over the video."""
    geos, _ = geometry_pass(video)
    targets: dict[int, Target] = {}
    for o in {o.object_id: o for o in video.objects()}.values():  # one target per object id
        item = f"{video.video_id}:{o.object_id}"
        geo = geos.get(o.object_id)
        if geo is None or not geo.frames:
            quarantine.add(item, "stage1", "target never visible in its masks")
            continue
        m = analyse(
            geo.frames,
            geo.boxes,
            width=int(video.width),
            height=int(video.height),
            fps=fps,
            params=recipe.motion,
            span=(0, int(video.num_frames) - 1),
        )
        targets[o.object_id] = Target(item, o, geo, m)
    return targets


def _target_record(vid: str, t: Target, width: int, height: int, recipe: Recipe) -> tuple[dict, list[str]]:
    """The target's record in ``videos.jsonl``, and its actions (for its samples' answers)."""
    w = t.verdict.winners
    meta = normalise_category(t.obj.category) if t.obj.category != "unknown" else "other"
    category = w.get("category") or meta
    colours = {k: w.get(k) for k in SLOTS}
    s2obs = stage2.observation(t.s2) if t.s2 is not None else None
    pool = ([s2obs] if s2obs else []) + list(t.obs)
    upper = majority(o.upper_clothing for o in pool)
    lower = majority(o.lower_clothing for o in pool)
    carried_votes = Counter(c for o in pool for c in set(o.carried))
    carried = tuple(sorted(c for c, n in carried_votes.items() if n * 2 >= len(pool))) if pool else ()
    actions = _actions(t, s2obs)
    rec = {
        "target_id": t.item,
        "object_id": int(t.obj.object_id),
        "category": category,
        "is_abnormal": bool(t.obj.is_abnormal),
        "abnormal_intervals": [[int(s), int(e)] for s, e in t.obj.abnormal_intervals],
        "first_frame": int(t.geo.frames[0]),
        "last_frame": int(t.geo.frames[-1]),
        "appearance": appearance_sentence(category, colours, upper, lower, carried),
        "attributes": {
            # In slot order top, bottom, body (not deduplicated), so each colour's place can be read back.
            "colours": [colours[k] for k in SLOTS if colours[k]],
            "upper_clothing": garment(colours["top"], upper, "top") if category != "car" else None,
            "lower_clothing": garment(colours["bottom"], lower, "trousers") if category != "car" else None,
            "carried_objects": list(carried),
        },
        "action": ", then ".join(actions),
        "trajectory": describe(t.measured),
        "waypoints": waypoints(
            t.geo.frames, t.geo.centres, width=width, height=height, count=recipe.waypoints
        ),
        "consistency": float(t.verdict.consistency),
        "verified": t.status == "verified",
    }
    return rec, actions


def _actions(t: Target, s2obs: Observation | None) -> list[str]:
    """Normal targets: the most common frame-level action. Abnormal: what it did before, then the focused one."""
    if s2obs is None:
        return action_sequence(None, majority(o.action for o in t.obs))
    start = min(s for s, _ in t.obj.abnormal_intervals)
    return action_sequence(majority(o.action for o in t.obs if o.frame < start), s2obs.action)


def _abnormal_samples(
    video, t: Target, rec: dict, actions: list[str], recipe: Recipe, fps: float, quarantine: Quarantine
) -> list[dict]:
    """One sample per abnormal interval of the target (none when it is quarantined: those are recorded)."""
    if not t.obj.is_abnormal:
        return []
    samples = []
    width, height, num_frames = int(video.width), int(video.height), int(video.num_frames)
    for iv in t.obj.abnormal_intervals:
        clip = dialogue.abnormal_clip(iv, num_frames, recipe.dialogue.context_frames)
        traj = trajectory(t.geo, clip, width=width, height=height, fps=fps, params=recipe.motion)
        sample = dialogue.abnormal_sample(
            video.video_id,
            video.split,
            clip,
            t.obj.object_id,
            target_answer(rec["appearance"], actions),
            traj or rec["trajectory"],
            recipe.dialogue.frames_per_sample,
            verified=t.status == "verified",
        )
        if t.status == "quarantined":
            evidence = {"consistency": t.verdict.consistency}
            quarantine.add(sample["sample_id"], "dialogue", "target quarantined", evidence)
            continue
        samples.append(sample)
    return samples


def _track_rows(vid: str, t: Target) -> list[dict]:
    ivs = t.obj.abnormal_intervals
    return [
        {
            "video_id": vid,
            "target_id": t.item,
            "frame": int(f),
            "box": [int(v) for v in box],
            "mask": rle,
            "is_abnormal": any(s <= f <= e for s, e in ivs),
        }
        for f, box, rle in zip(t.geo.frames, t.geo.boxes, t.geo.rles, strict=True)
    ]


def build_report(
    recipe: Recipe, source, backend: dict, stats: AskStats, merged: Merged, elapsed: float, **extra
) -> dict:
    """report.json: counts, stage statistics, request accounting and timings (``extra`` keys added)."""
    counts, samples, quarantine = merged.counts, merged.samples, merged.quarantine
    hist = (
        np.histogram(counts.consistency, bins=10, range=(0.0, 1.0))[0].tolist()
        if counts.consistency
        else [0] * 10
    )
    c = counts.c
    return {
        "pipeline_version": PIPELINE_VERSION,
        "package_version": __version__,
        "recipe": {"name": recipe.name, "path": recipe.path, "hash": sha256_json(recipe.fingerprint())},
        "source": {"layout": source.layout, "root": str(source.root)},
        "backend": backend,
        "counts": {
            "videos": c["videos"],
            "frames": merged.n_frames,
            "targets": c["targets"],
            "abnormal_targets": c["abnormal_targets"],
            "samples": len(samples),
            "samples_yes": c["samples_yes"],
            "samples_no": c["samples_no"],
            "track_rows": c["track_rows"],
            "quarantined_records": len(quarantine),
        },
        "stages": {
            "stage1": {"frames_asked": c["stage1_frames"], "observations": c["stage1_observations"]},
            "stage2": {"targets_asked": c["stage2_targets"]},
            "stage3": {
                "reasked": c["stage3_reasked"],
                "verified": c["stage3_verified"],
                "flagged": c["stage3_flagged"],
                "quarantined": c["stage3_quarantined"],
            },
            "quarantine_by_reason": dict(
                sorted(Counter(f"{q['stage']}: {q['reason']}" for q in quarantine).items())
            ),
        },
        "consistency_histogram": {"bins": [round(i / 10, 1) for i in range(11)], "counts": hist},
        "requests": {**stats.as_dict(), "failed": merged.failed},
        "timings": {
            "seconds": round(elapsed, 3),
            "frames_per_second": round(merged.n_frames / elapsed, 2) if elapsed > 0 else None,
            "python": platform.python_version(),
        },
        **extra,
    }
