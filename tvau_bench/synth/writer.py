"""The generated dataset: which clips go to which split under which name, and writing them through the
``tvau_bench.sources`` writers in the UBnormal and ShanghaiTech layouts, with ``truth.jsonl`` in each root.

Unlike the real UBnormal (whose anomaly types differ between splits), every split here draws from the same
anomaly kinds, so a model trained on the train split can be tested on the others; ShanghaiTech's training
videos are normal only, as in the real dataset.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .._io import write_jsonl
from ..errors import TvauError
from ..progress import progress
from .behaviours import ANOMALY_KINDS
from .clip import Clip, ClipSpec, make_clip
from .scene import SceneLayout, build_layout
from .truth import truth_record

UB_FPS = 30.0
ST_FPS = 25.0
FORMATS = ("ubnormal", "shanghaitech", "both")
SPLIT_KEYS = {"train": "training", "validation": "validation", "test": "test"}
_SPLIT_CODE = {"train": 1, "validation": 2, "test": 3}
# effect of the i-th video of a list (abnormal and normal lists counted separately), shifted per split
_EFFECTS = (None, "fog", None, None, "smoke", None)


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the generated set. UBnormal counts are per split (about half abnormal, at least one of each);
    ShanghaiTech has normal training videos and mostly abnormal test videos (the first one abnormal in every
    frame)."""

    width: int = 320
    height: int = 240
    frames: int = 120
    scenes: int = 3
    # The AHD trains on the train split alone (UBnormal's protocol): half of these are abnormal, 4 anomalies each.
    ub_train: int = 10
    ub_validation: int = 4
    ub_test: int = 6
    st_train: int = 4
    st_test: int = 6
    anomalies_per_video: int = 4

    def check(self) -> None:
        """Raise :class:`TvauError` for sizes the generator cannot honour."""
        rules = [
            ("width", self.width >= 96, "at least 96"),
            ("height", self.height >= 72, "at least 72"),
            ("width", self.width <= 4096 and self.height <= 4096, "at most 4096 by 4096"),
            ("frames", 24 <= self.frames <= 10000, "between 24 and 10000"),
            ("scenes", 1 <= self.scenes <= 99, "between 1 and 99"),
            ("anomalies_per_video", 1 <= self.anomalies_per_video <= 8, "between 1 and 8"),
        ]
        for name in ("ub_train", "ub_validation", "ub_test", "st_test"):
            rules.append(
                (name, 2 <= getattr(self, name) <= 999, "between 2 and 999 (one normal and one abnormal)")
            )
        rules.append(("st_train", 1 <= self.st_train <= 999, "between 1 and 999"))
        for name, ok, want in rules:
            if not ok:
                raise TvauError(
                    f"{name} = {getattr(self, name)} is out of range", field=name, fix=f"use a value {want}"
                )


PRESETS: dict[str, SynthConfig] = {
    "ci": SynthConfig(),
    "demo": SynthConfig(
        width=480,
        height=360,
        frames=240,
        scenes=4,
        ub_train=18,
        ub_validation=6,
        ub_test=12,
        st_train=8,
        st_test=10,
    ),
}


@dataclass(frozen=True)
class PlannedVideo:
    """One video to write: its name, split, scene and clip spec."""

    name: str
    split: str
    scene: int
    abnormal: bool
    spec: ClipSpec
    crlf: bool = True
    stale_tracks: bool = False  # write an outdated _tracks.txt next to the true _new_tracks.txt


def _anomaly_lists(n_videos: int, per_video: int, offset: int, single_last: bool) -> list[tuple[str, ...]]:
    """Anomaly kinds for a split's abnormal videos: consecutive blocks of the kinds cycle, so a split with
    ``ceil(12 / per_video)`` abnormal videos shows every kind; optionally the last video has one anomaly."""
    out, k = [], offset
    for i in range(n_videos):
        if single_last and i == n_videos - 1 and n_videos > 1:
            out.append(("running",))  # a video whose tracks file has a single row
            continue
        out.append(tuple(ANOMALY_KINDS[(k + j) % len(ANOMALY_KINDS)] for j in range(per_video)))
        k += per_video
    return out


