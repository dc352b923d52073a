"""The demo's figures, laid out like the paper's: heatmap + dialogue, box trajectories, mask trajectories.

- ``anomaly_example.png``: a raw frame, its AHD heatmap overlay, and the dialogue of that clip;
- ``trajectory_boxes.png``: a multi-frame overlay of a clip, ground-truth boxes green, predicted boxes red;
- ``trajectory_masks.png``: the same clip with ground-truth pixel masks (top) and predicted masks (bottom),
  coloured by time.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import TvauError

GREEN, RED = (0, 200, 0), (0, 0, 230)  # BGR


def write_figures(
    out: Path, source_root: Path, ahd_ckpt: Path, run_dir: Path, fig_dir: Path
) -> dict[str, Any]:
    """Draw the three figures for the first abnormal test clip of ``run_dir``'s log; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")

    from ..harness.run_log import load_run
    from ..models.data import load_video
    from ..models.detect import DEFAULT_RULE, ahd_heatmap_fn
    from ..models.train_ahd import load_ahd
    from ..sources import open_source

    _, rows = load_run(run_dir)
    abnormal = sorted((r for r in rows if r["label"] == "Yes"), key=lambda r: r["sample_id"])
    if not abnormal:
        raise TvauError("the run holds no abnormal sample to draw", path=run_dir)
    row = abnormal[0]
    source = open_source(source_root)
    video = source.video(row["video_id"])
    start, end = _clip_range(row["sample_id"])
    target_oid = int(row["sample_id"].rsplit(":", 1)[1]) if row["sample_id"].count(":") >= 2 else None

    model, cfg = load_ahd(ahd_ckpt)
    arrays = load_video(video, cfg.max_side, with_masks=False)
    heat = ahd_heatmap_fn(model, cfg)(arrays)
    heat = np.stack(
        [cv2.resize(h, (video.width, video.height), interpolation=cv2.INTER_LINEAR) for h in heat]
    )
    frames = list(video.frames(range(start, end + 1)))
    mid = (end - start) // 2

    fig_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "anomaly_example": fig_dir / "anomaly_example.png",
        "trajectory_boxes": fig_dir / "trajectory_boxes.png",
        "trajectory_masks": fig_dir / "trajectory_masks.png",
    }
    _example(paths["anomaly_example"], frames[mid], heat[start + mid], row)
    gt_boxes = video.object_boxes(target_oid) if target_oid is not None else {}
    pred = _read_detections(out / "detect" / "ahd" / "detections" / f"{video.video_id}.txt")
    _boxes(paths["trajectory_boxes"], frames, start, gt_boxes, pred)
    gt_masks = [
        video.object_masks(start + i).get(target_oid, np.zeros(f.shape[:2], bool))
        for i, f in enumerate(frames)
    ]
    level = DEFAULT_RULE.thresholds[0]  # the level detections are cut at
    pred_masks = [heat[start + i] >= level for i in range(len(frames))]
    _masks(paths["trajectory_masks"], frames, gt_masks, pred_masks, level)
    return {"sample_id": row["sample_id"], **{k: str(v) for k, v in paths.items()}}


def _clip_range(sample_id: str) -> tuple[int, int]:
    """``video:start-end[:object]`` → (start, end)."""
    part = sample_id.split(":")[1]
    a, b = part.split("-")
    return int(a), int(b)


def _read_detections(path: Path) -> dict[int, list[tuple[int, int, int, int]]]:
    from ..metrics.io import read_detections_file

    by_frame: dict[int, list[tuple[int, int, int, int]]] = {}
    if not path.exists():
        return by_frame
    for d in read_detections_file(path):
        by_frame.setdefault(int(d[0]), []).append(tuple(int(v) for v in d[1:5]))
    return by_frame


def _save(fig, path: Path) -> None:
    # No Software/date metadata, so a rerun writes identical bytes.
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)


def _overlay(frame: np.ndarray, heat: np.ndarray) -> np.ndarray:
    colour = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(frame, 0.55, colour, 0.45, 0)


def _example(path: Path, frame: np.ndarray, heat: np.ndarray, row: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    axes[0].imshow(frame[:, :, ::-1])
    axes[0].set_title("raw frame")
    axes[1].imshow(_overlay(frame, heat)[:, :, ::-1])
    axes[1].set_title("AHD heatmap")
    lines = []
    for turn in row["turns"]:
        lines.append("Q: " + textwrap.fill(turn["prompt"].strip().splitlines()[-1], 60))
        lines.append("A: " + textwrap.fill(str(turn["raw"]), 60, subsequent_indent="   "))
        reference = row["references"].get(turn["kind"])
        if reference:
            lines.append("gold: " + textwrap.fill(str(reference), 60, subsequent_indent="      "))
        lines.append("")
    axes[2].text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=8, family="monospace", wrap=True)
    axes[2].set_title("dialogue (ahd-template, one-shot)")
    for ax in axes:
        ax.axis("off")
    _save(fig, path)


def _blend(frames: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(frames).astype(np.float32), axis=0).astype(np.uint8)


def _boxes(
    path: Path,
    frames: list[np.ndarray],
    start: int,
    gt: dict[int, tuple[int, int, int, int]],
    pred: dict[int, list[tuple[int, int, int, int]]],
) -> None:
    import matplotlib.pyplot as plt

    canvas = _blend(frames)
    for i in range(0, len(frames), max(1, len(frames) // 8)):
        f = start + i
        for x0, y0, x1, y1 in pred.get(f, []):
            cv2.rectangle(canvas, (x0, y0), (x1, y1), RED, 1)
        if f in gt:
            x0, y0, x1, y1 = gt[f]
            cv2.rectangle(canvas, (x0, y0), (x1, y1), GREEN, 1)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.imshow(canvas[:, :, ::-1])
    ax.set_title("multi-frame overlay: ground truth (green), AHD detections (red)")
    ax.axis("off")
    _save(fig, path)


def _masks(
    path: Path, frames: list[np.ndarray], gt: list[np.ndarray], pred: list[np.ndarray], level: float
) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(6, 9))
    for ax, masks, title in (
        (axes[0], gt, "ground-truth masks"),
        (axes[1], pred, f"predicted masks (AHD ≥ {level:g})"),
    ):
        canvas = _blend(frames).astype(np.float32)
        cmap = plt.get_cmap("plasma")
        for i, m in enumerate(masks):
            if m.any():
                rgb = np.array(cmap(i / max(1, len(masks) - 1))[:3][::-1]) * 255
                canvas[m] = 0.4 * canvas[m] + 0.6 * rgb
        ax.imshow(canvas.astype(np.uint8)[:, :, ::-1])
        ax.set_title(f"pixel-mask trajectory: {title}, colour = time")
        ax.axis("off")
    _save(fig, path)
