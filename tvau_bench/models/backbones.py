"""Vision backbones for the AHD: a small CNN trained from scratch (CPU default) and the Qwen2.5-VL vision tower.

Both take frames ``(N, C, H, W)`` float in [0, 1] and return a list of intermediate feature maps
``(N, C_l, h_l, w_l)``, one per tapped layer, in spatial (row-major) order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# The OpenAI CLIP statistics Qwen2.5-VL's image processor normalises with.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, cout), cout),
        nn.SiLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.GroupNorm(min(8, cout), cout),
        nn.SiLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """A few strided conv stages; every stage's output is one tapped layer (strides 2, 4, 8, ...)."""

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        stages, cin = [], in_channels
        for w in widths:
            stages.append(_conv_block(cin, w, 2))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.feature_dims = list(widths)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def temporal_stack(frames: torch.Tensor, offset: int = 2) -> torch.Tensor:
    """(B, T, 3, H, W) → (B, T, 9, H, W): each frame with its backward and forward differences at ``offset``.

    Neighbours beyond the clip are clamped to its first/last frame (difference 0 there), so callers that need
    exact context at the edges pass a clip padded with ``offset`` extra frames on each side.
    """
    t = frames.shape[1]
    idx = torch.arange(t, device=frames.device)
    prev = frames[:, (idx - offset).clamp(min=0)]
    nxt = frames[:, (idx + offset).clamp(max=t - 1)]
    return torch.cat([frames, frames - prev, nxt - frames], dim=2)


# ---------------------------------------------------------------- Qwen2.5-VL vision tower


def patchify_images(
    images: torch.Tensor, patch_size: int, merge_size: int, temporal_patch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W), H and W multiples of ``patch_size * merge_size`` → (pixel rows, grid_thw (N, 3)).

    The row order is Qwen2-VL's processor order: per image, (h/m, w/m, m, m) patches, each row the flattened
    (C, temporal_patch, patch, patch) values, every image repeated over the temporal patch as the processor does.
    """
    n, c, h, w = images.shape
    unit = patch_size * merge_size
    if h % unit or w % unit:
        raise ValueError(f"image size {h}x{w} is not a multiple of {unit}")
    gh, gw = h // patch_size, w // patch_size
    x = images.reshape(
        n, c, gh // merge_size, merge_size, patch_size, gw // merge_size, merge_size, patch_size
    )
    x = x.permute(0, 2, 5, 3, 6, 1, 4, 7)  # n, gh/m, gw/m, m, m, c, p, p
    x = x.unsqueeze(6).expand(-1, -1, -1, -1, -1, -1, temporal_patch_size, -1, -1)
    rows = x.reshape(n * gh * gw, c * temporal_patch_size * patch_size * patch_size)
    grid = torch.tensor([[1, gh, gw]] * n, dtype=torch.long, device=images.device)
    return rows, grid


def patchify_video(
    frames: torch.Tensor, patch_size: int, merge_size: int, temporal_patch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One video (T, C, H, W), normalised → (pixel rows, grid_thw (1, 3)) in Qwen2-VL's video processor order.

    T is padded to a multiple of ``temporal_patch_size`` by repeating the last frame, as the processor does.
    """
    t, c, h, w = frames.shape
    if pad := -t % temporal_patch_size:
        frames = torch.cat([frames, frames[-1:].expand(pad, -1, -1, -1)])
        t += pad
    unit = patch_size * merge_size
    if h % unit or w % unit:
        raise ValueError(f"frame size {h}x{w} is not a multiple of {unit}")
    gt, gh, gw = t // temporal_patch_size, h // patch_size, w // patch_size
    x = frames.reshape(
        gt,
        temporal_patch_size,
        c,
        gh // merge_size,
        merge_size,
        patch_size,
        gw // merge_size,
        merge_size,
        patch_size,
    )
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # gt, gh/m, gw/m, m, m, c, tp, p, p
    rows = x.reshape(gt * gh * gw, c * temporal_patch_size * patch_size * patch_size)
    return rows, torch.tensor([[gt, gh, gw]], dtype=torch.long, device=frames.device)