def plan_ubnormal(cfg: SynthConfig, seed: int) -> list[PlannedVideo]:
    """Names, splits and specs of the UBnormal-layout videos."""
    videos: list[PlannedVideo] = []
    scenario: dict[tuple[str, int], int] = {}
    g = 0
    for split, total in (("train", cfg.ub_train), ("validation", cfg.ub_validation), ("test", cfg.ub_test)):
        n_abn = math.ceil(total / 2)
        kinds = _anomaly_lists(n_abn, cfg.anomalies_per_video, 0, single_last=split == "validation")
        for kind, count in (("abnormal", n_abn), ("normal", total - n_abn)):
            for i in range(count):
                scene = 1 + g % cfg.scenes
                g += 1
                k = scenario[(kind, scene)] = scenario.get((kind, scene), 0) + 1
                effect = _EFFECTS[(i + _SPLIT_CODE[split] + (kind == "normal")) % len(_EFFECTS)]
                name = f"{kind}_scene_{scene}_scenario_{k}" + (f"_{effect}" if effect else "")
                spec = ClipSpec(
                    (int(seed), 1, _SPLIT_CODE[split], int(kind == "abnormal"), i),
                    kinds[i] if kind == "abnormal" else (),
                    effect,
                )
                videos.append(
                    PlannedVideo(
                        name,
                        split,
                        scene,
                        kind == "abnormal",
                        spec,
                        crlf=i % 2 == 0,
                        stale_tracks=split == "test" and kind == "abnormal" and i == 0,
                    )
                )
    return videos


