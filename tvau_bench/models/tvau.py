"""T-VAU assembly: a Qwen2.5-VL LVLM with LoRA on its language model, and the RAE's prompt tokens injected.

The RAE tokens are scattered into the input embeddings at ``<|anomaly_prompt_pad|>`` placeholders by a forward
hook on the LVLM's token embedding, so the model's own forward (and ``generate``) computes the multimodal
3D rotary position ids from ``input_ids``, ``mm_token_type_ids`` (2 at video tokens, 0 elsewhere, placeholders
included: they are text-type tokens) and ``video_grid_thw`` exactly as for a plain video prompt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .backbones import CLIP_MEAN, CLIP_STD, patchify_video
from .rae import RegionAwareAnomalyEncoder, scatter_prompt_tokens

# LoRA targets: every attention and MLP projection of the language model's decoder layers, nothing else.
LORA_TARGETS = r".*language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
SYSTEM_PROMPT = "You are a helpful assistant."
EVIDENCE_PREFIX = "Anomaly evidence:"


def apply_lora(lvlm: nn.Module, *, r: int = 8, alpha: int = 16, dropout: float = 0.0) -> nn.Module:
    """Wrap ``lvlm`` with peft LoRA adapters on its language model's projections only (vision tower untouched)."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, bias="none")
    return get_peft_model(lvlm, cfg)


def lora_module_names(model: nn.Module) -> list[str]:
    """Names of every module that carries LoRA weights."""
    return [n for n, m in model.named_modules() if hasattr(m, "lora_A") and len(getattr(m, "lora_A", {})) > 0]


# ---------------------------------------------------------------- prompt building (pure, given a tokenizer)


@dataclass
class Encoded:
    """One tokenised dialogue: ids, labels (-100 outside answers), modality types (2 = video token)."""

    input_ids: list[int]
    labels: list[int]
    mm_token_type_ids: list[int]


def encode_messages(
    tokenizer: Any,
    messages: Sequence[dict[str, Any]],
    *,
    n_video_tokens: Sequence[int],
    n_anomaly_tokens: Sequence[int],
    label_from: int | None = None,
    generation_prompt: bool = False,
    system: str = SYSTEM_PROMPT,
) -> Encoded:
    """Qwen chat-format ids for a harness message list (:mod:`tvau_bench.harness.messages`).

    Each user message that holds frames becomes, in place of its frames, one video (``n_video_tokens[i]``
    placeholders for the i-th such message) followed by its RAE evidence placeholders (``n_anomaly_tokens[i]``);
    its text parts keep their order around it. Assistant messages at index ``label_from`` or later carry labels
    (none when ``label_from`` is None); ``generation_prompt`` ends with an open assistant turn.
    """

    def tid(tok: str) -> int:
        return int(tokenizer.convert_tokens_to_ids(tok))

    def text(s: str) -> list[int]:
        return list(tokenizer(s, add_special_tokens=False)["input_ids"])

    im_start, im_end = tid("<|im_start|>"), tid("<|im_end|>")
    ids: list[int] = [im_start, *text("system\n" + system), im_end, *text("\n")]
    labels = [-100] * len(ids)
    types = [0] * len(ids)

    def add(seg: list[int], *, label: bool = False, kind: int = 0) -> None:
        ids.extend(seg)
        labels.extend(seg if label else [-100] * len(seg))
        types.extend([kind] * len(seg))

    clip = 0
    for i, m in enumerate(messages):
        add([im_start, *text(m["role"] + "\n")])
        parts = list(m["content"])
        body: list[str] = []
        j = 0
        while j < len(parts):
            if parts[j]["type"] != "image":
                body.append(parts[j]["text"])
                j += 1
                continue
            if m["role"] != "user":
                raise ValueError("only user messages may hold frames")
            if clip >= len(n_video_tokens):
                raise ValueError(
                    f"more clips in the messages than the {len(n_video_tokens)} token counts given"
                )
            if body:
                add(text("\n".join(body) + "\n"))
                body = []
            while j < len(parts) and parts[j]["type"] == "image":
                j += 1
            add([tid("<|vision_start|>")])
            add([tid("<|video_pad|>")] * int(n_video_tokens[clip]), kind=2)
            add([tid("<|vision_end|>")])
            if n_anomaly_tokens[clip]:
                add(text(EVIDENCE_PREFIX))
                add([tid("<|anomaly_prompt_pad|>")] * int(n_anomaly_tokens[clip]))
                add(text("\n"))
            clip += 1
        label = m["role"] == "assistant" and label_from is not None and i >= label_from
        add(text("\n".join(body)), label=label)
        add([im_end], label=label)
        add(text("\n"))
    if clip != len(n_video_tokens):
        raise ValueError(f"{clip} clips in the messages, {len(n_video_tokens)} token counts given")
    if generation_prompt:
        add([im_start, *text("assistant\n")])
    return Encoded(ids, labels, types)


