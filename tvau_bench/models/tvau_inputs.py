"""What T-VAU is fed for one harness message list: training (``train rae``) and the ``tvau`` adapter both call
:meth:`TvauInputs.encode`, so the model is trained on exactly the inputs it gets at test time.

Each clip of the messages (the one-shot exemplar's, then the query's) holds its protocol frames as the harness
decodes them (RGB, capped at the protocol's max side). The LVLM takes ``frames`` of them, picked uniformly (all by
default), resized to a longer side near ``frame_side``; their heatmaps are a heatmap source's output over all the
clip's protocol frames (for the AHD, :func:`~tvau_bench.models.adapter.frame_heatmaps`: temporal context from
neighbouring protocol frames), taken at the same positions and resized to the RAE's size. The text is
:func:`~tvau_bench.models.tvau.encode_messages` of the message list itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

# (frame refs, RGB images) of one clip -> (T, h, w) heatmaps in [0, 1], one per image.
HeatmapSource = Callable[[tuple[str, ...], Sequence[np.ndarray]], np.ndarray]


def pick_frames(n: int, take: int | None) -> list[int]:
    """Positions of ``take`` of ``n`` frames, spread uniformly (all of them when ``take`` is None or >= n)."""
    if take is None or n <= take:
        return list(range(n))
    return [int(i) for i in np.linspace(0, n - 1, take).round().astype(int)]


def frame_size(width: int, height: int, side: int, unit: int = 28) -> tuple[int, int]:
    """(w, h): the longer side near ``side``, both multiples of ``unit`` (Qwen2.5-VL's patch x merge)."""
    scale = side / max(width, height)
    return max(unit, round(width * scale / unit) * unit), max(unit, round(height * scale / unit) * unit)


def ahd_heatmap_source(model: Any, cfg: Any, device: str = "cpu") -> HeatmapSource:
    """The AHD's heatmaps of a clip's protocol frames (nothing else of the video is read)."""
    from .adapter import frame_heatmaps

    return lambda _refs, images: frame_heatmaps(model, cfg, images, device)


class TvauInputs:
    """Builds a :class:`~tvau_bench.models.tvau.TvauModel`'s keyword inputs from harness message lists.

    ``cfg`` gives ``frames``, ``frame_side`` and ``heatmap_size`` (a ``train rae`` config); ``heatmaps`` is None
    when no heatmaps reach the LVLM (the ablations). A clip's heatmaps are kept by frame references: the heatmap
    source is frozen, so a clip shown again (the exemplar, a sample's later turns or epochs) is not recomputed.
    """

    def __init__(
        self, model: Any, tokenizer: Any, cfg: Any, heatmaps: HeatmapSource | None, device: str = "cpu"
    ) -> None:
        self.model, self.tokenizer, self.cfg, self.device = model, tokenizer, cfg, device
        self.heatmaps = heatmaps if model.uses_heatmaps else None
        self._heat: dict[tuple[str, ...], Any] = {}

    def clip(self, refs: tuple[str, ...], images: Sequence[np.ndarray]) -> tuple[Any, Any]:
        """(video (T, 3, H, W) float in [0, 1], heatmaps (T, s, s) float or None) of one clip."""
        import torch

        pos = pick_frames(len(images), self.cfg.frames)
        h0, w0 = images[0].shape[:2]
        w, h = frame_size(w0, h0, self.cfg.frame_side)
        frames = np.stack([cv2.resize(images[i], (w, h), interpolation=cv2.INTER_AREA) for i in pos])
        video = torch.from_numpy(frames).float().div(255).permute(0, 3, 1, 2)
        if self.heatmaps is None:
            return video, None
        if refs not in self._heat:
            s = self.cfg.heatmap_size
            full = self.heatmaps(refs, images)
            heat = [cv2.resize(full[i].astype(np.float32), (s, s), interpolation=cv2.INTER_AREA) for i in pos]
            self._heat[refs] = torch.from_numpy(np.stack(heat))
        return video, self._heat[refs]

    def encode(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        label_from: int | None = None,
        generation_prompt: bool = False,
    ) -> dict[str, Any]:
        """``model(**inputs)`` / ``model.generate(**inputs)`` keywords for ``messages`` (batch of one).

        Labels (training) cover the assistant messages from index ``label_from`` on; ``generation_prompt``
        (inference) ends the ids with an open assistant turn.
        """
        from .adapter import message_clips
        from .tvau import collate, encode_messages, video_inputs

        clips = [self.clip(refs, images) for refs, images in message_clips(messages)]
        pv, grid, counts = video_inputs([v for v, _ in clips], self.model.config.vision_config)
        enc = encode_messages(
            self.tokenizer,
            messages,
            n_video_tokens=counts,
            n_anomaly_tokens=[self.model.num_prompt_tokens(v.shape[0]) for v, _ in clips],
            label_from=label_from,
            generation_prompt=generation_prompt,
        )
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batch = collate([enc], pad)
        if label_from is None:
            batch.pop("labels")
        dtype = next(self.model.base_lvlm().parameters()).dtype
        heat = [h[None].to(self.device) for _, h in clips] if self.heatmaps is not None else None
        return {
            "heatmaps": heat,
            "pixel_values_videos": pv.to(self.device, dtype),
            "video_grid_thw": grid.to(self.device),
            **{k: v.to(self.device) for k, v in batch.items()},
        }
