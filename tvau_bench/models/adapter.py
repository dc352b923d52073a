"""Harness adapters of the models: ``ahd-template`` (offline, CPU) and ``tvau`` (AHD + RAE + LoRA-tuned LVLM).

``ahd-template``: the AHD's heatmaps over the clip are thresholded into components and linked over frames into
one target track (seeded at the strongest response, extended to the nearest component frame by frame); the
track stands in for the ground-truth masks of the geometry oracle, whose geometry-to-words code then answers
(Yes/No from whether a track exists, appearance from the pixels under the track, trajectory from its boxes).
It never reads ``target_id`` or the masks.

``tvau``: the query clip's frames (as the harness shows them) go to the LVLM as a video; the AHD's heatmaps at
the same frames (computed on the source video with its temporal context) go through the RAE into the prompt;
the dialogue so far is the text. The one-shot exemplar is not shown (T-VAU is fine-tuned on the task), which
``describe()`` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import TvauError
from ..harness.adapters.base import Adapter, SampleContext
from ..harness.adapters.geometry_oracle import GeometryOracleAdapter
from ..sources.base import SourceObject


def link_track(heatmaps: Sequence[np.ndarray], threshold: float, min_area: int = 4) -> dict[int, np.ndarray]:
    """``{frame position: bool mask}``: one target followed through per-frame components of ``heat >= threshold``.

    Seeded at the component holding the clip's highest value, then extended forwards and backwards to the
    component whose centre is nearest the last kept one (within twice its size); frames without one are gaps.
    """
    comps: list[list[tuple[np.ndarray, float, np.ndarray, float]]] = []
    for h in heatmaps:
        n, labels, stats, centres = cv2.connectedComponentsWithStats(
            (h >= threshold).astype(np.uint8), connectivity=8
        )
        frame = []
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] >= min_area:
                m = labels == i
                size = float(max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]))
                frame.append((m, float(h[m].max()), centres[i], size))
        comps.append(frame)
    if not any(comps):
        return {}
    seed_t = max(range(len(comps)), key=lambda t: max((c[1] for c in comps[t]), default=-1.0))
    seed = max(comps[seed_t], key=lambda c: c[1])
    track = {seed_t: seed[0]}
    for direction in (1, -1):
        last = seed
        t = seed_t + direction
        while 0 <= t < len(comps):
            near = [c for c in comps[t] if np.linalg.norm(c[2] - last[2]) <= 2 * max(last[3], c[3])]
            if near:
                last = min(near, key=lambda c: np.linalg.norm(c[2] - last[2]))
                track[t] = last[0]
            t += direction
    return track


class HeatmapVideo:
    """A SourceVideo whose only object (id 1) is the AHD target track of one clip: frames and metadata pass
    through to the real video, masks and boxes come from the heatmaps."""

    def __init__(self, video: Any, masks: dict[int, np.ndarray]) -> None:
        self._video = video
        self._masks = masks
        self._boxes = {}
        for f, m in masks.items():
            ys, xs = np.nonzero(m)
            self._boxes[f] = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._video, name)

    def objects(self) -> list[SourceObject]:
        if not self._masks:
            return []
        frames = sorted(self._masks)
        return [SourceObject(1, "unknown", ((frames[0], frames[-1]),), frames[0], frames[-1])]

    def object_masks(self, frame: int) -> dict[int, np.ndarray]:
        m = self._masks.get(frame)
        return {1: m} if m is not None else {}

    def object_boxes(self, object_id: int) -> dict[int, tuple[int, int, int, int]]:
        return dict(self._boxes) if object_id == 1 else {}


class AhdTemplateAdapter(GeometryOracleAdapter):
    """Offline baseline: AHD heatmaps → one target track → the geometry oracle's words (CPU, no LVLM)."""

    needs_images = False

    def __init__(
        self, config: Any, ckpt: str, device: str = "cpu", threshold: float = 0.5, min_area: int = 20
    ) -> None:
        super().__init__(config)
        self.ckpt, self.device, self.threshold, self.min_area = ckpt, device, float(threshold), int(min_area)
        self.model = self.cfg = None
        self._clips: dict[tuple[str, int, int], HeatmapVideo] = {}

    def prepare(self, data: Any, *, split: str, source_root: Path | None = None) -> None:
        super().prepare(data, split=split, source_root=source_root)
        from .train_ahd import load_ahd

        self.model, self.cfg = load_ahd(self.ckpt, self.device)

    def describe(self) -> dict[str, Any]:
        return {"ahd_ckpt": str(self.ckpt), "threshold": self.threshold, "min_area": self.min_area}

    def _video(self, video_id: str) -> Any:  # the oracle's per-video lookup: replaced per clip in generate
        return self._current

    @staticmethod
    def _target(sample: dict[str, Any], video: Any) -> int | None:
        return 1 if video.objects() else None

    def generate(self, messages: Sequence[Any], ctx: SampleContext) -> str:
        s = ctx.sample
        key = (s["video_id"], int(s["start_frame"]), int(s["end_frame"]))
        if key not in self._clips:
            self._clips.clear()  # the turns of one sample come together
            self._clips[key] = self._clip_track(*key)
        self._current = self._clips[key]
        return super().generate(messages, ctx)

    def _clip_track(self, video_id: str, start: int, end: int) -> HeatmapVideo:
        real = self.source.video(video_id)
        heat = clip_heatmaps(self.model, self.cfg, real, start, end, self.device)
        full = [cv2.resize(h, (real.width, real.height), interpolation=cv2.INTER_LINEAR) for h in heat]
        track = link_track(full, self.threshold, self.min_area)
        return HeatmapVideo(real, {start + t: m for t, m in track.items()})


