"""Region-aware Anomaly Encoder: abnormal heatmaps → prompt tokens in the LVLM's hidden size.

Per time step a small conv encoder reads the heatmap; R learned soft-attention maps pool it into R region tokens;
a global (mean-pooled) token joins them; each token is projected to the LVLM hidden size and added to a shared
base embedding plus a learned region embedding and a time embedding. Output: (B, T * (R + 1), hidden).
The tokens replace ``<|anomaly_prompt_pad|>`` placeholders in the input embeddings (:func:`scatter_prompt_tokens`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ANOMALY_TOKEN = "<|anomaly_prompt_pad|>"


class RegionAwareAnomalyEncoder(nn.Module):
    """(B, T, H, W) heatmaps in [0, 1] → (B, T * (regions + 1), hidden) prompt embeddings."""

    def __init__(
        self, hidden_size: int, *, regions: int = 9, width: int = 32, max_steps: int = 64, size: int = 64
    ) -> None:
        super().__init__()
        self.regions = regions
        self.size = size
        self.max_steps = max_steps
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width // 2, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width // 2, width, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.SiLU(),
        )
        # Learned soft-attention over locations: one map per region, from the features and a learned positional
        # prior (initialised as a 3x3 grid of blobs so regions start spatially distinct).
        self.attn = nn.Conv2d(width, regions, 1)
        self.attn_prior = nn.Parameter(_grid_prior(regions, size // 4))
        self.to_hidden = nn.Sequential(
            nn.Linear(width, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )
        self.base = nn.Parameter(torch.zeros(hidden_size))
        self.region_embed = nn.Parameter(torch.randn(regions + 1, hidden_size) * 0.02)
        self.time_embed = nn.Parameter(torch.randn(max_steps, hidden_size) * 0.02)

    def tokens_per_step(self) -> int:
        return self.regions + 1

    def num_tokens(self, steps: int) -> int:
        """How many placeholder tokens a clip of ``steps`` heatmaps needs."""
        return steps * self.tokens_per_step()

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        b, t, h, w = heatmaps.shape
        if t > self.max_steps:
            raise ValueError(f"{t} heatmap steps > max_steps {self.max_steps}")
        x = heatmaps.reshape(b * t, 1, h, w).to(self.base.dtype)
        if (h, w) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        f = self.encoder(x)  # (BT, C, s, s)
        a = (self.attn(f) + self.attn_prior.unsqueeze(0)).flatten(2).softmax(-1)  # (BT, R, s*s)
        regions = torch.einsum("brn,bcn->brc", a, f.flatten(2))  # (BT, R, C)
        glob = f.mean((2, 3)).unsqueeze(1)  # (BT, 1, C)
        tokens = self.to_hidden(torch.cat([regions, glob], 1))  # (BT, R+1, hidden)
        tokens = tokens + self.base + self.region_embed
        tokens = tokens.view(b, t, self.regions + 1, -1) + self.time_embed[:t].view(1, t, 1, -1)
        return tokens.reshape(b, t * (self.regions + 1), -1)


def _grid_prior(regions: int, size: int) -> torch.Tensor:
    """(R, s, s) log-blobs centred on a near-square grid of ``regions`` cells."""
    rows = round(regions**0.5)
    cols = -(-regions // rows)
    ys = torch.linspace(0, 1, size).view(-1, 1)
    xs = torch.linspace(0, 1, size).view(1, -1)
    maps = []
    for r in range(regions):
        cy, cx = (r // cols + 0.5) / rows, (r % cols + 0.5) / cols
        maps.append(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * (0.5 / rows) ** 2))
    return torch.stack(maps)


def scatter_prompt_tokens(
    inputs_embeds: torch.Tensor, input_ids: torch.Tensor, token_id: int, prompts: torch.Tensor
) -> torch.Tensor:
    """Replace each row's ``token_id`` positions with that row's prompt tokens, in order.

    inputs_embeds (B, L, D), input_ids (B, L), prompts (B, K, D) where every row holds exactly K placeholders.
    """
    mask = input_ids == token_id
    counts = mask.sum(1)
    k = prompts.shape[1]
    if bool((counts != k).any()):
        raise ValueError(f"anomaly placeholder counts {counts.tolist()} != {k} prompt tokens per row")
    mask3 = mask.unsqueeze(-1).expand_as(inputs_embeds)
    return inputs_embeds.masked_scatter(mask3, prompts.to(inputs_embeds.dtype))