def undo_window_order(hidden: torch.Tensor, window_index: torch.Tensor, merge_unit: int) -> torch.Tensor:
    """Tokens (S, D) in the vision tower's window order → the processor's merge-block order (inverse permutation)."""
    s, d = hidden.shape
    blocks = hidden.reshape(s // merge_unit, merge_unit, d)
    return blocks[torch.argsort(window_index)].reshape(s, d)


def merge_order_to_grid(hidden: torch.Tensor, grid_thw: torch.Tensor, merge_size: int) -> torch.Tensor:
    """Tokens (S, D) in merge-block order of images with grid (1, gh, gw) each → (N, D, gh, gw) spatial maps."""
    maps, start = [], 0
    for t, gh, gw in grid_thw.tolist():
        count = t * gh * gw
        x = hidden[start : start + count].reshape(
            t, gh // merge_size, gw // merge_size, merge_size, merge_size, -1
        )
        x = x.permute(0, 5, 1, 3, 2, 4).reshape(t, -1, gh, gw)  # t, D, gh/m, m, gw/m, m
        maps.append(x)
        start += count
    return torch.cat(maps)


class QwenVisionBackbone(nn.Module):
    """Intermediate blocks of a Qwen2.5-VL vision tower as spatial maps, window order undone.

    Every frame is one image (grid (1, h, w)), so features are per frame. ``layers`` index the tower's blocks.
    """

    def __init__(self, visual: nn.Module, layers: Sequence[int], *, trainable: bool = False) -> None:
        super().__init__()
        cfg = visual.config
        depth = len(visual.blocks)
        self.layers = [i if i >= 0 else depth + i for i in layers]
        if not self.layers or any(not 0 <= i < depth for i in self.layers):
            raise ValueError(f"vision layers {list(layers)} out of range for a tower of depth {depth}")
        self.visual = visual
        self.patch_size = int(cfg.patch_size)
        self.merge_size = int(cfg.spatial_merge_size)
        self.temporal_patch_size = int(cfg.temporal_patch_size)
        self.feature_dims = [int(cfg.hidden_size)] * len(self.layers)
        self.in_channels = 3
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        self.trainable = trainable
        for p in visual.parameters():
            p.requires_grad_(trainable)

    @property
    def unit(self) -> int:
        """Input sizes must be multiples of this many pixels."""
        return self.patch_size * self.merge_size

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        from transformers.vision_utils import get_vision_window_index

        _n, _, h, w = x.shape
        if h % self.unit or w % self.unit:
            x = F.interpolate(x, size=(_ceil_to(h, self.unit), _ceil_to(w, self.unit)), mode="bilinear")
        x = (x - self.mean) / self.std
        dtype = next(self.visual.parameters()).dtype
        rows, grid = patchify_images(x.to(dtype), self.patch_size, self.merge_size, self.temporal_patch_size)
        window_index, _ = get_vision_window_index(
            grid, self.merge_size, self.visual.window_size, self.patch_size
        )
        wanted = set(self.layers)
        captured: dict[int, torch.Tensor] = {}
        hooks = [
            self.visual.blocks[i].register_forward_hook(
                lambda _m, _a, out, i=i: captured.__setitem__(i, out[0] if isinstance(out, tuple) else out)
            )
            for i in wanted
        ]
        try:
            # Run only up to the deepest tapped block: later blocks cannot change what we read.
            with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
                self._run_blocks(rows, grid, max(wanted))
        finally:
            for hk in hooks:
                hk.remove()
        unit = self.merge_size**2
        out = []
        for i in self.layers:
            tokens = undo_window_order(captured[i], window_index.to(captured[i].device), unit)
            out.append(merge_order_to_grid(tokens, grid, self.merge_size).float())
        return out

    def _run_blocks(self, rows: torch.Tensor, grid: torch.Tensor, last: int) -> None:
        """Forward through the tower, stopping after block ``last`` (raises a private signal to stop early)."""
        stop = self.visual.blocks[last].register_forward_hook(_raise_stop)
        try:
            self.visual(rows, grid_thw=grid)
        except _StopForward:
            pass
        finally:
            stop.remove()


class _StopForward(Exception):
    pass


def _raise_stop(*_args) -> None:
    raise _StopForward


def _ceil_to(v: int, unit: int) -> int:
    return max(unit, -(-v // unit) * unit)
