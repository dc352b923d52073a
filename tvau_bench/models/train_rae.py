"""Train the RAE and the LoRA adapters on a dataset's dialogue samples with a local Qwen2.5-VL.

Samples come from a published dataset folder (``samples`` config, read with ``datasets``) or an annotate output
folder (``samples.jsonl``); their frames come from the source root (datasets carry no media). Each training
input is the benchmark's own one-shot message list (:mod:`tvau_bench.harness.messages`): the protocol's
exemplar exchange, then the sample's clip (its protocol frames, read by the harness's frame reader) and its
dialogue, turned into model inputs by :class:`~tvau_bench.models.tvau_inputs.TvauInputs`, as the ``tvau``
adapter turns a run's messages: the model is trained on what it sees at test time. Heatmaps are an AHD
checkpoint's output on the protocol frames (what the model sees at test time, the default); ground-truth masks only with ``heatmaps='ground-truth'``, recorded,
since an empty or non-empty mask gives the Yes/No answer away. Two switches make the paper's ablations
(Table 3): ``with_ahd=False`` ("w/o AHD": the RAE is built but has no heatmaps to encode, so no evidence
tokens) and ``with_rae=False`` ("w/o RAE": the AHD is part of the model, for its heatmaps, but nothing carries
them into the LVLM); both off is the LoRA-tuned LVLM alone. Every answer of the query dialogue is a target,
with the gold earlier turns as history. The checkpoint holds only what training changes (RAE + LoRA weights)
and the LVLM folder it applies to; an epoch checkpoint lets a killed run resume at the next epoch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TvauError
from ..harness.frames import DEFAULT_MAX_SIDE
from ..harness.prompts import DEFAULT_PROMPT_SET
from ..progress import progress
from .checkpoint import load_checkpoint, load_resume, save_checkpoint
from .data import abnormal_mask

HEATMAP_SOURCES = ("ahd", "ground-truth")
# How a dialogue's answer tokens weigh in its loss. "token": the LVLM's own mean over the sample's answer tokens
# (a normal sample's lone "No" weighs ~20x a token of an abnormal sample's ~40); "answer": each answer (turn)
# weighs the same, its tokens averaged within it, the answers summed.
LOSS_WEIGHTINGS = ("token", "answer")
# Table 3's rows: variant name -> (with_ahd, with_rae). The names are the baselines/*.yaml and run folder names.
VARIANTS = {
    "tvau": (True, True),
    "tvau-wo-ahd": (False, True),
    "tvau-wo-rae": (True, False),
    "tvau-wo-ahd-rae": (False, False),
}


@dataclass
class RAEConfig:
    """Training settings of the RAE + LoRA."""

    split: str = "train"
    epochs: int = 1
    lr: float = 2e-4
    frames: int | None = (
        None  # of the protocol's frames, picked uniformly (None: all); the adapter takes these too
    )
    frame_side: int = 224
    heatmaps: str = "ahd"  # ahd | ground-truth
    shots: int = 1  # the protocol's one-shot exemplar exchange opens every training input (0: none)
    exemplar_seed: int = 0
    max_side: int = DEFAULT_MAX_SIDE  # the protocol's frame cap, applied before frame_side
    prompt_set: str = DEFAULT_PROMPT_SET
    heatmap_size: int = 64
    regions: int = 9
    rae_width: int = 32
    lora_r: int = 8
    lora_alpha: int = 16
    with_ahd: bool = True  # False: "w/o AHD" (no heatmaps reach the RAE)
    with_rae: bool = True  # False: "w/o RAE" (no module turns heatmaps into prompt tokens)
    max_samples: int | None = None
    loss: str = "token"  # a LOSS_WEIGHTINGS entry
    seed: int = 0
    device: str = "cpu"


def variant_name(cfg: RAEConfig) -> str:
    """The Table 3 row a config trains (a key of :data:`VARIANTS`)."""
    return next(k for k, v in VARIANTS.items() if v == (cfg.with_ahd, cfg.with_rae))


def feeds_heatmaps(cfg: RAEConfig) -> bool:
    """Whether heatmaps reach the LVLM (through the RAE) in this variant."""
    return cfg.with_ahd and cfg.with_rae


def load_tvau_lvlm(path: str | Path, device: str):
    """LVLM + tokenizer from a local folder, with the anomaly placeholder token added (embeddings resized)."""
    from .tiny import ensure_anomaly_token
    from .train_ahd import load_lvlm

    lvlm, tokenizer = load_lvlm(str(path), device)
    token_id = ensure_anomaly_token(tokenizer)
    if token_id >= lvlm.get_input_embeddings().weight.shape[0]:
        lvlm.resize_token_embeddings(len(tokenizer))
    return lvlm, tokenizer, token_id


def build_from_config(raw: dict[str, Any], device: str):
    """(TvauModel, tokenizer) for a checkpoint config (LVLM loaded from the folder the config names)."""
    from .tvau import build_tvau

    cfg = RAEConfig(**{k: v for k, v in raw["rae"].items() if k in RAEConfig.__dataclass_fields__})
    lvlm, tokenizer, token_id = load_tvau_lvlm(raw["lvlm_path"], device)
    model = build_tvau(
        lvlm,
        token_id,
        lora_r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        regions=cfg.regions,
        rae_width=cfg.rae_width,
        heatmap_size=cfg.heatmap_size,
        with_rae=cfg.with_rae,
        with_ahd=cfg.with_ahd,
    )
    model.params = raw.get("params")
    return model, tokenizer, cfg


def load_tvau(ckpt: str | Path, device: str = "cpu"):
    """(TvauModel in eval mode, tokenizer, RAEConfig) from a ``train rae`` checkpoint."""
    tensors, raw = load_checkpoint(ckpt)
    if raw.get("kind") != "tvau":
        raise TvauError(
            "not a T-VAU (train rae) checkpoint", path=ckpt, fix="pass the --out folder of `train rae`"
        )
    model, tokenizer, cfg = build_from_config(raw, device)
    model.load_trainable_state_dict(tensors)
    return model.eval(), tokenizer, cfg


def protocol_exemplar(
    samples_by_split: dict[str, list[dict[str, Any]]], cfg: RAEConfig
) -> dict[str, Any] | None:
    """The one-shot exemplar the benchmark shows on the test split (None at zero shots)."""
    if not cfg.shots:
        return None
    from ..harness.protocol import evaluation_set

    split = "test" if samples_by_split.get("test") else cfg.split
    return evaluation_set(samples_by_split, split, 1, cfg.exemplar_seed)[1]


def frame_reader(data: Any, source: Any, root: str | Path, cfg: RAEConfig, samples: list[dict[str, Any]]):
    """The harness's :class:`~tvau_bench.harness.frames.FrameReader` over ``samples`` (RGB, capped at
    ``cfg.max_side``): training reads the very pixels a run shows. A dataset without a ``videos`` config (an
    annotate folder) takes each video's path from the source."""
    from ..harness.frames import FrameReader

    ids = {s["video_id"] for s in samples}
    videos = {v: data.videos.get(v) or {"video_path": source.video(v).video_path} for v in ids}
    reader = FrameReader(root, videos, cfg.max_side)
    reader.plan((s["video_id"], s["frame_indices"]) for s in samples)
    return reader