def clip_heatmaps(
    model: Any,
    cfg: Any,
    video: Any,
    start: int,
    end: int,
    device: str = "cpu",
    frames: Sequence[int] | None = None,
) -> np.ndarray:
    """AHD heatmaps (T, h, w) of frames ``start..end`` (or of ``frames``), each with its temporal context."""
    import torch

    from .ahd import heatmaps_from_logits
    from .data import clip_indices, to_tensor, working_size

    c = model.context
    n = video.num_frames
    wanted = list(range(start, end + 1)) if frames is None else [int(f) for f in frames]
    need = sorted({int(i) for f in wanted for i in clip_indices(min(f, n - 1), 1, c, n)})
    w, h = working_size(video.width, video.height, cfg.max_side)
    decoded = {
        i: cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        for i, img in zip(need, video.frames(need), strict=True)
    }
    out = []
    with torch.no_grad():
        for k in range(0, len(wanted), 16):
            part = wanted[k : k + 16]
            clips = np.stack(
                [np.stack([decoded[int(i)] for i in clip_indices(min(f, n - 1), 1, c, n)]) for f in part]
            )
            out.append(heatmaps_from_logits(model(to_tensor(clips).to(device)))[:, 0].float().cpu().numpy())
    return np.concatenate(out)


class TvauAdapter(Adapter):
    """The T-VAU model: LoRA-tuned Qwen2.5-VL with RAE prompt tokens from AHD heatmaps."""

    needs_images = True

    def __init__(
        self,
        config: Any,
        ckpt: str,
        ahd: str | None = None,
        device: str = "cpu",
        frame_side: int | None = None,
    ) -> None:
        super().__init__(config)
        self.ckpt, self.ahd_ckpt, self.device, self.frame_side = ckpt, ahd, device, frame_side
        self.model = self.tokenizer = self.rcfg = self.ahd = self.acfg = None
        self.source = None

    def prepare(self, data: Any, *, split: str, source_root: Path | None = None) -> None:
        from .checkpoint import load_checkpoint
        from .train_ahd import load_ahd
        from .train_rae import load_tvau

        if source_root is None:
            raise TvauError(
                "the tvau adapter computes AHD heatmaps on the source videos", fix="pass --video-root"
            )
        from ..sources import open_source

        self.source = open_source(source_root)
        self.model, self.tokenizer, self.rcfg = load_tvau(self.ckpt, self.device)
        if not self.model.uses_heatmaps:  # ablations: no heatmaps reach the LVLM, so no AHD runs
            return
        ahd = self.ahd_ckpt or load_checkpoint(self.ckpt)[1].get("ahd")
        if not ahd:
            raise TvauError(
                "no AHD checkpoint for the heatmaps", field="adapter_args.ahd", fix="set adapter_args.ahd"
            )
        self.ahd, self.acfg = load_ahd(ahd, self.device)
        self.ahd_ckpt = str(ahd)

    def describe(self) -> dict[str, Any]:
        return {
            "ckpt": str(self.ckpt),
            "ahd": self.ahd_ckpt,
            "exemplar": "not shown (fine-tuned model)",
            "params": self.model.params,
        }

    def generate(self, messages: Sequence[Any], ctx: SampleContext) -> str:
        import torch

        from .train_rae import frame_size
        from .tvau import collate, encode_dialogue, video_inputs

        images, turns = query_turns(messages)
        s = ctx.sample
        video = self.source.video(s["video_id"])
        frames = list(s["frame_indices"])[: len(images)]
        side = self.frame_side or self.rcfg.frame_side
        h0, w0 = images[0].shape[:2]
        w, h = frame_size(w0, h0, side)
        clip = (
            torch.from_numpy(
                np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images])
            )
            .float()
            .div(255)
            .permute(0, 3, 1, 2)
        )
        heat = None
        if self.ahd is not None:
            heat = clip_heatmaps(self.ahd, self.acfg, video, 0, 0, self.device, frames=frames)
            size = self.rcfg.heatmap_size
            heat = torch.from_numpy(
                np.stack([cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA) for x in heat])
            )[None].to(self.device)
        pv, grid, counts = video_inputs([clip], self.model.config.vision_config)
        enc = encode_dialogue(
            self.tokenizer,
            n_video_tokens=counts[0],
            n_anomaly_tokens=self.model.num_prompt_tokens(len(images)),
            turns=turns,
        )
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batch = {k: v.to(self.device) for k, v in collate([enc], pad, left_pad=True).items() if k != "labels"}
        dtype = next(self.model.base_lvlm().parameters()).dtype
        gen = {"max_new_tokens": int(self.generation.get("max_new_tokens", 128)), "do_sample": False}
        ids = self.model.generate(
            heatmaps=heat,
            pixel_values_videos=pv.to(self.device, dtype),
            video_grid_thw=grid.to(self.device),
            **batch,
            **gen,
        )
        return self.tokenizer.decode(ids[0, batch["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def query_turns(messages: Sequence[dict[str, Any]]) -> tuple[list[np.ndarray], list[tuple[str, str | None]]]:
    """The query clip's images and its (question, answer) turns, the last unanswered; the exemplar is dropped."""
    start = max(
        (
            i
            for i, m in enumerate(messages)
            if m["role"] == "user" and any(p.get("type") == "image" for p in m["content"])
        ),
        default=None,
    )
    if start is None:
        raise TvauError("the messages hold no frames", fix="run the tvau adapter with images (needs_images)")
    images = [p["image"] for p in messages[start]["content"] if p.get("type") == "image"]
    if any(im is None for im in images):
        raise TvauError("frames were not decoded for the tvau adapter", fix="pass --video-root")
    turns: list[tuple[str, str | None]] = []
    for m in messages[start:]:
        text = " ".join(p["text"] for p in m["content"] if p.get("type") == "text").strip()
        if m["role"] == "user":
            turns.append((text, None))
        elif turns:
            turns[-1] = (turns[-1][0], text)
    return images, turns
