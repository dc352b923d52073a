"""The demo's figures, laid out like the paper's: heatmap + dialogue, box trajectories, mask trajectories.

- ``anomaly_example.png``: a raw frame with the ground-truth target boxed, its AHD heatmap with a colour bar,
  and the dialogue of that clip with what is right and wrong in each answer;
- ``trajectory_boxes.png``: a multi-frame overlay of a clip, ground-truth boxes coloured by time, detections
  red dashed;
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
    gt_boxes = video.object_boxes(target_oid) if target_oid is not None else {}
    _example(paths["anomaly_example"], frames[mid], heat[start + mid], row, gt_boxes.get(start + mid))
    pred = _read_detections(out / "detect" / "ahd" / "detections" / f"{video.video_id}.txt")
    _boxes(paths["trajectory_boxes"], frames, start, gt_boxes, pred, row)
    gt_masks = [
        video.object_masks(start + i).get(target_oid, np.zeros(f.shape[:2], bool))
        for i, f in enumerate(frames)
    ]
    level = DEFAULT_RULE.thresholds[0]  # the level detections are cut at
    pred_masks = [heat[start + i] >= level for i in range(len(frames))]
    _masks(paths["trajectory_masks"], frames, start, gt_masks, pred_masks, level, row)
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


def _clip_name(row: dict[str, Any]) -> str:
    return f"clip {row['sample_id']} (synthetic data, UBnormal layout, test split)"


def _gt_rect(ax, box: tuple[int, int, int, int] | None, **kw) -> None:
    """The ground-truth target's box, drawn thick so it reads as the one the dialogue is about."""
    from matplotlib.patches import Rectangle

    if box is not None:
        x0, y0, x1, y1 = box
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="lime", linewidth=2, **kw))


def _verdicts(row: dict[str, Any]) -> dict[str, str]:
    """What is right and wrong in each answer, from the run's own per-sample scores."""
    scores = row.get("scores", {})
    out = {}
    if "yes_no_correct" in scores:
        out["yes_no"] = "RIGHT" if scores["yes_no_correct"] else "WRONG"
    for kind in ("target", "trajectory"):
        turn = next((t for t in row["turns"] if t["kind"] == kind), None)
        bleu = scores.get(f"{kind}_bleu")
        if turn is None or bleu is None:
            continue
        same = str(turn["raw"]).strip() == str(row["references"].get(kind, "")).strip()
        out[kind] = f"{'matches' if same else 'differs from'} gold, sentence BLEU-4 {bleu:.1f}"
    return out


def _example(
    path: Path, frame: np.ndarray, heat: np.ndarray, row: dict[str, Any], gt_box: tuple | None
) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 1.1, 1.4]})
    axes[0].imshow(frame[:, :, ::-1])
    _gt_rect(axes[0], gt_box)
    axes[0].set_title("raw frame; ground-truth target: green box", fontsize=9)
    axes[1].imshow(frame[:, :, ::-1])
    im = axes[1].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
    _gt_rect(axes[1], gt_box)
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.02, label="AHD anomaly score")
    axes[1].set_title("AHD heatmap (green: ground truth)", fontsize=9)
    verdicts = _verdicts(row)
    lines = []
    for turn in row["turns"]:
        lines.append("Q: " + textwrap.fill(turn["prompt"].strip().splitlines()[-1], 60))
        lines.append("A: " + textwrap.fill(str(turn["raw"]), 60, subsequent_indent="   "))
        reference = row["references"].get(turn["kind"])
        if reference:
            lines.append("gold: " + textwrap.fill(str(reference), 60, subsequent_indent="      "))
        if turn["kind"] in verdicts:
            lines.append(f"  -> {verdicts[turn['kind']]}")
        lines.append("")
    axes[2].text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7.5, family="monospace")
    axes[2].set_title("dialogue of the ahd-template baseline (one-shot), checked against gold", fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle(_clip_name(row), fontsize=10)
    _save(fig, path)


def _blend(frames: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(frames).astype(np.float32), axis=0).astype(np.uint8)


def _time_colours(start: int, n: int):
    """A colour per frame of the clip, and the mappable for its colour bar (frame numbers)."""
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap = plt.get_cmap("plasma")
    norm = Normalize(vmin=start, vmax=start + max(n - 1, 1))
    return (lambda f: cmap(norm(f))), ScalarMappable(norm=norm, cmap=cmap)


def _boxes(
    path: Path,
    frames: list[np.ndarray],
    start: int,
    gt: dict[int, tuple[int, int, int, int]],
    pred: dict[int, list[tuple[int, int, int, int]]],
    row: dict[str, Any],
) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    colour, mappable = _time_colours(start, len(frames))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.imshow(_blend(frames)[:, :, ::-1])
    for i in range(0, len(frames), max(1, len(frames) // 8)):
        f = start + i
        # detections thin and dashed, so false positives stay readable beside the ground truth
        for x0, y0, x1, y1 in pred.get(f, []):
            ax.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="red", lw=0.8, ls="--", alpha=0.8)
            )
        if f in gt:
            x0, y0, x1, y1 = gt[f]
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour(f), lw=1.8))
    fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02, label="frame (ground-truth box colour)")
    handles = [
        Line2D([], [], color=colour(start), lw=1.8, label="ground-truth target (colour = time)"),
        Line2D(
            [],
            [],
            color="red",
            lw=0.8,
            ls="--",
            label="AHD detections (any box off the target: false positive)",
        ),
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=1)
    ax.set_title(
        f"multi-frame overlay, every {max(1, len(frames) // 8)}th frame\n{_clip_name(row)}", fontsize=9
    )
    ax.axis("off")
    _save(fig, path)


def _masks(
    path: Path,
    frames: list[np.ndarray],
    start: int,
    gt: list[np.ndarray],
    pred: list[np.ndarray],
    level: float,
    row: dict[str, Any],
) -> None:
    import matplotlib.pyplot as plt

    colour, mappable = _time_colours(start, len(frames))
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 9.5))
    for ax, masks, title in (
        (axes[0], gt, "ground-truth masks of the target"),
        (axes[1], pred, f"predicted masks (AHD score ≥ {level:g}, whole frame)"),
    ):
        canvas = _blend(frames).astype(np.float32)
        for i, m in enumerate(masks):
            if m.any():
                rgb = np.array(colour(start + i)[:3][::-1]) * 255
                canvas[m] = 0.4 * canvas[m] + 0.6 * rgb
        ax.imshow(canvas.astype(np.uint8)[:, :, ::-1])
        ax.set_title(f"pixel-mask trajectory: {title}", fontsize=9)
        ax.axis("off")
        fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.02, label="frame (mask colour)")
    fig.suptitle(_clip_name(row), fontsize=9)
    _save(fig, path)