def sample_clip(reader: Any, sample: dict[str, Any]):
    """The harness's :class:`~tvau_bench.harness.messages.Clip` of ``sample``, with its decoded frames."""
    from ..harness.messages import Clip

    indices = tuple(sample["frame_indices"])
    return Clip(sample["video_id"], indices, tuple(reader.read(sample["video_id"], indices)))


def training_messages(
    reader: Any, prefix: list[dict[str, Any]], sample: dict[str, Any], cfg: RAEConfig
) -> list[dict[str, Any]]:
    """The harness's message list for ``sample`` with every gold answer in it (teacher forcing): turn k's
    inputs are a run's for turn k under gold history, followed by the gold answer."""
    from ..harness.messages import gold_answers, query_messages, turn_kinds
    from ..harness.prompts import load_prompt_set

    kinds = turn_kinds(sample)
    gold = gold_answers(sample)
    clip = sample_clip(reader, sample)
    return query_messages(
        prefix, load_prompt_set(cfg.prompt_set), clip, kinds, [gold[k] or "" for k in kinds]
    )


def exemplar_prefix(reader: Any, exemplar: dict[str, Any] | None, cfg: RAEConfig) -> list[dict[str, Any]]:
    """The harness's one-shot exchange for ``exemplar`` (empty at zero shots)."""
    if exemplar is None:
        return []
    from ..harness.messages import exemplar_messages
    from ..harness.prompts import load_prompt_set

    return exemplar_messages(load_prompt_set(cfg.prompt_set), sample_clip(reader, exemplar), exemplar)


