"""Harness adapters of the models: ``ahd-template`` (offline, CPU) and ``tvau`` (AHD + RAE + LoRA-tuned LVLM).

Both see what every model sees and nothing else: the protocol's messages (the clip's frames at the resolution
cap, the one-shot exemplar's frames and dialogue, the questions) and the clip's public metadata. Neither opens
the source video: the AHD's heatmaps are computed on the message frames, each frame's temporal context taken
from its neighbours among them.

``ahd-template``: the heatmaps are cut into components by the benchmark's one detection rule
(:data:`tvau_bench.models.detect.DEFAULT_RULE`, the rule of ``tvau-bench detect``) and linked over frames into
one target track (seeded at the strongest response, extended to the nearest component frame by frame); the
annotation's geometry-to-words code (:class:`GeometryWords`) then answers from that track (Yes/No from whether
a track exists, appearance from the pixels under it, trajectory from its boxes).

``tvau``: each clip of the messages (the exemplar's, then the query's) goes to the LVLM as a video resized from
the message frames, with its AHD heatmaps through the RAE as prompt tokens; the dialogue is the text. The
inputs are built by :class:`~tvau_bench.models.tvau_inputs.TvauInputs`, the code ``train rae`` trains with.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from ..annotate.words import GeometryWords
from ..errors import TvauError
from ..harness.adapters.base import Adapter, SampleContext
from ..metrics.detections import DetectionRule
from ..sources.base import SourceObject
from .detect import DEFAULT_RULE

HEATMAP_INPUT = "AHD on the protocol frames only (temporal context from neighbouring protocol frames)"


def link_track(heatmaps: Sequence[np.ndarray], rule: DetectionRule = DEFAULT_RULE) -> dict[int, np.ndarray]:
    """``{frame position: bool mask}``: one target followed through the per-frame components of ``rule``.

    Components are those of the rule's lowest level (connectivity and minimum area as the rule says). Seeded at
    the component holding the clip's highest value, then extended forwards and backwards to the component whose
    centre is nearest the last kept one (within twice its size); frames without one are gaps.
    """
    level = min(rule.thresholds)
    comps: list[list[tuple[np.ndarray, float, np.ndarray, float]]] = []
    for h in heatmaps:
        n, labels, stats, centres = cv2.connectedComponentsWithStats(
            (h >= level).astype(np.uint8), connectivity=rule.connectivity
        )
        frame = []
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] >= rule.min_area:
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


class TrackVideo:
    """The protocol frames of one clip as a source-like video whose only object (id 1) is a target track:
    what :class:`GeometryWords` needs, built from the message images alone."""

    def __init__(self, images: dict[int, np.ndarray], fps: float, masks: dict[int, np.ndarray]) -> None:
        self._images = images  # frame index -> RGB, as the messages carry them
        first = next(iter(images.values()))
        self.height, self.width = first.shape[:2]
        self.fps = float(fps)
        self._masks = masks
        self._boxes = {}
        for f, m in masks.items():
            ys, xs = np.nonzero(m)
            self._boxes[f] = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))

    def frames(self, indices: Sequence[int]) -> Iterator[np.ndarray]:
        """BGR frames (the source convention the colour rules read) of the given protocol frame indices."""
        for i in indices:
            yield np.ascontiguousarray(self._images[int(i)][:, :, ::-1])

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


def frame_heatmaps(model: Any, cfg: Any, images: Sequence[np.ndarray], device: str = "cpu") -> np.ndarray:
    """AHD heatmaps (T, h, w) of the protocol frames ``images`` (RGB ``uint8``), at the AHD's working size.

    Each frame's temporal context is its neighbours among ``images`` (clamped at the ends): no other frame of the
    video is read, so the heatmaps depend on exactly the pixels every model is shown.
    """
    import torch

    from .ahd import heatmaps_from_logits
    from .data import clip_indices, to_tensor, working_size

    h0, w0 = images[0].shape[:2]
    w, h = working_size(w0, h0, cfg.max_side)
    frames = np.stack([cv2.resize(np.asarray(im), (w, h), interpolation=cv2.INTER_AREA) for im in images])
    n = len(frames)
    out = []
    with torch.no_grad():
        for k in range(0, n, 16):
            clips = np.stack([frames[clip_indices(t, 1, model.context, n)] for t in range(k, min(n, k + 16))])
            out.append(heatmaps_from_logits(model(to_tensor(clips).to(device)))[:, 0].float().cpu().numpy())
    return np.concatenate(out)


def _fps(ctx: SampleContext) -> float:
    fps = (ctx.video or {}).get("fps")
    if not fps:
        raise TvauError(
            f"video {ctx.sample['video_id']!r} has no fps in the dataset's `videos` config",
            field="videos.fps",
            fix="use a dataset exported with its videos config",
        )
    return float(fps)


class AhdTemplateAdapter(Adapter):
    """Offline baseline: AHD heatmaps of the message frames → one target track → the annotation's words."""

    needs_images = True

    def __init__(self, config: Any, ckpt: str, device: str = "cpu") -> None:
        super().__init__(config)
        self.ckpt, self.device = ckpt, device
        self.rule = DEFAULT_RULE
        self.words = GeometryWords()
        self.model = self.cfg = None
        self._clip: tuple[tuple[str, ...], TrackVideo] | None = None

    def prepare(self, data: Any, *, split: str, source_root: Any = None) -> None:
        from .train_ahd import load_ahd

        self.model, self.cfg = load_ahd(self.ckpt, self.device)

    def answer_settings(self) -> dict[str, Any]:
        return {"detection_rule": self.rule.to_dict()}

    def describe(self) -> dict[str, Any]:
        return {
            "ahd_ckpt": str(self.ckpt),
            "detection_rule": self.rule.to_dict(),
            "heatmaps": f"{HEATMAP_INPUT}, resized to the AHD's max_side {self.cfg.max_side}, back to the frames",
        }

    def generate(self, messages: Sequence[Any], ctx: SampleContext) -> str:
        refs, images = message_clips(messages)[-1]
        if self._clip is None or self._clip[0] != refs:  # the turns of one sample come together
            self._clip = (refs, self._track(refs, images, _fps(ctx)))
        video = self._clip[1]
        if ctx.kind == "yes_no":
            return "Yes" if video.objects() else "No"
        return self.words.answer(video, 1, ctx.kind, ctx.sample) if video.objects() else ""

    def _track(self, refs: Sequence[str], images: Sequence[np.ndarray], fps: float) -> TrackVideo:
        frames = [int(r.rsplit("#", 1)[1]) for r in refs]
        heat = frame_heatmaps(self.model, self.cfg, images, self.device)
        h, w = images[0].shape[:2]
        full = [cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR) for x in heat]
        track = link_track(full, self.rule)
        return TrackVideo(
            dict(zip(frames, images, strict=True)), fps, {frames[t]: m for t, m in track.items()}
        )


