"""Fidelity of an annotate output against the synthetic generator's ``truth.jsonl`` (``annotate-eval``).

Targets are matched to truth objects per video by their boxes (``tracks.jsonl`` against the truth's boxes):
mean IoU over the frames where either is present, greedy from the best pair, at least ``min_iou``. This works
for UBnormal outputs (same ids) and ShanghaiTech ones (linked components, no ids) alike. Over matched pairs:

- ``category_accuracy``: category equal (normalised names);
- ``colour_accuracy``: every colour slot the truth fills (top, bottom, body) read back from the published
  attributes (``upper_clothing`` / ``lower_clothing`` colour words; ``colours`` in top, bottom, body order);
- ``direction_accuracy``: the 8-way direction of the published waypoints' first → last displacement
  ("none" under 5% of the image diagonal) against the truth's direction;
- ``enter_exit_accuracy``: enter and exit sides stated in the trajectory sentence (each one item);
- ``appearance_bleu4``, ``trajectory_bleu4``: corpus BLEU-4 (sacrebleu, ×100) of the sentences.
All percentages are in [0, 100]; unmatched objects are counted, not scored.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from .._io import iter_jsonl
from ..errors import TvauError
from .colours import COLOUR_NAMES
from .motion import direction_of
from .vocab import normalise_category

_ENTER = re.compile(r"enters from the (left|right|top|bottom)")
_EXIT = re.compile(r"exits at the (left|right|top|bottom)")


def _iou(a, b) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def track_iou(pred: dict[int, list[int]], truth: dict[int, list[int]]) -> float:
    """Mean per-frame box IoU over the frames where either track is present."""
    frames = set(pred) | set(truth)
    if not frames:
        return 0.0
    return sum(_iou(pred[f], truth[f]) for f in frames if f in pred and f in truth) / len(frames)


def match(
    preds: dict[str, dict[int, list[int]]], truths: dict[int, dict[int, list[int]]], min_iou: float = 0.3
) -> list[tuple[str, int, float]]:
    """Greedy one-to-one matching of predicted tracks to truth tracks by track IoU."""
    pairs = sorted(
        ((track_iou(p, t), pid, tid) for pid, p in preds.items() for tid, t in truths.items()),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    used_p, used_t, out = set(), set(), []
    for iou, pid, tid in pairs:
        if iou < min_iou or pid in used_p or tid in used_t:
            continue
        used_p.add(pid)
        used_t.add(tid)
        out.append((pid, tid, iou))
    return out


def _colour_word(text: str | None) -> str | None:
    if not text:
        return None
    return next((w for w in text.lower().split() if w in COLOUR_NAMES), None)


def slots(target: dict) -> dict[str, str | None]:
    """The (top, bottom, body) colours of a published target record."""
    a = target["attributes"]
    top, bottom = _colour_word(a.get("upper_clothing")), _colour_word(a.get("lower_clothing"))
    n = (top is not None) + (bottom is not None)
    cols = a.get("colours") or []
    return {"top": top, "bottom": bottom, "body": cols[n] if len(cols) > n else None}


def sides(sentence: str) -> tuple[str, str]:
    """(enter, exit) sides stated in a trajectory sentence ("inside" when none is stated)."""
    s = sentence.lower()
    m1, m2 = _ENTER.search(s), _EXIT.search(s)
    return (m1.group(1) if m1 else "inside", m2.group(1) if m2 else "inside")


def waypoint_direction(waypoints: list[dict], width: int, height: int, min_frac: float = 0.05) -> str:
    """8-way direction of the first → last waypoint, "none" under ``min_frac`` of the image diagonal."""
    if len(waypoints) < 2:
        return "none"
    dx = (waypoints[-1]["x"] - waypoints[0]["x"]) * (width - 1)
    dy = (waypoints[-1]["y"] - waypoints[0]["y"]) * (height - 1)
    if math.hypot(dx, dy) < min_frac * math.hypot(width, height):
        return "none"
    return direction_of(dx, dy)


def evaluate(out_dir: str | Path, truth_path: str | Path, *, min_iou: float = 0.3) -> dict:
    """The fidelity report (see module docstring) as one JSON-ready dict."""
    from ..metrics.text import corpus_bleu4

    out = Path(out_dir)
    videos = {v["video_id"]: v for _, v in iter_jsonl(out / "videos.jsonl")}
    pred_boxes: dict[str, dict[str, dict[int, list[int]]]] = defaultdict(lambda: defaultdict(dict))
    for _, row in iter_jsonl(out / "tracks.jsonl"):
        pred_boxes[row["video_id"]][row["target_id"]][row["frame"]] = row["box"]
    truth: dict[str, dict[int, dict]] = defaultdict(dict)
    n_truth = n_truth_abnormal = 0
    for line, t in iter_jsonl(truth_path):
        if "video_id" not in t or "object_id" not in t or "boxes" not in t:
            raise TvauError("truth record lacks video_id/object_id/boxes", path=truth_path, line=line)
        if t["video_id"] in videos:
            truth[t["video_id"]][int(t["object_id"])] = t
            n_truth += 1
            n_truth_abnormal += bool(t.get("abnormal_intervals"))
    if not truth:
        raise TvauError(
            "no truth object belongs to an annotated video",
            path=truth_path,
            fix="pass the truth.jsonl of the source root that was annotated",
        )
    pairs = []
    for vid, objs in sorted(truth.items()):
        tboxes = {oid: {b[0]: b[1:] for b in t["boxes"]} for oid, t in objs.items()}
        targets = {t["target_id"]: t for t in videos[vid]["targets"]}
        for pid, tid, iou in match(dict(pred_boxes.get(vid, {})), tboxes, min_iou):
            pairs.append((videos[vid], targets[pid], objs[tid], iou))
    cat = col_ok = col_n = dir_ok = side_ok = 0
    hyp_a, ref_a, hyp_t, ref_t = [], [], [], []
    for video, pred, t, _ in pairs:
        cat += normalise_category(pred["category"]) == normalise_category(t["category"])
        got = slots(pred)
        for k, v in (t.get("colours") or {}).items():
            if v is not None and k in got:
                col_n += 1
                col_ok += got[k] == v
        dir_ok += waypoint_direction(pred["waypoints"], video["width"], video["height"]) == t["direction"]
        enter, exit_ = sides(pred["trajectory"])
        side_ok += (enter == t["enter_side"]) + (exit_ == t["exit_side"])
        hyp_a.append(pred["appearance"])
        ref_a.append(t["appearance"])
        hyp_t.append(pred["trajectory"])
        ref_t.append(t["trajectory"])
    n = len(pairs)

    def pct(a: int, b: int) -> float:
        return round(100.0 * a / b, 2) if b else 0.0

    app = corpus_bleu4(hyp_a, ref_a) if n else None
    traj = corpus_bleu4(hyp_t, ref_t) if n else None
    return {
        "category_accuracy": pct(cat, n),
        "colour_accuracy": pct(col_ok, col_n),
        "direction_accuracy": pct(dir_ok, n),
        "enter_exit_accuracy": pct(side_ok, 2 * n),
        "appearance_bleu4": round(app.score, 2) if app else 0.0,
        "trajectory_bleu4": round(traj.score, 2) if traj else 0.0,
        "bleu_signature": app.signature if app else None,
        "matched": n,
        "truth_objects": n_truth,
        # ShanghaiTech masks show only anomalies: there, the abnormal truth objects are what can be matched.
        "matched_abnormal": sum(1 for p in pairs if p[2].get("abnormal_intervals")),
        "truth_abnormal_objects": n_truth_abnormal,
        "colour_slots": col_n,
        "mean_match_iou": round(float(np.mean([p[3] for p in pairs])), 4) if pairs else 0.0,
    }
