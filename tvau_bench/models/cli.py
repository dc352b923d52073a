"""``tvau-bench train ahd|rae`` and ``tvau-bench detect`` (AHD or the classical baseline)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import TvauError


def register(subparsers: Any) -> None:
    """Add the ``train`` group and the ``detect`` command."""
    train = subparsers.add_parser("train", help="train the AHD (heatmaps) or the RAE + LoRA (dialogue)")
    sub = train.add_subparsers(dest="train_command", required=True, metavar="MODEL")

    a = sub.add_parser("ahd", help="Anomaly Heatmap Decoder on a source's pixel masks (resumable)")
    a.add_argument("--source", required=True, type=Path, help="source root (UBnormal or ShanghaiTech layout)")
    a.add_argument("--out", required=True, type=Path, help="checkpoint folder (rerun to resume)")
    a.add_argument(
        "--backbone",
        choices=("cnn", "qwen-vision"),
        default="cnn",
        help="cnn: small CPU network (default); qwen-vision: the Qwen2.5-VL vision tower (needs --lvlm)",
    )
    a.add_argument(
        "--lvlm", default=None, help="local Qwen2.5-VL folder (qwen-vision backbone or --text lvlm)"
    )
    a.add_argument(
        "--text",
        choices=("hashed", "learned", "lvlm"),
        default=None,
        help="how S_c is made (default: lvlm with --lvlm or qwen-vision, else hashed, the CPU stand-in)",
    )
    a.add_argument(
        "--vision-layers", default=None, help="qwen-vision: comma-separated block indices (default 7,15,23)"
    )
    a.add_argument(
        "--shots",
        type=int,
        choices=(1,),
        default=None,
        help="1: AHD (1S), normal videos plus the one-shot exemplar video only (default: all, AHD (FT))",
    )
    a.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="--shots 1: the benchmark dataset whose protocol exemplar to use (default: picked from the source)",
    )
    a.add_argument("--exemplar-seed", type=int, default=None, help="--shots 1: the protocol's exemplar seed")
    a.add_argument("--loss", choices=("ce", "focal-dice"), default="ce", help="default: %(default)s")
    a.add_argument("--epochs", type=int, default=None, help="default 60")
    a.add_argument("--steps-per-epoch", type=int, default=None, help="default 40")
    a.add_argument("--batch", type=int, default=None, help="clips per step (default 4)")
    a.add_argument("--lr", type=float, default=None, help="learning rate (default 0.002)")
    a.add_argument("--max-side", type=int, default=None, help="working resolution (longer side, pixels)")
    a.add_argument("--train-splits", default=None, help="comma-separated, default: train")
    a.add_argument("--seed", type=int, default=None, help="default 0")
    a.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: %(default)s)")
    a.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that would overrun")
    a.set_defaults(func=_train_ahd)

    r = sub.add_parser("rae", help="RAE + LoRA on a published dataset's dialogue samples")
    r.add_argument(
        "--dataset", required=True, type=Path, help="Hub dataset folder, or an annotate output folder"
    )
    r.add_argument("--lvlm", required=True, help="local Qwen2.5-VL folder (save_pretrained layout)")
    r.add_argument("--source", required=True, type=Path, help="the source root the samples' frames come from")
    r.add_argument("--out", required=True, type=Path, help="checkpoint folder")
    r.add_argument(
        "--ahd",
        type=Path,
        default=None,
        help="AHD checkpoint whose heatmaps the RAE reads (required by default)",
    )
    r.add_argument(
        "--gt-heatmaps",
        action="store_true",
        help="train on ground-truth masks instead of AHD heatmaps (recorded; an empty mask gives 'No' away)",
    )
    r.add_argument(
        "--no-ahd",
        action="store_true",
        help="ablation 'w/o AHD': no heatmaps, so the RAE has nothing to encode (no --ahd)",
    )
    r.add_argument(
        "--no-rae",
        action="store_true",
        help="ablation 'w/o RAE': no RAE, the AHD's heatmaps do not reach the LVLM (with both: LoRA LVLM alone)",
    )
    r.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    r.add_argument("--split", default="train", help="samples trained on (default: %(default)s)")
    r.add_argument(
        "--shots", type=int, choices=(0, 1), default=1, help="the protocol's exemplar in each input"
    )
    r.add_argument("--exemplar-seed", type=int, default=0, help="the protocol's exemplar seed")
    r.add_argument("--epochs", type=int, default=1, help="default: %(default)s")
    r.add_argument("--lr", type=float, default=2e-4, help="learning rate (default: %(default)s)")
    r.add_argument(
        "--frames", type=int, default=None, help="frames per sample (default: all the protocol shows)"
    )
    r.add_argument("--frame-side", type=int, default=224, help="longer frame side fed to the LVLM")
    r.add_argument("--max-samples", type=int, default=None, help="train on the first N samples only")
    r.add_argument(
        "--loss",
        choices=("token", "answer"),
        default="token",
        help="token: mean over a dialogue's answer tokens; answer: every answer weighs the same (recorded)",
    )
    r.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: %(default)s)")
    r.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that would overrun")
    r.set_defaults(func=_train_rae)

    d = subparsers.add_parser(
        "detect", help="heatmaps → frame scores, scored boxes and overlays; prints metrics"
    )
    d.add_argument(
        "--source", required=True, type=Path, help="source dataset root (UBnormal or ShanghaiTech layout)"
    )
    d.add_argument("--split", default="test", help="default: %(default)s")
    d.add_argument(
        "--out", required=True, type=Path, help="output folder (scores/, tracks/, detections/, ...)"
    )
    d.add_argument(
        "--method", choices=("ahd", "classical"), default="ahd", help="ahd (needs --ckpt) or classical"
    )
    d.add_argument("--ckpt", type=Path, default=None, help="AHD checkpoint folder (method ahd)")
    d.add_argument("--thresholds", default=None, help="comma-separated heatmap levels (default 0.3)")
    d.add_argument("--min-area", type=int, default=None, help="smallest component in pixels (default 4)")
    d.add_argument("--time-sigma", type=float, default=None, help="temporal Gaussian smoothing of heatmaps")
    d.add_argument("--overlays", type=int, default=4, help="PNG overlays to write")
    d.add_argument("--max-side", type=int, default=None, help="classical: working resolution")
    d.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    d.add_argument("--json", action="store_true", help="print the summary as JSON")
    d.set_defaults(func=_detect)


def _train_ahd(args: argparse.Namespace) -> int:
    from .train_ahd import ahd_config, train_ahd

    names = ("epochs", "steps_per_epoch", "batch", "lr", "max_side", "seed", "text", "shots", "exemplar_seed")
    overrides = {name: getattr(args, name) for name in names}
    if args.vision_layers:
        overrides["vision_layers"] = [int(x) for x in args.vision_layers.split(",") if x.strip()]
    if args.train_splits:
        overrides["train_splits"] = [s.strip() for s in args.train_splits.split(",") if s.strip()]
    if args.dataset is not None and args.shots != 1:
        raise TvauError(
            "--dataset only chooses the one-shot exemplar", field="--dataset", fix="add --shots 1"
        )
    cfg = ahd_config(args.backbone, lvlm_path=args.lvlm, loss=args.loss, device=args.device, **overrides)
    res = train_ahd(args.source, args.out, cfg, max_minutes=args.max_minutes, dataset=args.dataset)
    print(
        f"trained {res['epochs']} epoch(s), {res['steps']} steps in {res['seconds']:.0f} s ({res['stopped']}): {args.out}"
    )
    return 0


def _train_rae(args: argparse.Namespace) -> int:
    from .train_rae import RAEConfig, train_rae

    cfg = RAEConfig(
        split=args.split,
        epochs=args.epochs,
        lr=args.lr,
        frames=args.frames,
        frame_side=args.frame_side,
        max_samples=args.max_samples,
        loss=args.loss,
        device=args.device,
        heatmaps="ground-truth" if args.gt_heatmaps else "ahd",
        shots=args.shots,
        exemplar_seed=args.exemplar_seed,
        with_ahd=not args.no_ahd,
        with_rae=not args.no_rae,
        seed=args.seed,
    )
    res = train_rae(
        args.dataset, args.lvlm, args.source, args.out, cfg, ahd=args.ahd, max_minutes=args.max_minutes
    )
    print(
        f"trained {res['steps']} steps in {res['seconds']:.0f} s, last loss {res['last_loss']:.4f}: {args.out}"
    )
    return 0


def _detect(args: argparse.Namespace) -> int:
    from ..metrics.detections import DetectionRule
    from ..sources import open_source
    from .detect import DEFAULT_RULE, ahd_heatmap_fn, run_detection

    rule = DEFAULT_RULE
    if args.thresholds or args.min_area:
        levels = tuple(float(x) for x in args.thresholds.split(",")) if args.thresholds else rule.thresholds
        rule = DetectionRule(thresholds=levels, min_area=args.min_area or rule.min_area, nms_iou=rule.nms_iou)
    source = open_source(args.source)
    if args.method == "ahd":
        if args.ckpt is None:
            raise TvauError(
                "--ckpt is required with --method ahd", fix="pass the folder `tvau-bench train ahd` wrote"
            )
        from .train_ahd import load_ahd

        model, cfg = load_ahd(args.ckpt, args.device)
        fn, max_side = ahd_heatmap_fn(model, cfg, device=args.device), cfg.max_side
        meta = {"method": "ahd", "ckpt": str(args.ckpt)}
        sigma = 0.0 if args.time_sigma is None else args.time_sigma
    else:
        from .classical import classical_baseline

        max_side = args.max_side or 192
        fn = classical_baseline(source, max_side)
        meta = {"method": "classical"}
        sigma = 0.0 if args.time_sigma is None else args.time_sigma
    summary = run_detection(
        source,
        args.split,
        args.out,
        fn,
        max_side=max_side,
        rule=rule,
        overlays=args.overlays,
        time_sigma=sigma,
        meta=meta,
    )
    m = summary["metrics"]
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(
            f"{summary['videos']} videos, {summary['num_frames']} frames, {summary['detections']} detections → {args.out}\n"
            f"micro AUC {m['micro_auc']:.4f}  macro AUC {m['macro_auc']:.4f}  RBDC {m['rbdc']:.4f}  TBDC {m['tbdc']:.4f}"
        )
    return 0
