"""Train the AHD on a source's pixel masks; resumable from the last epoch checkpoint.

``config.json`` holds everything needed to rebuild the model (:func:`build_ahd`) and to run detection
(working size, clip length, context). An epoch is a fixed number of steps; after each one the weights, the
optimizer and the sampler state are saved, so a killed run rerun with the same arguments continues where it
stopped and ends in the same place (up to floating-point nondeterminism of threaded CPU kernels).

The learning rate warms up, then follows a cosine to 2% of its peak over the run's progress: the share of steps
done, or, with a time budget (``max_minutes``), the share of the budget used when that is further along, so a
run stopped by its budget still ends annealed (its result then depends on the machine's speed).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TvauError
from ..progress import progress
from .checkpoint import load_checkpoint, load_resume, save_checkpoint

BACKBONES = ("cnn", "qwen-vision")


@dataclass
class AHDConfig:
    """What defines an AHD model and its training."""

    backbone: str = "cnn"
    widths: list[int] = field(default_factory=lambda: [24, 48, 96])
    text_dim: int = 32
    coords: bool = True  # coordinate input channels (cnn): where a lane is tells its direction of flow
    crop: list[int] = field(default_factory=lambda: [64, 96])  # training crop (h, w); [] = full frames
    colour_jitter: bool = True
    text: str = "hashed"  # hashed | learned | lvlm
    context: int = 4  # temporal input offset in frames (cnn only); 0 disables
    temporal: bool = True
    max_side: int = 192
    clip_len: int = 6
    batch: int = 4
    lr: float = 2e-3
    loss: str = "ce"
    abnormal_weight: float = 4.0
    epochs: int = 60
    steps_per_epoch: int = 40
    seed: int = 0
    # UBnormal's protocol: train on train, select models on validation (never trained on).
    train_splits: list[str] = field(default_factory=lambda: ["train"])
    lvlm_path: str | None = None  # qwen-vision: a local Qwen2.5-VL checkpoint folder
    vision_layers: list[int] = field(default_factory=lambda: [7, 15, 23])
    device: str = "cpu"
    # AHD (1S): shots=1 trains on normal videos plus one abnormal exemplar video (the protocol's one-shot
    # exemplar); None trains on every video of the training splits (AHD (FT)).
    shots: int | None = None
    exemplar_seed: int = 0
    exemplar_video: str | None = None  # filled in by resolve_exemplar; recorded in config.json
    exemplar_split: str | None = None
    exemplar_from: str | None = None  # the benchmark dataset the exemplar sample came from, or "source"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AHDConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


# Settings that depend on the backbone. The small-CNN values are CPU sizes; the Qwen2.5-VL vision tower works
# on full frames at the benchmark's frame cap (what it is shown at test time), one frame per token grid, and
# its S_c comes from the LVLM's own text embeddings (E_t as the paper defines it).
BACKBONE_DEFAULTS: dict[str, dict[str, Any]] = {
    "cnn": {},
    "qwen-vision": {"context": 0, "coords": False, "crop": [], "max_side": 448, "text": "lvlm"},
}


def ahd_config(backbone: str = "cnn", *, lvlm_path: str | None = None, **overrides: Any) -> AHDConfig:
    """The AHD config of ``backbone``: its own defaults, then ``overrides`` (``None`` values ignored).

    Whenever an LVLM is given, S_c defaults to its text embeddings (``text='lvlm'``); the hashed word table
    is the CPU small-CNN AHD's stand-in only, refused on the LVLM's vision tower.
    """
    if backbone not in BACKBONE_DEFAULTS:
        raise TvauError(f"unknown backbone {backbone!r}", field="backbone", fix=f"use one of {BACKBONES}")
    values: dict[str, Any] = {"backbone": backbone, "lvlm_path": lvlm_path, **BACKBONE_DEFAULTS[backbone]}
    if lvlm_path:
        values["text"] = "lvlm"
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = AHDConfig.from_dict(values)
    if cfg.backbone == "qwen-vision" and cfg.text == "hashed":
        raise TvauError(
            "hashed S_c is the CPU small-CNN AHD's stand-in, not the paper's E_t",
            field="text",
            fix="drop --text (the LVLM's text embeddings are the default) or use --text learned",
        )
    if cfg.shots not in (None, 1):
        raise TvauError(f"shots must be 1 (or unset), not {cfg.shots}", field="shots", fix="use --shots 1")
    return cfg


def text_source(cfg: AHDConfig) -> str:
    """How S_c was made, in words (recorded in config.json and shown beside results)."""
    if cfg.text == "lvlm" or (cfg.text == "learned" and cfg.lvlm_path):
        how = "the LVLM's input token embeddings of the class prompts (E_t)"
        return how + (", then learned" if cfg.text == "learned" else "")
    how = "a hashed random word table (CPU small-CNN AHD only; not the paper's E_t)"
    return how + (", then learned" if cfg.text == "learned" else "")


def build_ahd(cfg: AHDConfig, *, lvlm: Any = None, tokenizer: Any = None):
    """A fresh :class:`~tvau_bench.models.ahd.AHDModel` for ``cfg`` (weights random, or the LVLM's tower)."""
    import torch

    from .ahd import AHDModel
    from .backbones import QwenVisionBackbone, SmallCNN
    from .text_encoder import ClassTextEmbeddings

    torch.manual_seed(cfg.seed)
    if cfg.backbone == "cnn":
        backbone = SmallCNN(in_channels=(9 if cfg.context else 3) + 2 * cfg.coords, widths=cfg.widths)
        context, coords = cfg.context, cfg.coords
    elif cfg.backbone == "qwen-vision":
        if lvlm is None:
            raise TvauError(
                "the qwen-vision backbone needs an LVLM", field="lvlm_path", fix="pass --lvlm PATH"
            )
        backbone = QwenVisionBackbone(lvlm.model.visual, cfg.vision_layers)
        context, coords = 0, False
    else:
        raise TvauError(f"unknown backbone {cfg.backbone!r}", field="backbone", fix=f"use one of {BACKBONES}")
    if cfg.text == "lvlm" or (cfg.text == "learned" and lvlm is not None and tokenizer is not None):
        if lvlm is None or tokenizer is None:
            raise TvauError(
                "text 'lvlm' needs an LVLM and its tokenizer", field="text", fix="pass --lvlm PATH"
            )
        text = ClassTextEmbeddings.from_lvlm(
            lvlm.get_input_embeddings(),
            lambda s: tokenizer(s, add_special_tokens=False)["input_ids"],
            learned=cfg.text == "learned",
        )
    else:
        text = ClassTextEmbeddings.hashed(cfg.text_dim, learned=cfg.text == "learned")
    return AHDModel(backbone, text, temporal=cfg.temporal, context=context, coords=coords)


def load_ahd(directory: str | Path, device: str = "cpu"):
    """(model in eval mode, config) from a checkpoint folder written by :func:`train_ahd`."""
    tensors, raw = load_checkpoint(directory)
    cfg = AHDConfig.from_dict(raw.get("ahd", {}))
    lvlm = tokenizer = None
    if needs_lvlm(cfg):
        lvlm, tokenizer = load_lvlm(cfg.lvlm_path, device)
    model = build_ahd(cfg, lvlm=lvlm, tokenizer=tokenizer)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    frozen_tower = [k for k in missing if k.startswith("backbone.visual.")]
    if unexpected or set(missing) - set(frozen_tower):
        raise TvauError(
            f"weights do not fit the model: missing {sorted(set(missing) - set(frozen_tower))[:3]}, "
            f"unexpected {unexpected[:3]}",
            path=directory,
        )
    return model.to(device).eval(), cfg


def needs_lvlm(cfg: AHDConfig) -> bool:
    """Whether building the model loads the LVLM (its vision tower or its text embeddings)."""
    return (
        cfg.backbone == "qwen-vision" or cfg.text == "lvlm" or (cfg.text == "learned" and bool(cfg.lvlm_path))
    )


def load_lvlm(path: str | None, device: str = "cpu"):
    """A Qwen2.5-VL model and tokenizer from a local folder (``save_pretrained`` layout)."""
    if not path or not Path(path).is_dir():
        raise TvauError("LVLM folder not found", path=path, fix="pass a local Qwen2.5-VL folder with --lvlm")
    import torch
    from transformers import AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=dtype).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer


def _state_for_save(model) -> dict[str, Any]:
    # A frozen vision tower is reloaded from the LVLM folder; saving it would copy gigabytes per epoch.
    return {
        k: v
        for k, v in model.state_dict().items()
        if not (k.startswith("backbone.visual.") and not model.backbone_trainable)
    }


def train_ahd(
    source_root: str | Path,
    out: str | Path,
    cfg: AHDConfig,
    *,
    max_minutes: float | None = None,
    max_steps: int | None = None,
    dataset: str | Path | None = None,
    log=print,
) -> dict[str, Any]:
    """Train (or resume) into ``out``; returns a summary (epochs done, steps, seconds, last loss).

    With ``cfg.shots == 1`` the exemplar is the protocol's one-shot exemplar of ``dataset`` (a benchmark
    dataset over this source) when given, else :func:`source_exemplar`'s pick among the source's videos.
    """
    import torch

    from ..sources import open_source
    from .ahd import LOSSES
    from .data import ClipSampler, load_split, load_video, to_tensor

    if cfg.loss not in LOSSES:
        raise TvauError(f"unknown loss {cfg.loss!r}", field="loss", fix=f"use one of {sorted(LOSSES)}")
    torch.manual_seed(cfg.seed)
    source = open_source(source_root)
    # A layout without some split (ShanghaiTech has no validation videos) trains on the splits it has.
    present = [s for s in cfg.train_splits if s in source.splits() and source.videos(s)]
    if not present:
        raise TvauError(
            f"the source has none of the training splits {cfg.train_splits}",
            path=source_root,
            fix="check --train-splits",
        )
    if cfg.shots == 1:
        cfg = resolve_exemplar(cfg, source, dataset)
        videos = [load_video(v, cfg.max_side) for v in one_shot_videos(source, present, cfg)]
        log(f"one-shot AHD: {len(videos) - 1} normal video(s) + exemplar {cfg.exemplar_video}")
    else:
        videos = [v for split in present for v in load_split(source, split, cfg.max_side)]
    if not any(v.masks.any() for v in videos):
        raise TvauError(
            f"no abnormal pixels in the {'+'.join(present)} split(s): the AHD needs pixel masks",
            path=source_root,
            fix="train on a split with abnormal videos (ShanghaiTech's train split is normal-only)",
        )
    lvlm = tokenizer = None
    if needs_lvlm(cfg):
        lvlm, tokenizer = load_lvlm(cfg.lvlm_path, cfg.device)
    model = build_ahd(cfg, lvlm=lvlm, tokenizer=tokenizer).to(cfg.device)
    model.backbone_trainable = cfg.backbone == "cnn"
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
    total_steps = cfg.epochs * cfg.steps_per_epoch
    budget_s = None if max_minutes is None else 60.0 * max_minutes
    sampler = ClipSampler(
        videos,
        cfg.clip_len,
        model.context,
        seed=cfg.seed,
        crop=tuple(cfg.crop) or None,
        colour_jitter=cfg.colour_jitter,
    )
    loss_fn = LOSSES[cfg.loss]
    kwargs = {"abnormal_weight": cfg.abnormal_weight} if cfg.loss == "ce" else {}

    epoch, elapsed, history = 0, 0.0, []
    resume = load_resume(out)
    if resume is not None:
        if resume.get("ahd") != asdict(cfg):
            raise TvauError(
                "the checkpoint folder holds a training with other settings",
                path=out,
                fix="use the same options to resume, or a new --out folder",
            )
        tensors, _ = load_checkpoint(out)
        model.load_state_dict(tensors, strict=False)
        opt.load_state_dict(resume["optimizer"])
        sampler.rng.bit_generator.state = _rng_state(resume["sampler_rng"])
        torch.set_rng_state(resume["torch_rng"])
        epoch, elapsed, history = int(resume["epoch"]), float(resume["elapsed"]), list(resume["history"])
        steps_done = int(resume.get("steps", epoch * cfg.steps_per_epoch))
        log(f"resuming after epoch {epoch} ({elapsed:.0f} s trained)")
    else:
        steps_done = 0

    start = time.monotonic() - elapsed
    stopped = "epochs"
    done = _progress_of(steps_done, total_steps, elapsed, budget_s) >= 1.0
    while epoch < cfg.epochs and not done:
        model.train()
        losses = []
        for _ in progress(range(cfg.steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step"):
            frac = _progress_of(steps_done, total_steps, time.monotonic() - start, budget_s)
            if frac >= 1.0:
                done, stopped = True, "max_minutes"
                break
            for group in opt.param_groups:
                group["lr"] = cfg.lr * lr_factor(frac)
            frames, masks, origin = sampler.sample(cfg.batch)
            clip = to_tensor(frames).to(cfg.device)
            target = torch.from_numpy(masks).to(cfg.device)
            logits = model(clip, torch.from_numpy(origin).to(cfg.device))
            loss = loss_fn(logits, target, **kwargs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            losses.append(float(loss.detach()))
            steps_done += 1
            if max_steps is not None and steps_done >= max_steps:
                break
        if not losses:
            break
        epoch += 1
        history.append(float(np.mean(losses)))
        elapsed = time.monotonic() - start
        _save(out, model, cfg, opt, sampler, epoch, steps_done, elapsed, history)
        log(f"epoch {epoch}: loss {history[-1]:.4f} ({elapsed:.0f} s)")
        if max_steps is not None and steps_done >= max_steps:
            stopped = "max_steps"
            break
    return {
        "epochs": epoch,
        "steps": steps_done,
        "seconds": elapsed,
        "loss_history": history,
        "stopped": stopped,
    }


def resolve_exemplar(cfg: AHDConfig, source: Any, dataset: str | Path | None = None) -> AHDConfig:
    """``cfg`` with the one-shot exemplar video filled in (unchanged when already set)."""
    if cfg.exemplar_video:
        return cfg
    if dataset is not None:
        from ..harness.dataset import load_benchmark
        from ..harness.protocol import evaluation_set

        data = load_benchmark(dataset)
        _, sample = evaluation_set(data.samples, "test", 1, cfg.exemplar_seed)
        split = next(s for s, rows in data.samples.items() if any(r is sample for r in rows))
        return replace(
            cfg, exemplar_video=sample["video_id"], exemplar_split=split, exemplar_from=str(dataset)
        )
    video, split = source_exemplar(source, cfg.exemplar_seed)
    return replace(cfg, exemplar_video=video, exemplar_split=split, exemplar_from="source")


def source_exemplar(source: Any, seed: int) -> tuple[str, str]:
    """(video id, split) of a source's one-shot exemplar video, picked as the protocol picks its sample.

    The pool is the first of train, validation, test with an abnormal video (ShanghaiTech's training data is
    normal-only, so there it is a test video, which the protocol then leaves out of the scored set); the pick
    hashes the seed with the sorted candidate ids, like :func:`~tvau_bench.harness.protocol.choose_exemplar`.
    """
    from .._io import sha256_bytes

    for split in ("train", "validation", "test"):
        if split not in source.splits():
            continue
        ids = sorted(v.video_id for v in source.videos(split) if any(o.is_abnormal for o in v.objects()))
        if ids:
            digest = sha256_bytes(f"{seed}|{'|'.join(ids)}".encode())
            return ids[int(digest, 16) % len(ids)], split
    raise TvauError("the source has no abnormal video to use as the one-shot exemplar", fix="drop --shots 1")


def one_shot_videos(source: Any, splits: list[str], cfg: AHDConfig) -> list[Any]:
    """The normal videos of ``splits`` and the exemplar video (last), as source videos."""
    try:
        exemplar = source.video(cfg.exemplar_video)
    except (KeyError, TvauError):
        raise TvauError(
            f"the exemplar video {cfg.exemplar_video!r} is not in this source",
            field="exemplar_video",
            fix="train on the source the benchmark dataset was built from",
        ) from None
    if not any(o.is_abnormal for o in exemplar.objects()):
        raise TvauError(f"the exemplar video {cfg.exemplar_video!r} has no anomaly", field="exemplar_video")
    normal = [
        v
        for split in splits
        for v in sorted(source.videos(split), key=lambda v: v.video_id)
        if v.video_id != exemplar.video_id and not any(o.is_abnormal for o in v.objects())
    ]
    return [*normal, exemplar]


def _progress_of(steps: int, total_steps: int, elapsed: float, budget_s: float | None) -> float:
    """Training progress in [0, 1]: by steps, or by time when a time budget is set and further along.

    The learning-rate schedule follows it, so a run cut short by ``--max-minutes`` still ends annealed.
    """
    frac = steps / max(1, total_steps)
    if budget_s:
        frac = max(frac, elapsed / budget_s)
    return frac


def lr_factor(progress: float, warmup: float = 0.05, floor: float = 0.02) -> float:
    """Linear warm-up, then cosine decay to ``floor`` of the peak learning rate."""
    import math

    if progress < warmup:
        return max(progress / warmup, 0.05)
    t = min(1.0, (progress - warmup) / (1 - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def _rng_state(state: Any) -> dict[str, Any]:
    # torch.load(weights_only=True) keeps the dict; numpy wants plain ints in it.
    return {
        k: (
            _rng_state(v)
            if isinstance(v, dict)
            else int(v)
            if hasattr(v, "__int__") and not isinstance(v, str)
            else v
        )
        for k, v in state.items()
    }


def _save(out, model, cfg, opt, sampler, epoch, steps, elapsed, history) -> None:
    import torch

    config = {
        "kind": "ahd",
        "ahd": asdict(cfg),
        "text_source": text_source(cfg),
        "training": "one-shot (1S)" if cfg.shots == 1 else "fine-tuned (FT)",
        "epochs_done": epoch,
        "train_seconds": elapsed,
        "loss_history": history,
    }
    resume = {
        "ahd": asdict(cfg),
        "optimizer": opt.state_dict(),
        "steps": steps,
        "sampler_rng": sampler.rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "epoch": epoch,
        "elapsed": elapsed,
        "history": history,
    }
    save_checkpoint(out, _state_for_save(model), config, resume)