def heatmap_source(cfg: RAEConfig, ahd: str | Path | None, source: Any, samples: list[dict[str, Any]]):
    """What gives the heatmaps during training: the AHD on the protocol frames (as the tvau adapter runs it),
    ground-truth masks of each clip's target when asked, or None when no heatmaps reach the LVLM."""
    if not feeds_heatmaps(cfg):
        return None
    if cfg.heatmaps == "ahd":
        from .train_ahd import load_ahd
        from .tvau_inputs import ahd_heatmap_source

        model, acfg = load_ahd(ahd, cfg.device)
        return ahd_heatmap_source(model, acfg, cfg.device)
    targets = {tuple(f"{s['video_id']}#{i}" for i in s["frame_indices"]): s.get("target_id") for s in samples}

    def masks(refs: tuple[str, ...], _images) -> np.ndarray:
        video = source.video(refs[0].rsplit("#", 1)[0])
        abnormal = {o.object_id: o.abnormal_intervals for o in video.objects() if o.is_abnormal}
        target = targets.get(refs)
        if target:
            oid = int(str(target).rsplit(":", 1)[-1])
            abnormal = {k: v for k, v in abnormal.items() if k == oid}
        frames = [int(r.rsplit("#", 1)[1]) for r in refs]
        shape = (video.height, video.width)
        return np.stack([abnormal_mask(video, f, abnormal, shape).astype(np.float32) for f in frames])

    return masks


