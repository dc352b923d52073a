"""Parameter reports of T-VAU checkpoints: the modules of the paper's Table 3 ("Params") counted one by one.

E_t and the AHD head are counted from the AHD checkpoint's saved tensors (a ``qwen-vision`` AHD reads the LVLM's
frozen vision tower, which is not saved there and is counted once, in the frozen base); the RAE, the LoRA weights
and the frozen base from the assembled model. ``trainable`` is what any training of the variant changes (AHD
head, E_t when learned, RAE when it has heatmaps to encode, LoRA); ``total`` is every parameter the variant
holds, as the paper counts it (its "w/o AHD" row keeps the RAE's weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PARTS = ("e_t", "ahd_head", "rae", "lora", "frozen_base")


def ahd_parts(ahd_ckpt: str | Path | None) -> dict[str, Any]:
    """``{"e_t", "ahd_head", "e_t_trainable"}`` of an AHD checkpoint (zeros when there is none)."""
    if not ahd_ckpt:
        return {"e_t": 0, "ahd_head": 0, "e_t_trainable": False}
    from .checkpoint import load_checkpoint

    tensors, raw = load_checkpoint(ahd_ckpt)
    e_t = sum(int(v.numel()) for k, v in tensors.items() if k.startswith("text."))
    head = sum(int(v.numel()) for k, v in tensors.items() if not k.startswith("text."))
    learned = (raw.get("ahd") or {}).get("text") == "learned"
    return {"e_t": e_t, "ahd_head": head, "e_t_trainable": learned}


def param_report(model: Any, ahd_ckpt: str | Path | None) -> dict[str, int]:
    """Counts per module of a :class:`~tvau_bench.models.tvau.TvauModel` (+ its AHD), trainable and total."""
    lora = base = 0
    for name, p in model.lvlm.named_parameters():
        if "lora_" in name:
            lora += p.numel()
        else:
            base += p.numel()
    rae = sum(p.numel() for p in model.rae.parameters()) if model.rae is not None else 0
    ahd = ahd_parts(ahd_ckpt)
    report = {"e_t": ahd["e_t"], "ahd_head": ahd["ahd_head"], "rae": rae, "lora": lora, "frozen_base": base}
    trainable = ahd["ahd_head"] + lora + (ahd["e_t"] if ahd["e_t_trainable"] else 0)
    trainable += rae if model.uses_heatmaps else 0
    return {
        **{k: int(v) for k, v in report.items()},
        "trainable": int(trainable),
        "total": sum(report.values()),
    }


def format_report(report: dict[str, int]) -> str:
    """One line: each module in millions, then trainable / total."""
    parts = "  ".join(f"{k} {report[k] / 1e6:.3f}M" for k in PARTS)
    return f"{parts}  trainable {report['trainable'] / 1e6:.3f}M / total {report['total'] / 1e6:.3f}M"
