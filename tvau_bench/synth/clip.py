"""One generated clip: plan the objects of a scene, render frames and id maps, derive per-object truth, and
check that the clip shows what it was planned to show (retrying with the next sub-seed when it does not)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .behaviours import ObjectTrack, plan_anomaly, plan_normal
from .render import Rect, render_clip
from .scene import SceneLayout
from .truth import Box, runs

MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class ClipSpec:
    """What to generate: the anomaly kinds (empty for a normal clip) and how."""

    key: tuple[int, ...]  # seeds this clip's random stream (with the attempt number)
    anomalies: tuple[str, ...] = ()
    effect: str | None = None
    all_abnormal: bool = False  # every frame must show an abnormal object (an anomaly present from frame 0)


@dataclass
class Clip:
    """A rendered clip and everything known about what it shows."""

    spec: ClipSpec
    layout: SceneLayout
    tracks: list[ObjectTrack]  # only objects visible in at least one frame, sorted by object id
    frames: list[np.ndarray]
    id_maps: list[np.ndarray]
    boxes: dict[int, dict[int, Box]] = field(default_factory=dict)  # object id -> frame -> inclusive box
    abnormal_intervals: dict[int, list[tuple[int, int]]] = field(
        default_factory=dict
    )  # abnormal objects only
    full_boxes: dict[int, dict[int, Box]] = field(
        default_factory=dict
    )  # boxes ignoring occlusion (in the image)

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def track(self, object_id: int) -> ObjectTrack:
        return next(t for t in self.tracks if t.object_id == object_id)

    def tracks_rows(self) -> list[tuple[int, int, int]]:
        """``(object_id, start, end)`` rows of the UBnormal tracks file, sorted."""
        return sorted((oid, s, e) for oid, ivs in self.abnormal_intervals.items() for s, e in ivs)

    def frame_labels(self) -> np.ndarray:
        lab = np.zeros(self.num_frames, np.uint8)
        for ivs in self.abnormal_intervals.values():
            for s, e in ivs:
                lab[s : e + 1] = 1
        return lab

    def pixel_masks(self) -> np.ndarray:
        """(T, H, W) uint8: 1 on the pixels of objects that are abnormal in that frame."""
        out = np.zeros((self.num_frames, self.layout.height, self.layout.width), np.uint8)
        for oid, ivs in self.abnormal_intervals.items():
            for s, e in ivs:
                for t in range(s, e + 1):
                    out[t][self.id_maps[t] == oid] = 1
        return out


def object_boxes(id_maps: list[np.ndarray], rects: list[dict[int, Rect]]) -> dict[int, dict[int, Box]]:
    """Inclusive box of every drawn object in every frame where it has visible pixels (searched only inside
    the rectangle it was drawn in)."""
    out: dict[int, dict[int, Box]] = {}
    for t, (m, frame_rects) in enumerate(zip(id_maps, rects, strict=True)):
        for oid, (x0, y0, x1, y1) in frame_rects.items():
            sel = (m[y0:y1, x0:x1] == oid).astype(np.uint8)
            x, y, w, h = cv2.boundingRect(sel)
            if w > 0 and h > 0:
                out.setdefault(oid, {})[t] = (x0 + x, y0 + y, x0 + x + w - 1, y0 + y + h - 1)
    return out


def abnormal_runs(track: ObjectTrack, visible: dict[int, Box]) -> list[tuple[int, int]]:
    """Inclusive intervals where the object is abnormal *and* visible (so labelled frames always have pixels)."""
    frames = [t for t in sorted(visible) if track.abnormal[t]]
    return [(s, e) for s, e, _ in runs([True] * len(frames), frames)]


def _accept(clip: Clip) -> bool:
    """The clip shows what its spec asked for."""
    n = clip.num_frames
    need = max(3, n // 10)
    for tr in clip.tracks:
        if not tr.planned_abnormal:
            continue
        ivs = clip.abnormal_intervals.get(tr.object_id, [])
        if sum(e - s + 1 for s, e in ivs) < need:
            return False
        if tr.kind == "run_twice" and len(ivs) < 2:
            return False
    planned = {tr.group for tr in clip.tracks if tr.planned_abnormal}
    if len(planned) < len(clip.spec.anomalies):  # an anomaly that never became visible
        return False
    labels = clip.frame_labels()
    if clip.spec.all_abnormal:
        return bool(labels.all())
    # an abnormal video also shows normal frames (frame-level scores must be able to tell them apart)
    return not clip.spec.anomalies or int((labels == 0).sum()) >= max(2, n // 10)


def make_clip(layout: SceneLayout, spec: ClipSpec, num_frames: int) -> Clip:
    """Plan, render and check a clip; deterministic in ``(spec.key, layout)``."""
    clip = None
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([*spec.key, attempt])
        density = 0.7 if spec.all_abnormal else 1.0
        tracks = plan_normal(layout, rng, num_frames, density=density)
        for g, kind in enumerate(spec.anomalies):
            for tr in plan_anomaly(layout, rng, num_frames, kind, from_start=spec.all_abnormal and g == 0):
                tr.group = g
                tracks.append(tr)
        for oid, tr in zip(rng.permutation(len(tracks)) + 1, tracks, strict=True):
            tr.object_id = int(oid)
        frames, maps, rects = render_clip(layout, tracks, num_frames, effect=spec.effect, rng=rng)
        boxes = object_boxes(maps, rects)
        visible = [tr for tr in tracks if tr.object_id in boxes]
        if len(visible) < len(tracks):
            # objects never seen (fully occluded or off-view) are dropped; ids are renumbered densely
            remap = {tr.object_id: i + 1 for i, tr in enumerate(sorted(visible, key=lambda t: t.object_id))}
            lut = np.zeros(256, np.uint8)
            for old, new in remap.items():
                lut[old] = new
            maps = [lut[m] for m in maps]
            rects = [{remap[k]: v for k, v in r.items() if k in remap} for r in rects]
            for tr in visible:
                tr.object_id = remap[tr.object_id]
            boxes = object_boxes(maps, rects)
        visible.sort(key=lambda t: t.object_id)
        intervals = {tr.object_id: abnormal_runs(tr, boxes[tr.object_id]) for tr in visible}
        full = {tr.object_id: {} for tr in visible}
        for t, frame_rects in enumerate(rects):
            for oid, (x0, y0, x1, y1) in frame_rects.items():
                full[oid][t] = (x0, y0, x1 - 1, y1 - 1)
        clip = Clip(
            spec, layout, visible, frames, maps, boxes, {k: v for k, v in intervals.items() if v}, full
        )
        if _accept(clip):
            return clip
    raise RuntimeError(f"could not generate a clip satisfying {spec} in {MAX_ATTEMPTS} attempts")
