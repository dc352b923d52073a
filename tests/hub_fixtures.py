"""Small annotation folders (the `annotate` output contract), valid against the schemas, for the hub tests.

Objects are rectangles moving right; masks are real COCO RLEs (pycocotools via ``sources.masks.rle_encode``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tvau_bench._io import write_json, write_jsonl
from tvau_bench.sources.masks import rle_encode

WIDTH, HEIGHT, NUM_FRAMES, CLIP = 32, 24, 20, 8
QUESTIONS = {
    "yes_no": "Is there an anomaly in this video? Answer Yes or No.",
    "target": "Describe the anomalous target's appearance.",
    "trajectory": "Describe the anomalous target's motion trajectory.",
}
SPLITS = ("train", "validation", "test")


def object_mask(object_id: int, frame: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The bool mask of an object in a frame: a 5x6 rectangle moving one pixel right per frame."""
    m = np.zeros((height, width), dtype=bool)
    x0, y0 = min(1 + frame, width - 6), (3 + 7 * object_id) % (height - 6)
    m[y0 : y0 + 6, x0 : x0 + 5] = True
    return m


def rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO compressed RLE with a str ``counts`` (the sources helper's encoder, pycocotools underneath)."""
    return rle_encode(mask)


def box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def _overlaps(a: tuple[int, int], b: list[int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _video_specs(scale: int) -> list[dict[str, Any]]:
    """(name, split, objects: {object_id: abnormal intervals}) for ``4 * scale`` videos."""
    specs = []
    for k in range(scale):
        scene = k + 1
        specs += [
            {
                "name": f"abnormal_scene_{scene}_scenario_1",
                "split": "train",
                "objects": {1: [[5, 12]], 2: []},
            },
            {"name": f"normal_scene_{scene}_scenario_2", "split": "train", "objects": {1: []}},
            {"name": f"normal_scene_{scene}_scenario_3", "split": "validation", "objects": {2: []}},
            {
                "name": f"abnormal_scene_{scene}_scenario_4",
                "split": "test",
                "objects": {1: [[0, 9], [14, 17]]},
            },
        ]
    return specs


def build_records(scale: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The videos, samples and tracks records of a small synthetic annotation run."""
    videos, samples, tracks = [], [], []
    for spec in _video_specs(scale):
        vid, scene = spec["name"], spec["name"].split("_")[2]
        targets = []
        for oid, intervals in spec["objects"].items():
            tid = f"{vid}:{oid}"
            targets.append(
                {
                    "target_id": tid,
                    "object_id": oid,
                    "category": "person",
                    "is_abnormal": bool(intervals),
                    "abnormal_intervals": intervals,
                    "first_frame": 0,
                    "last_frame": NUM_FRAMES - 1,
                    "appearance": "A person wearing a red top and blue trousers.",
                    "attributes": {
                        "colours": ["red", "blue"],
                        "upper_clothing": "red top",
                        "lower_clothing": None,
                        "carried_objects": [],
                    },
                    "action": "running" if intervals else "walking",
                    "trajectory": "Enters from the left and moves right.",
                    "waypoints": [
                        {"frame": f, "x": round((3 + f) / WIDTH, 4), "y": 0.5} for f in (0, 10, 19)
                    ],
                    "consistency": 0.75 if intervals else 1.0,
                    "verified": oid == 1,
                }
            )
            for f in range(NUM_FRAMES):
                m = object_mask(oid, f)
                ab = any(s <= f <= e for s, e in intervals)
                tracks.append(
                    {
                        "video_id": vid,
                        "target_id": tid,
                        "frame": f,
                        "box": box(m),
                        "mask": rle(m),
                        "is_abnormal": ab,
                    }
                )
        all_iv = sorted(iv for ivs in spec["objects"].values() for iv in ivs)
        videos.append(
            {
                "video_id": vid,
                "source": "ubnormal",
                "split": spec["split"],
                "scene": scene,
                "video_path": f"Scene{scene}/{vid}.mp4",
                "num_frames": NUM_FRAMES,
                "fps": 30.0,
                "width": WIDTH,
                "height": HEIGHT,
                "abnormal_intervals": all_iv,
                "targets": targets,
                "provenance": {
                    "annotator": "geometric",
                    "model_id": None,
                    "model_revision": None,
                    "prompt_hashes": {"stage1": "ab12", "stage2": "cd34"},
                    "pipeline_version": "0.1.0",
                    "vllm_version": None,
                },
            }
        )
        for start in range(0, NUM_FRAMES - CLIP + 1, CLIP):
            end = start + CLIP - 1
            indices = [start + round(i * (CLIP - 1) / 3) for i in range(4)]
            hit = next(
                (
                    oid
                    for oid, ivs in spec["objects"].items()
                    if any(_overlaps((start, end), iv) for iv in ivs)
                ),
                None,
            )
            dialogue = [
                {
                    "turn": 1,
                    "kind": "yes_no",
                    "question": QUESTIONS["yes_no"],
                    "answer": "Yes" if hit else "No",
                }
            ]
            if hit is not None:
                dialogue += [
                    {
                        "turn": 2,
                        "kind": "target",
                        "question": QUESTIONS["target"],
                        "answer": "A person in red.",
                    },
                    {
                        "turn": 3,
                        "kind": "trajectory",
                        "question": QUESTIONS["trajectory"],
                        "answer": "Moves right.",
                    },
                ]
            samples.append(
                {
                    "sample_id": f"{vid}:{start}-{end}" + (f":{hit}" if hit is not None else ""),
                    "video_id": vid,
                    "split": spec["split"],
                    "start_frame": start,
                    "end_frame": end,
                    "frame_indices": indices,
                    "label": "Yes" if hit is not None else "No",
                    "target_id": f"{vid}:{hit}" if hit is not None else None,
                    "verified": True,
                    "dialogue": dialogue,
                }
            )
    return {"videos": videos, "samples": samples, "tracks": tracks}


def write_annotations(
    out: Path, scale: int = 1, records: dict[str, list[dict[str, Any]]] | None = None
) -> Path:
    """Write an annotation folder (videos/samples/tracks JSONL, report.json, quarantine.jsonl) and return it."""
    recs = records or build_records(scale)
    out.mkdir(parents=True, exist_ok=True)
    for config, rows in recs.items():
        write_jsonl(out / f"{config}.jsonl", rows)
    write_jsonl(
        out / "quarantine.jsonl", [{"target_id": "x:9", "reason": "appearance disagreed across frames"}]
    )
    write_json(
        out / "report.json",
        {
            "recipe": "synthetic-geometric",
            "counts": {"videos": len(recs["videos"]), "samples": len(recs["samples"]), "quarantined": 1},
            "verification": {"verified_rate": 0.5, "requeried": 2},
            "source": {"layout": "ubnormal", "root": "/home/someone/UBnormal"},
            "timings": {"seconds": 12.5},
        },
    )
    return out


def export_fixture(tmp: Path, records: dict[str, list[dict[str, Any]]] | None = None, *, check: bool = True):
    """Write annotations under ``tmp/ann`` and export them to ``tmp/hub``; returns the ExportResult."""
    from tvau_bench.hub.export import export

    ann = write_annotations(tmp / "ann", records=records)
    return export(ann, tmp / "hub", repo_id="tvau/ubnormal-fg", check=check)
