"""Run orchestration: a source root and a recipe in, the three configs plus quarantine and report out.

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
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from .._io import canonical_json, sha256_json, write_json, write_jsonl
from ..errors import TvauError
from ..progress import progress
from ..schemas import schema_errors
from . import dialogue, stage1, stage2, stage3
from .asker import Asker
from .backends import make_backend
from .backends.base import Request, Response
from .cache import RequestCache
from .motion import Motion, analyse, describe, waypoints
from .recipe import Recipe
from .sampling import stage1_frames, uniform_from, within
from .sentences import action_sentence, appearance_sentence, garment
from .timelines import GeoTrack, Observation, geometry_pass, majority
from .vocab import normalise_category

PIPELINE_VERSION = "annotate-1"
OUTPUTS = ("videos.jsonl", "samples.jsonl", "tracks.jsonl", "quarantine.jsonl", "report.json")
# Quarantine reasons written for a request that got no answer after every retry (stage 1, stage 2, re-ask):
# one record per failed request, so they name exactly the requests counted in ``requests.failures``.
_REQUEST_FAILED = frozenset({"request failed", "re-ask failed"})


@dataclass
class Counts:
    """Per-stage counts for the report."""

    c: Counter = field(default_factory=Counter)
    consistency: list[float] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.c[key] += n


@dataclass
class _Target:
    obj: object  # SourceObject
    geo: GeoTrack
    measured: Motion
    obs: list[Observation] = field(default_factory=list)
    s2_request: Request | None = None
    s2: Response | None = None
    verdict: stage3.Verdict | None = None
    status: str = "verified"
    reasons: list[str] = field(default_factory=list)


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
    todo = _select(source, recipe, videos)
    counts = Counts()
    video_rows, sample_rows, quarantine, failed = [], [], [], []
    # One fixed name: a run killed before the end leaves it behind, and the next run overwrites it.
    tracks_tmp = out / ".tracks.jsonl.tmp"
    n_frames = 0
    try:
        with open(tracks_tmp, "w", encoding="utf-8") as tracks_fh:
            for video in progress(todo, desc="annotate", unit="video"):
                rec, samples, tracks, quar = annotate_video(video, recipe, asker, counts)
                _check(rec, "video")
                for s in samples:
                    _check(s, "sample")
                video_rows.append(rec)
                sample_rows += samples
                quarantine += quar
                failed += failed_requests(video.video_id, quar)
                for row in tracks:
                    tracks_fh.write(canonical_json(row) + "\n")
                n_frames += rec["num_frames"]
                counts.add("videos")
            tracks_fh.flush()
            os.fsync(tracks_fh.fileno())
        sample_rows.sort(key=dialogue.sample_sort_key)
        write_jsonl(out / "videos.jsonl", video_rows)
        write_jsonl(out / "samples.jsonl", sample_rows)
        write_jsonl(out / "quarantine.jsonl", quarantine)
        os.replace(tracks_tmp, out / "tracks.jsonl")
    finally:
        tracks_tmp.unlink(missing_ok=True)
        backend.close()
    elapsed = time.perf_counter() - t0
    report = _report(
        recipe, source, backend, asker, counts, video_rows, sample_rows, quarantine, failed, n_frames, elapsed
    )
    write_json(out / "report.json", report)
    return report


def failed_requests(video_id: str, quarantine: list[dict]) -> list[dict]:
    """The requests of one video that failed for good, read from its quarantine records."""
    return [
        {"video_id": video_id, "stage": q["stage"], "item": q["item"], "error": q["evidence"].get("error")}
        for q in quarantine
        if q["reason"] in _REQUEST_FAILED
    ]


def _select(source, recipe: Recipe, only: list[str] | None) -> list:
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
    objects = {o.object_id: o for o in video.objects()}
    geos, _ = geometry_pass(video)
    quarantine: list[dict] = []
    targets: dict[int, _Target] = {}
    for oid, o in objects.items():
        geo = geos.get(oid)
        if geo is None or not geo.frames:
            quarantine.append(
                {
                    "item": f"{vid}:{oid}",
                    "stage": "stage1",
                    "reason": "target never visible in its masks",
                    "evidence": {},
                }
            )
            continue
        m = analyse(
            geo.frames,
            geo.boxes,
            width=width,
            height=height,
            fps=fps,
            params=recipe.motion,
            span=(0, num_frames - 1),
        )
        targets[oid] = _Target(o, geo, m)
    counts.add("targets", len(targets))
    counts.add("abnormal_targets", sum(1 for t in targets.values() if t.obj.is_abnormal))

    # Plan the frames every stage looks at, then read only those images and masks.
    s1 = recipe.stage1
    frames1 = (
        stage1_frames(
            num_frames,
            [t.geo.frames for t in targets.values()],
            per_video=s1.frames_per_video,
            per_target=s1.frames_per_target,
            max_frames=s1.max_frames,
        )
        if targets
        else []
    )
    plan2: dict[int, tuple[list[int], list[int]]] = {}
    for oid, t in targets.items():
        if not t.obj.is_abnormal:
            continue
        inside = within(t.geo.frames, t.obj.abnormal_intervals) or t.geo.frames
        plan2[oid] = (
            uniform_from(inside, recipe.stage2.views),
            uniform_from(t.geo.frames, recipe.stage2.track_views),
        )
    needed = sorted(set(frames1) | {f for a, b in plan2.values() for f in (*a, *b)})
    images = dict(zip(needed, video.frames(needed), strict=True)) if needed else {}
    masks = {f: video.object_masks(f) for f in needed}
    speeds = {oid: t.geo.speeds(fps) for oid, t in targets.items()}
    categories = {oid: t.obj.category for oid, t in targets.items()}

    # Stage 1: one request per sampled frame with targets in it.
    reqs1, asked1 = [], []
    for f in frames1:
        asked = {oid: m for oid, m in masks[f].items() if oid in targets and int(m.sum()) >= s1.min_pixels}
        if not asked:
            continue
        reqs1.append(
            stage1.build_request(
                recipe, vid, f, images[f], asked, categories, {o: speeds[o].get(f, 0.0) for o in asked}
            )
        )
        asked1.append((f, set(asked)))
    counts.add("stage1_frames", len(reqs1))
    for req, resp, (f, asked) in zip(reqs1, asker.ask(reqs1), asked1, strict=True):
        obs, problems = stage1.observations(req, resp, asked, f)
        quarantine += problems
        for oid, o in obs.items():
            targets[oid].obs.append(o)
        counts.add("stage1_observations", len(obs))

    # Stage 2: target-focused views of each abnormal target.
    reqs2 = []
    for oid, (crop_f, track_f) in plan2.items():
        t = targets[oid]
        ab = [speeds[oid][f] for f in within(t.geo.frames, t.obj.abnormal_intervals)] or list(
            speeds[oid].values()
        )
        t.s2_request = stage2.build_request(
            recipe,
            f"{vid}:{oid}",
            t.obj.category,
            crop_f,
            track_f,
            images,
            {f: masks[f][oid] for f in (*crop_f, *track_f)},
            t.geo,
            fps=fps,
            abnormal_speed=float(statistics.median(ab)) if ab else 0.0,
        )
        reqs2.append(t.s2_request)
    counts.add("stage2_targets", len(reqs2))
    for req, resp in zip(reqs2, asker.ask(reqs2), strict=True):
        t = targets[int(req.item.rsplit(":", 1)[1])]
        t.s2 = resp
        if not resp.ok:
            t.reasons.append("stage 2 failed")
            quarantine.append(
                {
                    "item": req.item,
                    "stage": "stage2",
                    "reason": "request failed",
                    "evidence": {"error": resp.error},
                }
            )

    # Stage 3: vote and check motion; re-ask once with the evidence where they disagree.
    reasks: list[tuple[_Target, Request]] = []
    for t in targets.values():
        _assess(t, recipe)
        if (
            recipe.stage3.reask
            and t.s2 is not None
            and t.s2.ok
            and t.verdict.consistency < recipe.stage3.accept
        ):
            text = stage3.evidence_text(
                t.verdict, t.s2.answer["motion"], t.measured.features(), stage2.observation(t.s2)
            )
            reasks.append((t, stage3.reask_request(recipe, t.s2_request, text, t.measured.features())))
    counts.add("stage3_reasked", len(reasks))
    for (t, req), resp in zip(reasks, asker.ask([r for _, r in reasks]), strict=True):
        if resp.ok:
            t.s2 = resp
            _assess(t, recipe)
        else:
            quarantine.append(
                {
                    "item": req.item,
                    "stage": "stage3",
                    "reason": "re-ask failed",
                    "evidence": {"error": resp.error},
                }
            )
    records = []
    tracks_rows = []
    samples = []
    for oid, t in targets.items():
        t.status = stage3.status(t.verdict.consistency, recipe)
        if t.obj.is_abnormal and (t.s2 is None or not t.s2.ok):
            t.status = "quarantined"
        if not t.obs and (t.s2 is None or not t.s2.ok):
            t.status = "quarantined"
            t.reasons.append("no annotator answer")
        counts.add(f"stage3_{t.status}")
        counts.consistency.append(t.verdict.consistency)
        for o in t.verdict.outliers:
            quarantine.append(
                {"item": f"{vid}:{oid}", "stage": "stage3", "reason": "appearance outlier", "evidence": o}
            )
        if t.status != "verified":
            quarantine.append(
                {
                    "item": f"{vid}:{oid}",
                    "stage": "stage3",
                    "reason": f"target {t.status}",
                    "evidence": _verdict_evidence(t),
                }
            )
        rec = _target_record(vid, t, width, height, recipe)
        records.append(rec)
        tracks_rows += _track_rows(vid, t)
        if t.obj.is_abnormal:
            for iv in t.obj.abnormal_intervals:
                clip = dialogue.abnormal_clip(iv, num_frames, recipe.dialogue.context_frames)
                traj = _clip_trajectory(t, clip, width, height, fps, recipe) or rec["trajectory"]
                answer = " ".join(x for x in (rec["appearance"], action_sentence(rec["_actions"])) if x)
                sample = dialogue.abnormal_sample(
                    vid, video.split, clip, oid, answer, traj, recipe.dialogue.frames_per_sample
                )
                if t.status == "quarantined":
                    quarantine.append(
                        {
                            "item": sample["sample_id"],
                            "stage": "dialogue",
                            "reason": "target quarantined",
                            "evidence": {"consistency": t.verdict.consistency},
                        }
                    )
                    continue
                samples.append(sample)
        rec.pop("_actions")
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
    return video_rec, sorted(samples, key=dialogue.sample_sort_key), tracks_rows, quarantine


def _assess(t: _Target, recipe: Recipe) -> None:
    obs = list(t.obs)
    weights = [1] * len(obs)
    claimed = None
    s2obs = stage2.observation(t.s2) if t.s2 is not None else None
    if s2obs is not None:
        obs.append(s2obs)
        weights.append(recipe.stage3.stage2_weight)
        claimed = t.s2.answer["motion"]
    t.verdict = stage3.assess(obs, weights, claimed, t.measured.features())


def _verdict_evidence(t: _Target) -> dict:
    v = t.verdict
    return {
        "consistency": v.consistency,
        "appearance_agreement": round(v.appearance, 4),
        "motion_agreement": None if v.motion is None else round(v.motion, 4),
        "motion_scores": v.motion_scores,
        "measured_motion": t.measured.features(),
        "claimed_motion": t.s2.answer["motion"] if t.s2 is not None and t.s2.ok else None,
        "reasons": t.reasons,
    }


def _target_record(vid: str, t: _Target, width: int, height: int, recipe: Recipe) -> dict:
    w = t.verdict.winners
    meta = normalise_category(t.obj.category) if t.obj.category != "unknown" else "other"
    category = w.get("category") or meta
    colours = {k: w.get(k) for k in ("top", "bottom", "body")}
    obs = list(t.obs)
    s2obs = stage2.observation(t.s2) if t.s2 is not None else None
    pool = ([s2obs] if s2obs else []) + obs
    upper = majority(o.upper_clothing for o in pool)
    lower = majority(o.lower_clothing for o in pool)
    carried_votes = Counter(c for o in pool for c in set(o.carried))
    carried = tuple(sorted(c for c, n in carried_votes.items() if n * 2 >= len(pool))) if pool else ()
    actions = _actions(t, s2obs)
    return {
        "target_id": f"{vid}:{t.obj.object_id}",
        "object_id": int(t.obj.object_id),
        "category": category,
        "is_abnormal": bool(t.obj.is_abnormal),
        "abnormal_intervals": [[int(s), int(e)] for s, e in t.obj.abnormal_intervals],
        "first_frame": int(t.geo.frames[0]),
        "last_frame": int(t.geo.frames[-1]),
        "appearance": appearance_sentence(category, colours, upper, lower, carried),
        "attributes": {
            # In slot order top, bottom, body (not deduplicated), so each colour's place can be read back.
            "colours": [c for c in (colours["top"], colours["bottom"], colours["body"]) if c],
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
        "_actions": actions,
    }


def _actions(t: _Target, s2obs: Observation | None) -> list[str]:
    """Normal targets: the most common frame-level action. Abnormal: what it did before, then the focused one."""
    ivs = t.obj.abnormal_intervals
    if s2obs is None:
        a = majority(o.action for o in t.obs)
        return [a] if a else []
    start = min(s for s, _ in ivs)
    before = majority(o.action for o in t.obs if o.frame < start)
    return [before, s2obs.action] if before and before != s2obs.action else [s2obs.action]


def _track_rows(vid: str, t: _Target) -> list[dict]:
    ivs = t.obj.abnormal_intervals
    return [
        {
            "video_id": vid,
            "target_id": f"{vid}:{t.obj.object_id}",
            "frame": int(f),
            "box": [int(v) for v in box],
            "mask": rle,
            "is_abnormal": any(s <= f <= e for s, e in ivs),
        }
        for f, box, rle in zip(t.geo.frames, t.geo.boxes, t.geo.rles, strict=True)
    ]


def _clip_trajectory(
    t: _Target, clip: tuple[int, int], width: int, height: int, fps: float, recipe: Recipe
) -> str | None:
    sub = t.geo.between(*clip)
    if not sub.frames:
        return None
    return describe(
        analyse(sub.frames, sub.boxes, width=width, height=height, fps=fps, params=recipe.motion, span=clip)
    )


def _report(
    recipe, source, backend, asker, counts, videos, samples, quarantine, failed, n_frames, elapsed
) -> dict:
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
        "backend": {**backend.provenance(), "kind": backend.name, "identity": backend.identity()},
        "counts": {
            "videos": c["videos"],
            "frames": n_frames,
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
        "requests": {**asker.stats.as_dict(), "failed": failed},
        "timings": {
            "seconds": round(elapsed, 3),
            "frames_per_second": round(n_frames / elapsed, 2) if elapsed > 0 else None,
            "python": platform.python_version(),
        },
    }