def train_rae(
    dataset: str | Path,
    lvlm_path: str | Path,
    source_root: str | Path,
    out: str | Path,
    cfg: RAEConfig,
    *,
    ahd: str | Path | None = None,
    max_minutes: float | None = None,
    log=print,
) -> dict[str, Any]:
    """Train RAE + LoRA over the samples; returns steps, seconds and the loss history per epoch."""
    import torch

    from ..harness.dataset import load_benchmark
    from ..sources import open_source
    from .tvau_inputs import TvauInputs

    check_switches(cfg, ahd)
    torch.manual_seed(cfg.seed)
    data = load_benchmark(dataset)
    exemplar = protocol_exemplar(data.samples, cfg)
    # The exemplar is shown in every input; as a query too it would only teach copying.
    samples = [
        s for s in data.split(cfg.split) if exemplar is None or s["sample_id"] != exemplar["sample_id"]
    ]
    samples = samples[: cfg.max_samples]
    if not samples:
        raise TvauError(
            f"no samples in split {cfg.split!r} besides the exemplar", path=dataset, fix="check --split"
        )
    source = open_source(source_root)
    raw = {
        "kind": "tvau",
        "variant": variant_name(cfg),
        "modules": {"ahd": cfg.with_ahd, "rae": cfg.with_rae, "lora": True},
        "lvlm_path": str(Path(lvlm_path).resolve()),
        "rae": asdict(cfg),
        "ahd": str(ahd) if ahd else None,
        "heatmaps": cfg.heatmaps if feeds_heatmaps(cfg) else None,
        "input_format": (
            f"harness messages, prompt set {cfg.prompt_set}, {cfg.shots}-shot, protocol frames capped at "
            f"{cfg.max_side} (the tvau adapter's inputs)"
        ),
        "exemplar": exemplar["sample_id"] if exemplar else None,
    }
    model, tokenizer, _ = build_from_config(raw, cfg.device)
    from .params import format_report, param_report

    raw["params"] = param_report(model, ahd)
    log(f"{raw['variant']}: {format_report(raw['params'])}")
    shown = [*samples, *([exemplar] if exemplar else [])]
    reader = frame_reader(data, source, source_root, cfg, shown)
    inputs = TvauInputs(model, tokenizer, cfg, heatmap_source(cfg, ahd, source, shown), cfg.device)
    prefix = exemplar_prefix(reader, exemplar, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    # Trainable weights in float32 even when the LVLM is bf16: optimizer updates of 1e-4 vanish in bf16.
    for p in params:
        p.data = p.data.float()
    if model.rae is not None:
        model.rae.float()
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    epoch, history, steps, elapsed = 0, [], 0, 0.0
    resume = load_resume(out)
    if resume is not None:
        tensors, _ = load_checkpoint(out)
        model.load_trainable_state_dict(tensors)
        opt.load_state_dict(resume["optimizer"])
        epoch, history, steps, elapsed = (
            int(resume["epoch"]),
            list(resume["history"]),
            int(resume["steps"]),
            float(resume["elapsed"]),
        )
        log(f"resuming after epoch {epoch}")
    start = time.monotonic() - elapsed
    model.train()
    while epoch < cfg.epochs:
        # The order comes from the epoch's own seed, so a resumed epoch sees the same order.
        order = np.random.default_rng(cfg.seed + epoch).permutation(len(samples))
        losses = []
        for i in progress(order, desc=f"rae epoch {epoch + 1}/{cfg.epochs}", unit="sample"):
            messages = training_messages(reader, prefix, samples[int(i)], cfg)
            batch = inputs.encode(messages, label_from=len(prefix))
            out_ = model(**batch)
            loss = out_.loss if cfg.loss == "token" else answer_weighted_loss(out_.logits, batch["labels"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            steps += 1
        epoch += 1
        history.append(float(np.mean(losses)))
        elapsed = time.monotonic() - start
        save_checkpoint(
            out,
            model.trainable_state_dict(),
            {**raw, "epochs_done": epoch, "loss_history": history, "train_seconds": elapsed},
            {
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "history": history,
                "steps": steps,
                "elapsed": elapsed,
            },
        )
        log(f"epoch {epoch}: loss {history[-1]:.4f} ({elapsed:.0f} s)")
        if max_minutes is not None and elapsed / 60 * (epoch + 1) / epoch > max_minutes:
            break
    model.eval()
    return {
        "epochs": epoch,
        "steps": steps,
        "seconds": elapsed,
        "loss_history": history,
        "last_loss": history[-1] if history else float("nan"),
    }


def answer_weighted_loss(logits: Any, labels: Any) -> Any:
    """Next-token cross-entropy with every answer weighing the same: the mean over each answer's tokens (a
    contiguous run of labelled positions), summed over the answers."""
    import torch

    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="none"
    ).view_as(labels)
    mask = labels != -100
    # Answer k's positions get id k: a run starts where a labelled position follows an unlabelled one.
    starts = mask & ~torch.nn.functional.pad(mask[:, :-1], (1, 0), value=False)
    ids = torch.cumsum(starts.long().flatten(), 0) * mask.flatten()
    n = int(ids.max())
    if n == 0:
        return nll.sum() * 0.0
    sums = torch.zeros(n + 1, dtype=nll.dtype, device=nll.device).index_add_(0, ids, nll.flatten())
    counts = torch.bincount(ids, minlength=n + 1).to(nll.dtype)
    return (sums[1:] / counts[1:]).sum()


def check_switches(cfg: RAEConfig, ahd: str | Path | None) -> None:
    """The heatmap source and the ablation switches agree with the AHD checkpoint given (or not)."""
    if cfg.loss not in LOSS_WEIGHTINGS:
        raise TvauError(
            f"unknown loss weighting {cfg.loss!r}", field="loss", fix=f"use one of {LOSS_WEIGHTINGS}"
        )
    if cfg.heatmaps not in HEATMAP_SOURCES:
        raise TvauError(
            f"unknown heatmap source {cfg.heatmaps!r}", field="heatmaps", fix=f"use one of {HEATMAP_SOURCES}"
        )
    if not cfg.with_ahd:
        if ahd or cfg.heatmaps == "ground-truth":
            raise TvauError(
                "--no-ahd trains the variant without the AHD: it takes no heatmaps",
                field="--no-ahd",
                fix="drop --ahd / --gt-heatmaps, or drop --no-ahd",
            )
        return
    if cfg.heatmaps == "ahd" and not ahd:
        raise TvauError(
            "the RAE trains on the AHD's heatmaps (what it sees at test time): no AHD checkpoint given",
            field="--ahd",
            fix="pass --ahd CKPT (or --gt-heatmaps to train on ground-truth masks, which give Yes/No away)",
        )
    if cfg.heatmaps == "ground-truth" and ahd:
        raise TvauError("--ahd and --gt-heatmaps exclude each other", field="--gt-heatmaps", fix="pass one")
    if not cfg.with_rae and cfg.heatmaps == "ground-truth":
        raise TvauError(
            "--no-rae keeps the AHD as the model's heatmap half: ground-truth masks cannot stand in for it",
            field="--gt-heatmaps",
            fix="pass --ahd CKPT with --no-rae",
        )
