"""Anomaly Heatmap Decoder: visual-textual alignment of intermediate features → pixel-level heatmaps.

Per tapped layer: a projection into the text space, temporal context across the clip's frames, cosine
similarity with the class embeddings S_c at a learned logit scale. The per-layer class logits are resized to
the finest layer and fused with learned softmax weights → (B, T, 2, H', W') logits, upsampled to pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import temporal_stack
from .text_encoder import ClassTextEmbeddings


class TemporalContext(nn.Module):
    """Residual temporal mixing: each location's features with those of the previous and next frame.

    A (3, 1, 1) temporal convolution written as a 1x1 convolution over the three stacked frames (clamped at the
    clip's ends): far cheaper on CPU than a 3D convolution, and initialised to the identity.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.mix = nn.Sequential(nn.Conv2d(3 * dim, dim, 1), nn.SiLU(), nn.Conv2d(dim, dim, 1))
        nn.init.zeros_(self.mix[-1].weight)
        nn.init.zeros_(self.mix[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D, h, w)."""
        b, t, d, h, w = x.shape
        idx = torch.arange(t, device=x.device)
        stacked = torch.cat([x[:, (idx - 1).clamp(min=0)], x, x[:, (idx + 1).clamp(max=t - 1)]], dim=2)
        return x + self.mix(stacked.reshape(b * t, 3 * d, h, w)).view(b, t, d, h, w)


class AnomalyHeatmapDecoder(nn.Module):
    """Features of several layers + S_c → fused (B, T, 2, h, w) class logits."""

    def __init__(
        self, feature_dims: Sequence[int], text_dim: int, *, temporal: bool = True, temporal_from: int = 1
    ) -> None:
        super().__init__()
        # Temporal mixing on layers ``temporal_from`` and deeper: the coarse maps carry the motion context at a
        # fraction of the finest map's cost.
        self.temporal_from = temporal_from
        self.proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, text_dim, 1), nn.SiLU(), nn.Conv2d(text_dim, text_dim, 1))
            for c in feature_dims
        )
        self.temporal = (
            nn.ModuleList(TemporalContext(text_dim) for _ in feature_dims[temporal_from:])
            if temporal
            else None
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.layer_logits = nn.Parameter(torch.zeros(len(feature_dims)))
        # Per-class bias after the scaled cosine: lets the decoder set the prior of rare abnormal pixels.
        self.class_bias = nn.Parameter(torch.zeros(2))

    def layer_weights(self) -> torch.Tensor:
        """The fusion weights over layers (softmax of learned logits)."""
        return self.layer_logits.softmax(0)

    def forward(self, feats: Sequence[torch.Tensor], s_c: torch.Tensor, batch: int) -> torch.Tensor:
        """feats: per layer (B*T, C_l, h_l, w_l); s_c: (2, D) → (B, T, 2, h0, w0), h0×w0 the finest layer."""
        size = max((f.shape[-2:] for f in feats), key=lambda s: s[0] * s[1])
        text = F.normalize(s_c, dim=-1)
        scale = self.logit_scale.exp().clamp(max=100.0)
        fused = 0
        weights = self.layer_weights()
        for i, f in enumerate(feats):
            z = self.proj[i](f)
            if self.temporal is not None and i >= self.temporal_from:
                bt, d, h, w = z.shape
                z = self.temporal[i - self.temporal_from](z.view(batch, bt // batch, d, h, w)).reshape(
                    bt, d, h, w
                )
            z = F.normalize(z, dim=1)
            logits = scale * torch.einsum("ndhw,cd->nchw", z, text)
            if logits.shape[-2:] != size:
                logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
            fused = fused + weights[i] * logits
        fused = fused + self.class_bias.view(1, 2, 1, 1)
        return fused.view(batch, -1, 2, *size)


class AHDModel(nn.Module):
    """Backbone + E_t + decoder: clips (B, T + 2c, 3, H, W) in [0, 1] → pixel logits (B, T, 2, H, W).

    ``context`` c > 0 feeds each frame with its differences to the frames c steps before and after (motion cues
    for a backbone trained from scratch); the clip then carries c extra frames on each side, dropped from the
    output.
    """

    def __init__(
        self,
        backbone: nn.Module,
        text: ClassTextEmbeddings,
        *,
        temporal: bool = True,
        context: int = 0,
        coords: bool = False,
    ) -> None:
        super().__init__()
        self.coords = coords
        self.backbone = backbone
        self.text = text
        self.context = context
        self.decoder = AnomalyHeatmapDecoder(backbone.feature_dims, text.dim, temporal=temporal)

    def forward(self, clip: torch.Tensor, origin: torch.Tensor | None = None) -> torch.Tensor:
        """``origin`` (B, 4) = (y0, x0, full_h, full_w) places a crop in its frame for the coordinate channels."""
        c = self.context
        x = temporal_stack(clip, c)[:, c : clip.shape[1] - c] if c else clip
        b, t, _, h, w = x.shape
        if self.coords:
            grid = coord_channels(b, h, w, origin, device=x.device)
            x = torch.cat([x, grid.unsqueeze(1).expand(-1, t, -1, -1, -1)], dim=2)
        feats = self.backbone(x.reshape(b * t, *x.shape[2:]))
        logits = self.decoder(feats, self.text(), b)
        up = F.interpolate(logits.flatten(0, 1), size=(h, w), mode="bilinear", align_corners=False)
        return up.view(b, t, 2, h, w)


def coord_channels(
    b: int, h: int, w: int, origin: torch.Tensor | None = None, *, device: torch.device | None = None
) -> torch.Tensor:
    """(B, 2, h, w) pixel coordinates in [-1, 1] of the full frame; ``origin`` rows (y0, x0, H, W) for crops."""
    if origin is None:
        origin = torch.tensor([[0, 0, h, w]], dtype=torch.float32, device=device).expand(b, -1)
    o = origin.to(device=device, dtype=torch.float32)
    ys = (o[:, 0:1] + torch.arange(h, device=device).float() + 0.5) / o[:, 2:3] * 2 - 1  # (B, h)
    xs = (o[:, 1:2] + torch.arange(w, device=device).float() + 0.5) / o[:, 3:4] * 2 - 1  # (B, w)
    return torch.stack([xs[:, None, :].expand(-1, h, -1), ys[:, :, None].expand(-1, -1, w)], dim=1)


def heatmaps_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """(…, 2, H, W) class logits → (…, H, W) abnormal probability in [0, 1]."""
    return logits.softmax(dim=-3)[..., 1, :, :]


# ---------------------------------------------------------------- losses


def ce_loss(logits: torch.Tensor, target: torch.Tensor, abnormal_weight: float = 1.0) -> torch.Tensor:
    """Pixel cross-entropy; logits (…, 2, H, W), target (…, H, W) in {0, 1}."""
    weight = torch.tensor([1.0, abnormal_weight], device=logits.device)
    return F.cross_entropy(
        logits.reshape(-1, 2, *logits.shape[-2:]),
        target.reshape(-1, *target.shape[-2:]).long(),
        weight=weight,
    )


def focal_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0, alpha: float = 0.75, eps: float = 1.0
) -> torch.Tensor:
    """Focal loss on the abnormal probability plus soft dice over each frame (frames with no mask use 1 - mean p)."""
    flat = logits.reshape(-1, 2, *logits.shape[-2:])
    y = target.reshape(-1, *target.shape[-2:]).float()
    logp = flat.log_softmax(1)
    p = logp[:, 1].exp()
    pt = torch.where(y > 0, p, 1 - p)
    logpt = torch.where(y > 0, logp[:, 1], logp[:, 0])
    at = torch.where(y > 0, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
    focal = (-at * (1 - pt).pow(gamma) * logpt).mean()
    inter = (p * y).sum((1, 2))
    denom = p.sum((1, 2)) + y.sum((1, 2))
    dice = 1 - (2 * inter + eps) / (denom + eps)
    return focal + dice.mean()


LOSSES = {"ce": ce_loss, "focal-dice": focal_dice_loss}