def plan_shanghaitech(cfg: SynthConfig, seed: int) -> list[PlannedVideo]:
    """Names and specs of the ShanghaiTech-layout videos (scenes shared with UBnormal's layouts)."""
    videos: list[PlannedVideo] = []
    st_scenes = min(cfg.scenes, 2) if cfg.scenes > 1 else 1
    count: dict[tuple[str, int], int] = {}
    for i in range(cfg.st_train):
        scene = 1 + i % st_scenes
        k = count[("train", scene)] = count.get(("train", scene), 0) + 1
        videos.append(
            PlannedVideo(f"{scene:02d}_{k:03d}", "train", scene, False, ClipSpec((int(seed), 2, 1, 0, i)))
        )
    n_norm = max(1, cfg.st_test // 3)
    n_abn = cfg.st_test - n_norm
    kinds = _anomaly_lists(n_abn, max(1, cfg.anomalies_per_video - 1), 3, single_last=False)
    for i in range(cfg.st_test):
        abnormal = i < n_abn
        scene = 1 + i % st_scenes
        k = count[("test", scene)] = count.get(("test", scene), 0) + 1
        if (
            abnormal and i == 0
        ):  # abnormal in every frame, like 04_0011: an anomaly inside the view from frame 0
            spec = ClipSpec((int(seed), 2, 3, 1, i), ("loitering", *kinds[i][:1]), all_abnormal=True)
        else:
            spec = ClipSpec((int(seed), 2, 3, int(abnormal), i), kinds[i] if abnormal else ())
        videos.append(PlannedVideo(f"{scene:02d}_{k:04d}", "test", scene, abnormal, spec))
    return videos


def truth_lines(video_id: str, clip: Clip) -> list[dict]:
    """The ``truth.jsonl`` records of one clip's objects, by object id."""
    return [
        truth_record(
            video_id,
            tr.object_id,
            tr.appearance,
            tr.labels,
            tr.abnormal,
            clip.boxes[tr.object_id],
            clip.full_boxes[tr.object_id],
            clip.abnormal_intervals.get(tr.object_id, []),
            clip.layout.width,
            clip.layout.height,
            clip.num_frames,
        )
        for tr in clip.tracks
    ]


def _stale(rows: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """An outdated version of the tracks rows: each interval ends a few frames early."""
    return [(o, s, max(s, e - 3)) for o, s, e in rows]


def layout_cache(cfg: SynthConfig, seed: int) -> Callable[[int], SceneLayout]:
    """``scene -> SceneLayout`` built once per scene (both layouts share the scenes of one seed)."""
    cache: dict[int, SceneLayout] = {}

    def layouts(scene: int) -> SceneLayout:
        if scene not in cache:
            cache[scene] = build_layout(int(seed), scene, cfg.width, cfg.height)
        return cache[scene]

    return layouts


def iter_clips(
    fmt: str, cfg: SynthConfig, seed: int, layouts: Callable[[int], SceneLayout] | None = None
) -> Iterator[tuple[PlannedVideo, Clip]]:
    """The planned videos of one layout (``"ubnormal"`` or ``"shanghaitech"``) with their rendered clips, in
    memory: exactly what :func:`generate` writes."""
    layouts = layouts or layout_cache(cfg, seed)
    plan = plan_ubnormal(cfg, seed) if fmt == "ubnormal" else plan_shanghaitech(cfg, seed)
    for pv in progress(plan, desc=f"synth {fmt}", unit="video"):
        yield pv, make_clip(layouts(pv.scene), pv.spec, cfg.frames)


def write_ubnormal(
    root: Path, cfg: SynthConfig, seed: int, layouts: Callable[[int], SceneLayout]
) -> list[dict]:
    """Write the UBnormal layout under ``root``; return the truth records."""
    from ..sources import ubnormal as ub

    plan = plan_ubnormal(cfg, seed)
    truth: list[dict] = []
    classes: dict[str, dict[int, str]] = {}
    for pv, clip in iter_clips("ubnormal", cfg, seed, layouts):
        rows = clip.tracks_rows() if pv.abnormal else None
        if pv.stale_tracks and rows:
            ub.write_video(
                root,
                pv.name,
                clip.frames,
                clip.id_maps,
                _stale(rows),
                fps=UB_FPS,
                crlf=pv.crlf,
                new_tracks=rows,
            )
        else:
            ub.write_video(root, pv.name, clip.frames, clip.id_maps, rows, fps=UB_FPS, crlf=pv.crlf)
        classes[pv.name] = {
            tr.object_id: tr.appearance.category for tr in clip.tracks if tr.appearance.category != "person"
        }
        truth += truth_lines(pv.name, clip)
    lists = {f"{k}_{SPLIT_KEYS[s]}": [] for s in SPLIT_KEYS for k in ("abnormal", "normal")}
    for pv in plan:
        lists[f"{'abnormal' if pv.abnormal else 'normal'}_{SPLIT_KEYS[pv.split]}"].append(pv.name)
    ub.write_split_lists(root, lists)
    ub.write_object_classes(root, {k: classes[k] for k in sorted(classes)})
    return truth


def write_shanghaitech(
    root: Path, cfg: SynthConfig, seed: int, layouts: Callable[[int], SceneLayout]
) -> list[dict]:
    """Write the ShanghaiTech layout under ``root``; return the truth records."""
    from ..sources import shanghaitech as st

    truth: list[dict] = []
    for pv, clip in iter_clips("shanghaitech", cfg, seed, layouts):
        if pv.split == "train":
            st.write_train_video(root, pv.name, clip.frames, fps=ST_FPS)
        else:
            st.write_test_video(
                root, pv.name, clip.frames, clip.pixel_masks(), frame_labels=clip.frame_labels()
            )
        truth += truth_lines(pv.name, clip)
    return truth


MARKER = ".tvau-synth"
MARKER_TEXT = "written by `tvau-bench synth`; the folder is replaced when synth runs again\n"


def _check_replaceable(root: Path) -> None:
    """A rerun may replace an earlier synth root, never any other folder (it could be a real dataset)."""
    if root.is_file() or (root.is_dir() and any(root.iterdir()) and not (root / MARKER).is_file()):
        raise TvauError(
            "exists and was not written by `tvau-bench synth`; refusing to replace it",
            path=root,
            fix="choose another --out folder or remove this one",
        )


def make_config(preset: str = "ci", **sizes: int | None) -> SynthConfig:
    """The preset's :class:`SynthConfig` with ``sizes`` (``None`` values ignored) overriding its fields."""
    if preset not in PRESETS:
        raise TvauError(f"unknown preset {preset!r}", field="preset", fix=f"use one of {', '.join(PRESETS)}")
    unknown = sorted(set(sizes) - set(SynthConfig.__dataclass_fields__))
    if unknown:
        raise TvauError(
            f"unknown size option(s) {', '.join(unknown)}",
            fix=f"use {', '.join(SynthConfig.__dataclass_fields__)}",
        )
    cfg = replace(PRESETS[preset], **{k: int(v) for k, v in sizes.items() if v is not None})
    cfg.check()
    return cfg


def generate(out: str | Path, *, fmt: str = "both", seed: int = 0, preset: str = "ci", **sizes: int) -> Path:
    """Generate the synthetic set under ``out``: ``out/ubnormal/`` and/or ``out/shanghaitech/``, each a
    complete root in that layout with a ``truth.jsonl``. ``sizes`` override fields of the preset's
    :class:`SynthConfig` (width, height, frames, scenes, ub_train, ub_validation, ub_test, st_train, st_test,
    anomalies_per_video). Same arguments, same bytes. Returns ``out``."""
    if fmt not in FORMATS:
        raise TvauError(f"unknown format {fmt!r}", field="format", fix=f"use one of {', '.join(FORMATS)}")
    cfg = make_config(preset, **sizes)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TvauError(f"seed {seed!r} must be a non-negative integer", field="seed")
    out = Path(out)
    layouts = layout_cache(cfg, int(seed))

    roots = [name for name in ("ubnormal", "shanghaitech") if fmt in (name, "both")]
    for name in roots:  # refuse before writing anything
        _check_replaceable(out / name)
    for name in roots:
        writer = write_ubnormal if name == "ubnormal" else write_shanghaitech
        # built beside the final root and renamed when complete: a killed run never leaves a root that looks
        # finished, and a rerun starts the partial one again from scratch
        partial = out / f".{name}.partial"
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        (partial / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        truth = writer(partial, cfg, int(seed), layouts)
        truth.sort(key=lambda r: (r["video_id"], r["object_id"]))
        write_jsonl(partial / "truth.jsonl", truth)
        root = out / name
        if root.exists():
            shutil.rmtree(root)  # an earlier synth output (checked above): stale files must not survive
        partial.rename(root)
    return out
