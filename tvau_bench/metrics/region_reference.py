"""The plain per-detection loop of RBDC/TBDC, written step by step from ``METRICS.md``: the test oracle.

It is slow on purpose (one Python iteration per detection, one IoU per region of its frame) and shares no code
with :mod:`.region`, so the two agree only if both follow the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.metrics import auc


def _iou(g: list[float], d: list[float]) -> float:
    # Step 1: inclusive pixel counts; ground-truth box first, as in the reference.
    xa, ya = max(g[0], d[0]), max(g[1], d[1])
    xb, yb = min(g[2], d[2]), min(g[3], d[3])
    inter = max(0, xb - xa + 1) * max(0, yb - ya + 1)
    area_g = (g[2] - g[0] + 1) * (g[3] - g[1] + 1)
    area_d = (d[2] - d[0] + 1) * (d[3] - d[1] + 1)
    return inter / float(area_g + area_d - inter)


def rbdc_tbdc_loop(
    tracks: Mapping[str, np.ndarray],
    detections: Mapping[str, np.ndarray],
    num_frames: int,
    *,
    iou: float = 0.1,
    track_fraction: float = 0.1,
    recount: bool = False,
) -> dict[str, Any]:
    """RBDC/TBDC by a plain loop over detections. ``recount`` recomputes the track rate from every track after
    each detection (literally step 4); otherwise a track is counted once when its rate first reaches the
    fraction (the same thing, since found counts only grow). Returns rbdc, tbdc and the cut curves."""
    # Ground truth: one region per (video, track, frame); the last row wins for a repeated (track, frame).
    track_boxes: dict[tuple[str, int], dict[int, list[float]]] = {}
    for video in sorted(tracks):
        for r in np.asarray(tracks[video], dtype=np.float64).reshape(-1, 6).tolist():
            track_boxes.setdefault((video, int(r[0])), {})[int(r[1])] = r[2:6]
    track_ids = sorted(track_boxes)
    size = [len(track_boxes[t]) for t in track_ids]
    regions_in_frame: dict[tuple[str, int], list[tuple[list[float], int]]] = {}
    for ti, key in enumerate(track_ids):
        for frame, box in track_boxes[key].items():
            regions_in_frame.setdefault((key[0], frame), []).append((box, ti))
    found_in_frame = {k: [False] * len(v) for k, v in regions_in_frame.items()}
    num_regions = sum(size)
    num_tracks = len(track_ids)

    # Step 2: one global list, score descending; ties: video name, then file row (stable sort on that order).
    dets = []
    for video in sorted(detections):
        for row, r in enumerate(np.asarray(detections[video], dtype=np.float64).reshape(-1, 6).tolist()):
            dets.append((video, row, int(r[0]), r[1:5], r[5]))
    dets.sort(key=lambda d: (d[0], d[1]))
    dets.sort(key=lambda d: d[4], reverse=True)

    found_per_track = [0] * num_tracks
    detected = [False] * num_tracks
    num_detected = sum(1 for t in range(num_tracks) if 0 / size[t] >= track_fraction)
    tp, fp, tbdr = [], [], []
    for video, _row, frame, box, _score in dets:
        key = (video, frame)
        t_new, f_new = 0, 0
        if key not in regions_in_frame:
            f_new = 1  # Step 3: no ground truth in this frame
        else:
            matches = [i for i, (g, _) in enumerate(regions_in_frame[key]) if _iou(g, box) >= iou]
            if not matches:
                f_new = 1
            for i in matches:
                if not found_in_frame[key][i]:
                    found_in_frame[key][i] = True
                    t_new += 1
                    ti = regions_in_frame[key][i][1]
                    found_per_track[ti] += 1
                    if not detected[ti] and found_per_track[ti] / size[ti] >= track_fraction:
                        detected[ti] = True
                        num_detected += 1
        tp.append(t_new)
        fp.append(f_new)
        if recount:  # Step 4, literally
            count = sum(1 for t in range(num_tracks) if found_per_track[t] / size[t] >= track_fraction)
        else:
            count = num_detected
        tbdr.append(count / num_tracks if num_tracks else 0.0)

    # Step 5: curves from (0, 0).
    cum_tp = np.concatenate(([0.0], np.cumsum(np.asarray(tp, dtype=np.float64))))
    cum_fp = np.concatenate(([0.0], np.cumsum(np.asarray(fp, dtype=np.float64))))
    rbdr = cum_tp / num_regions if num_regions else np.zeros(len(cum_tp))
    tbdr_a = np.concatenate(([0.0], np.asarray(tbdr, dtype=np.float64)))
    fpr = cum_fp / num_frames

    # Step 6: cut at FPR <= 1, flat extension to 1, trapezoid area.
    keep = [i for i in range(len(fpr)) if fpr[i] <= 1][-1] + 1
    fpr, rbdr, tbdr_a = list(fpr[:keep]), list(rbdr[:keep]), list(tbdr_a[:keep])
    if fpr[-1] != 1:
        fpr.append(1.0)
        rbdr.append(rbdr[-1])
        tbdr_a.append(tbdr_a[-1])
    return {
        "rbdc": float(auc(fpr, rbdr)),
        "tbdc": float(auc(fpr, tbdr_a)),
        "fpr": np.asarray(fpr),
        "rbdr": np.asarray(rbdr),
        "tbdr": np.asarray(tbdr_a),
        "num_true_positives": int(sum(tp)),
        "num_false_positives": int(sum(fp)),
    }
