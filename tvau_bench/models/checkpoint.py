"""Checkpoints: weights in ``model.safetensors`` plus ``config.json``; training state for resuming in ``resume.pt``.

Every file is written atomically (temp file + rename), so a training killed mid-save leaves the previous
checkpoint intact, and ``config.json`` is written last: a folder with a config has matching weights.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._io import read_json, write_json
from ..errors import TvauError

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
RESUME = "resume.pt"


def save_checkpoint(
    directory: str | Path,
    tensors: dict[str, Any],
    config: dict[str, Any],
    resume: dict[str, Any] | None = None,
) -> Path:
    """Write weights (safetensors), the optional resume state (torch), then the config (json)."""
    import torch
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / (WEIGHTS + ".tmp")
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"format": "pt"}
    )
    os.replace(tmp, d / WEIGHTS)
    if resume is not None:
        tmp = d / (RESUME + ".tmp")
        torch.save(resume, tmp)
        os.replace(tmp, d / RESUME)
    write_json(d / CONFIG, config)
    return d


def load_checkpoint(directory: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, config) of a checkpoint folder; TvauError naming what is missing."""
    from safetensors.torch import load_file

    d = Path(directory)
    cfg_path, w_path = d / CONFIG, d / WEIGHTS
    if not cfg_path.is_file() or not w_path.is_file():
        raise TvauError(
            "not a checkpoint folder (needs config.json and model.safetensors)",
            path=d,
            fix="pass the --out folder of `tvau-bench train`",
        )
    try:
        tensors = load_file(str(w_path))
    except Exception as exc:  # safetensors raises its own error types for truncated or foreign files
        raise TvauError(
            f"cannot read the weights ({exc})", path=w_path, fix="retrain or restore the file"
        ) from None
    return tensors, read_json(cfg_path)


def load_resume(directory: str | Path) -> dict[str, Any] | None:
    """The resume state of an unfinished training, or None."""
    import torch

    p = Path(directory) / RESUME
    if not p.is_file():
        return None
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TvauError(
            f"cannot read the resume state ({exc})", path=p, fix="delete it to start over"
        ) from None