def collate(encoded: Sequence[Encoded], pad_id: int, *, left_pad: bool = False) -> dict[str, torch.Tensor]:
    """Pad a batch (right by default; left for generation) → input_ids, attention_mask, labels, mm_token_type_ids."""
    n = max(len(e.input_ids) for e in encoded)
    out: dict[str, list[list[int]]] = {
        "input_ids": [],
        "attention_mask": [],
        "labels": [],
        "mm_token_type_ids": [],
    }
    for e in encoded:
        pad = n - len(e.input_ids)
        rows = {
            "input_ids": (e.input_ids, pad_id),
            "attention_mask": ([1] * len(e.input_ids), 0),
            "labels": (e.labels, -100),
            "mm_token_type_ids": (e.mm_token_type_ids, 0),
        }
        for key, (vals, fill) in rows.items():
            out[key].append([fill] * pad + list(vals) if left_pad else list(vals) + [fill] * pad)
    return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}


def video_inputs(
    clips: Sequence[torch.Tensor], vision_config: Any
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Clips (T, 3, H, W) in [0, 1] → pixel_values_videos, video_grid_thw, and each clip's video token count."""
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    rows, grids, counts = [], [], []
    m = int(vision_config.spatial_merge_size)
    for clip in clips:
        r, g = patchify_video(
            (clip.float() - mean) / std,
            int(vision_config.patch_size),
            m,
            int(vision_config.temporal_patch_size),
        )
        rows.append(r)
        grids.append(g)
        counts.append(int(g.prod()) // (m * m))
    return torch.cat(rows), torch.cat(grids), counts


# ---------------------------------------------------------------- the model


class TvauModel(nn.Module):
    """LVLM (LoRA-wrapped or plain) + RAE; heatmaps become prompt tokens at the anomaly placeholders.

    Ablations (the paper's Table 3): ``rae=None`` is "w/o RAE" (no module turns heatmaps into tokens);
    ``uses_heatmaps=False`` with an RAE is "w/o AHD" (the RAE is there but has no heatmaps to encode). Either
    way the model takes no evidence tokens: :meth:`num_prompt_tokens` is 0 and heatmaps passed in are ignored.
    """

    def __init__(
        self,
        lvlm: nn.Module,
        rae: RegionAwareAnomalyEncoder | None,
        anomaly_token_id: int,
        *,
        uses_heatmaps: bool = True,
    ) -> None:
        super().__init__()
        self.lvlm = lvlm
        self.rae = rae
        self.uses_heatmaps = bool(uses_heatmaps) and rae is not None
        self.anomaly_token_id = int(anomaly_token_id)
        self.params: dict[str, int] | None = None  # the checkpoint's parameter report, set by the loader
        self._pending: torch.Tensor | None = None
        self._hook = self.embed_tokens().register_forward_hook(self._inject)

    def base_lvlm(self) -> nn.Module:
        """The Qwen2_5_VLForConditionalGeneration under any peft wrapper."""
        m = self.lvlm
        if hasattr(m, "get_base_model"):
            m = m.get_base_model()
        return m

    def embed_tokens(self) -> nn.Embedding:
        return self.base_lvlm().get_input_embeddings()

    @property
    def config(self) -> Any:
        return self.base_lvlm().config

    def _inject(self, _module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        ids = args[0] if args else None
        if self._pending is None or ids is None or ids.dim() != 2:
            return None
        if not bool((ids == self.anomaly_token_id).any()):
            return None  # decode steps and placeholder-free lookups
        return scatter_prompt_tokens(output, ids, self.anomaly_token_id, self._pending)

    @contextlib.contextmanager
    def prompts(self, heatmaps: torch.Tensor | Sequence[torch.Tensor] | None) -> Iterator[None]:
        """Within the block, LVLM calls see the RAE tokens of ``heatmaps`` at the placeholders.

        ``heatmaps`` is (B, T, H, W) for one clip per row, or a sequence of such tensors, one per clip of the
        rows (e.g. the one-shot exemplar's, then the query's), whose tokens follow each other in that order.
        """
        if heatmaps is None or not self.uses_heatmaps:
            self._pending = None
        elif isinstance(heatmaps, torch.Tensor):
            self._pending = self.rae(heatmaps.to(self._device()))
        else:
            self._pending = torch.cat([self.rae(h.to(self._device())) for h in heatmaps], dim=1)
        try:
            yield
        finally:
            self._pending = None

    def _device(self) -> torch.device:
        return self.rae.base.device

    def num_prompt_tokens(self, steps: int) -> int:
        """Evidence placeholders a clip of ``steps`` frames gets in the prompt (0 in the ablations)."""
        return self.rae.num_tokens(steps) if self.uses_heatmaps else 0

    def forward(
        self, heatmaps: torch.Tensor | Sequence[torch.Tensor] | None = None, **lvlm_inputs: Any
    ) -> Any:
        """The LVLM's forward (loss when ``labels`` given) with the heatmaps' prompt tokens injected."""
        with self.prompts(heatmaps):
            return self.lvlm(**lvlm_inputs)

    @torch.no_grad()
    def generate(
        self, heatmaps: torch.Tensor | Sequence[torch.Tensor] | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """``generate`` with the prompt tokens injected at prefill; the placeholder is never generated."""
        kwargs.setdefault("suppress_tokens", [self.anomaly_token_id])
        with self.prompts(heatmaps):
            return self.lvlm.generate(**kwargs)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changes: RAE weights (``rae.*``) and LoRA weights (``lora.*``)."""
        rae = self.rae.state_dict() if self.rae is not None else {}
        out = {f"rae.{k}": v.detach().cpu().contiguous() for k, v in rae.items()}
        if hasattr(self.lvlm, "peft_config"):
            from peft import get_peft_model_state_dict

            for k, v in get_peft_model_state_dict(self.lvlm).items():
                out[f"lora.{k}"] = v.detach().cpu().contiguous()
        return out

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        rae = {k[4:]: v for k, v in state.items() if k.startswith("rae.")}
        if self.rae is not None:
            self.rae.load_state_dict(rae)
        elif rae:
            raise ValueError("RAE weights given to a model built without an RAE (w/o RAE)")
        lora = {k[5:]: v for k, v in state.items() if k.startswith("lora.")}
        if lora:
            from peft import set_peft_model_state_dict

            res = set_peft_model_state_dict(self.lvlm, lora)
            unexpected = getattr(res, "unexpected_keys", [])
            if unexpected:
                raise ValueError(f"LoRA weights do not fit this LVLM: {unexpected[:3]}")


def build_tvau(
    lvlm: nn.Module,
    anomaly_token_id: int,
    *,
    lora: bool = True,
    lora_r: int = 8,
    lora_alpha: int = 16,
    regions: int = 9,
    rae_width: int = 32,
    heatmap_size: int = 64,
    with_rae: bool = True,
    with_ahd: bool = True,
) -> TvauModel:
    """Freeze the LVLM, add LoRA to its language model, and attach a fresh RAE in its hidden size and dtype.

    ``with_rae=False`` builds no RAE ("w/o RAE"); ``with_ahd=False`` keeps the RAE but feeds it no heatmaps
    ("w/o AHD"). The LoRA weights are drawn before the RAE, so every variant starts from the same LoRA init.
    """
    for p in lvlm.parameters():
        p.requires_grad_(False)
    hidden = int(lvlm.config.text_config.hidden_size)
    dtype = next(lvlm.parameters()).dtype
    device = next(lvlm.parameters()).device
    wrapped = apply_lora(lvlm, r=lora_r, alpha=lora_alpha) if lora else lvlm
    rae = None
    if with_rae:
        rae = RegionAwareAnomalyEncoder(hidden, regions=regions, width=rae_width, size=heatmap_size)
        rae = rae.to(device=device, dtype=dtype)
        if not with_ahd:
            rae.requires_grad_(False)  # nothing to encode: its weights never see a gradient
    return TvauModel(wrapped, rae, anomaly_token_id, uses_heatmaps=with_ahd)
