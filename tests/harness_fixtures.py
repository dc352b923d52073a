"""A tiny benchmark for the harness tests: UBnormal-layout videos of moving squares and their records.

Each video has one square object (id 1) moving with a fixed velocity; abnormal videos mark it abnormal over
the whole video. Sample and video records are valid against the schemas; dialogue answers are short
sentences whose words are known, so scripted models can be right or wrong on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tvau_bench._io import iter_jsonl, write_jsonl
from tvau_bench.harness.prompts import load_prompt_set
from tvau_bench.harness.scoring import answer_of
from tvau_bench.schemas import validate
from tvau_bench.sources import ubnormal

H, W, T, CLIP = 48, 64, 16, 8
COLOURS = {"red": (0, 0, 220), "blue": (220, 0, 0), "green": (0, 200, 0), "yellow": (0, 220, 220)}
# (name, split, abnormal, colour, dx, dy)
VIDEOS = [
    ("abnormal_scene_1_scenario_1", "train", True, "red", 2, 0),
    ("abnormal_scene_1_scenario_2", "train", True, "green", 0, 1),
    ("normal_scene_1_scenario_3", "train", False, "blue", 1, 0),
    ("abnormal_scene_2_scenario_1", "test", True, "yellow", -2, 0),
    ("abnormal_scene_2_scenario_2", "test", True, "red", 0, -1),
    ("normal_scene_2_scenario_3", "test", False, "green", 1, 1),
]
TRAJECTORY = {
    (2, 0): "Moves toward the right.",
    (0, 1): "Moves toward the bottom.",
    (-2, 0): "Moves toward the left.",
}


def trajectory_text(dx: int, dy: int) -> str:
    return TRAJECTORY.get(
        (dx, dy), "Moves toward the top." if dy < 0 else "Moves toward the lower-right corner."
    )


def square(frame: int, dx: int, dy: int) -> tuple[int, int, int, int]:
    """Inclusive box of the square at ``frame``."""
    x0, y0 = 24 + dx * frame, 16 + dy * frame
    return x0, y0, x0 + 9, y0 + 9


def write_source(root: Path) -> Path:
    """Write the videos (mp4 + id maps + tracks) in the UBnormal layout under ``root``."""
    for name, _split, abnormal, colour, dx, dy in VIDEOS:
        frames, maps = [], []
        for f in range(T):
            img = np.full((H, W, 3), 90, np.uint8)
            img[:, :, 1] = np.linspace(60, 140, W, dtype=np.uint8)[
                None, :
            ]  # a gradient: frames differ in pixels
            m = np.zeros((H, W), np.uint8)
            x0, y0, x1, y1 = square(f, dx, dy)
            img[y0 : y1 + 1, x0 : x1 + 1] = COLOURS[colour]
            m[y0 : y1 + 1, x0 : x1 + 1] = 1
            frames.append(img)
            maps.append(m)
        ubnormal.write_video(root, name, frames, maps, [(1, 0, T - 1)] if abnormal else None)
    lists: dict[str, list[str]] = {}
    for kind in ("abnormal", "normal"):
        for split, key in (("train", "training"), ("validation", "validation"), ("test", "test")):
            lists[f"{kind}_{key}"] = [v[0] for v in VIDEOS if v[1] == split and v[2] == (kind == "abnormal")]
    ubnormal.write_split_lists(root, lists)
    ubnormal.write_object_classes(root, {v[0]: {1: "car"} for v in VIDEOS})
    return root


def records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(samples, videos)`` records, valid against the schemas."""
    q = load_prompt_set().questions
    samples, videos = [], []
    for name, split, abnormal, colour, dx, dy in VIDEOS:
        scene = name.split("_")[2]
        appearance = f"A {colour} square."
        trajectory = trajectory_text(dx, dy)
        target = {
            "target_id": f"{name}:1",
            "object_id": 1,
            "category": "square",
            "is_abnormal": abnormal,
            "abnormal_intervals": [[0, T - 1]] if abnormal else [],
            "first_frame": 0,
            "last_frame": T - 1,
            "appearance": appearance,
            "attributes": {
                "colours": [colour],
                "upper_clothing": None,
                "lower_clothing": None,
                "carried_objects": [],
            },
            "action": "moving",
            "trajectory": trajectory,
            "waypoints": [],
            "consistency": 1.0,
            "verified": True,
        }
        videos.append(
            {
                "video_id": name,
                "source": "ubnormal",
                "split": split,
                "scene": scene,
                "video_path": f"Scene{scene}/{name}.mp4",
                "num_frames": T,
                "fps": 30.0,
                "width": W,
                "height": H,
                "abnormal_intervals": [[0, T - 1]] if abnormal else [],
                "targets": [target],
                "provenance": {
                    "annotator": "test",
                    "model_id": None,
                    "model_revision": None,
                    "prompt_hashes": {},
                    "pipeline_version": "test",
                    "vllm_version": None,
                },
            }
        )
        for start in (0, CLIP):
            end = start + CLIP - 1
            label = "Yes" if abnormal else "No"
            dialogue = [{"turn": 1, "kind": "yes_no", "question": q["yes_no"], "answer": label}]
            if abnormal:
                dialogue += [
                    {"turn": 2, "kind": "target", "question": q["target"], "answer": appearance},
                    {"turn": 3, "kind": "trajectory", "question": q["trajectory"], "answer": trajectory},
                ]
            samples.append(
                {
                    "sample_id": f"{name}:{start}-{end}" + (":1" if abnormal else ""),
                    "video_id": name,
                    "split": split,
                    "start_frame": start,
                    "end_frame": end,
                    "frame_indices": list(range(start, end + 1, 2)),
                    "label": label,
                    "target_id": f"{name}:1" if abnormal else None,
                    "dialogue": dialogue,
                }
            )
    for s in samples:
        validate(s, "sample")
    for v in videos:
        validate(v, "video")
    return samples, videos


def write_dataset(folder: Path) -> Path:
    """Write ``samples.jsonl`` and ``videos.jsonl`` (the annotate output form) under ``folder``."""
    samples, videos = records()
    write_jsonl(folder / "samples.jsonl", samples)
    write_jsonl(folder / "videos.jsonl", videos)
    return folder


def write_model(path: Path, name: str, adapter: str, **extra: Any) -> Path:
    """A model config YAML."""
    import yaml

    obj = {"name": name, "adapter": adapter, "hf_id": None, "revision": None, "shots": 1, **extra}
    path.write_text(yaml.safe_dump(obj), encoding="utf-8")
    return path


def build_bench(base: Path) -> tuple[Path, Path]:
    """``(dataset folder, source root)`` under ``base``."""
    return write_dataset(base / "dataset"), write_source(base / "source")


def write_predictions_from_log(log: Path, pred: Path) -> Path:
    """A predictions file (the ``submission`` form) holding the raw answers of a run log, sample by sample."""
    rows = [r for _, r in iter_jsonl(log)]
    pred.write_text(
        "\n".join(
            json.dumps(
                {
                    "sample_id": r["sample_id"],
                    "answers": {k: answer_of(r, k) or None for k in ("yes_no", "target", "trajectory")},
                }
            )
            for r in rows
        )
    )
    return pred