class TvauAdapter(Adapter):
    """The T-VAU model: LoRA-tuned Qwen2.5-VL with RAE prompt tokens from AHD heatmaps of the message frames.

    Its inputs are built as ``train rae`` builds them (:class:`~tvau_bench.models.tvau_inputs.TvauInputs` over
    the harness's message list), with an open assistant turn to answer in.
    """

    needs_images = True

    def __init__(self, config: Any, ckpt: str, ahd: str | None = None, device: str = "cpu") -> None:
        super().__init__(config)
        self.ckpt, self.ahd_ckpt, self.device = ckpt, ahd, device
        self.model = self.tokenizer = self.rcfg = self.acfg = self.inputs = None

    def prepare(self, data: Any, *, split: str, source_root: Any = None) -> None:
        from .checkpoint import load_checkpoint
        from .train_ahd import load_ahd
        from .train_rae import load_tvau
        from .tvau_inputs import TvauInputs, ahd_heatmap_source

        self.model, self.tokenizer, self.rcfg = load_tvau(self.ckpt, self.device)
        heatmaps = None
        if self.model.uses_heatmaps:  # ablations: no heatmaps reach the LVLM, so no AHD runs
            ahd = self.ahd_ckpt or load_checkpoint(self.ckpt)[1].get("ahd")
            if not ahd:
                raise TvauError(
                    "no AHD checkpoint for the heatmaps", field="adapter_args.ahd", fix="set adapter_args.ahd"
                )
            model, self.acfg = load_ahd(ahd, self.device)
            self.ahd_ckpt = str(ahd)
            heatmaps = ahd_heatmap_source(model, self.acfg, self.device)
        self.inputs = TvauInputs(self.model, self.tokenizer, self.rcfg, heatmaps, self.device)

    def describe(self) -> dict[str, Any]:
        frames = self.rcfg.frames or "all"
        return {
            "ckpt": str(self.ckpt),
            "ahd": self.ahd_ckpt,
            "exemplar": "in the prompt (its video, AHD evidence and dialogue) when the run has one shot",
            "video": (
                f"{frames} of the protocol frames (uniformly), resized to a longer side near "
                f"{self.rcfg.frame_side} (multiples of 28), as in training"
            ),
            "heatmaps": (
                f"{HEATMAP_INPUT}, AHD max_side {self.acfg.max_side}, RAE size {self.rcfg.heatmap_size}"
                if self.acfg is not None
                else "none (ablation without the AHD's evidence in the prompt)"
            ),
            "params": self.model.params,
        }

    def generate(self, messages: Sequence[Any], ctx: SampleContext) -> str:
        inputs = self.inputs.encode(messages, generation_prompt=True)
        gen = {"max_new_tokens": int(self.generation.get("max_new_tokens", 128)), "do_sample": False}
        ids = self.model.generate(**inputs, **gen)
        return self.tokenizer.decode(ids[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def message_clips(messages: Sequence[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[np.ndarray]]]:
    """Each clip of the messages in order (the one-shot exemplar's, then the query's): its frame references and
    its images. A clip is a user message holding frames."""
    clips = []
    for m in messages:
        frames = [p for p in m["content"] if p.get("type") == "image"]
        if m["role"] != "user" or not frames:
            continue
        if any(p.get("image") is None for p in frames):
            raise TvauError("frames were not decoded for the adapter", fix="pass --video-root")
        clips.append((tuple(p.get("ref", "") for p in frames), [p["image"] for p in frames]))
    if not clips:
        raise TvauError("the messages hold no frames", fix="run the adapter with images (needs_images)")
    return clips
