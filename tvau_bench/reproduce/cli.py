"""``tvau-bench reproduce table1|table2|table3``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reproduce`` command."""
    p = sub.add_parser(
        "reproduce",
        help="regenerate a paper table from scratch: train, run under the protocol, admit, render (resumable)",
    )
    p.add_argument("table", choices=("table1", "table2", "table3"), help="the paper table to regenerate")
    p.add_argument("--out", type=Path, required=True, help="output folder (rerun to resume)")
    p.add_argument("--source", type=Path, default=None, help="source root (default: the synthetic default)")
    p.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="benchmark dataset folder (default: annotate --source here)",
    )
    p.add_argument(
        "--lvlm", type=Path, default=None, help="local Qwen2.5-VL folder (default: a tiny one built in code)"
    )
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--ahd-epochs", type=int, default=60, help="AHD training epochs (default: %(default)s)")
    p.add_argument(
        "--ahd-steps", type=int, default=None, help="AHD steps per epoch (default: train ahd's, 40)"
    )
    p.add_argument(
        "--rae-epochs",
        type=int,
        default=20,
        help="RAE + LoRA epochs (default: %(default)s, chosen on the validation split)",
    )
    p.add_argument(
        "--rae-lr", type=float, default=2e-3, help="RAE + LoRA learning rate (default: %(default)s)"
    )
    p.add_argument(
        "--rae-loss",
        choices=("token", "answer"),
        default="answer",
        help="RAE + LoRA loss weighting, train rae --loss (default: %(default)s, chosen on the validation split)",
    )
    p.add_argument("--frames", type=int, default=4, help="frames per clip fed to the LVLM (0: all)")
    p.add_argument("--frame-side", type=int, default=56, help="longer frame side fed to the LVLM")
    p.add_argument("--max-samples", type=int, default=None, help="training samples per variant")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="generation cap of the T-VAU rows (default: their configs', 128); recorded in each run",
    )
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: %(default)s)")
    p.set_defaults(func=_reproduce)


def _reproduce(args: argparse.Namespace) -> int:
    from .pipeline import Settings, run_reproduce

    settings = Settings(
        seed=args.seed,
        ahd_epochs=args.ahd_epochs,
        ahd_steps=args.ahd_steps,
        rae_epochs=args.rae_epochs,
        rae_lr=args.rae_lr,
        rae_loss=args.rae_loss,
        frames=args.frames or None,
        frame_side=args.frame_side,
        max_samples=args.max_samples,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
    )
    results = run_reproduce(
        args.table, args.out, settings, source=args.source, dataset=args.dataset, lvlm=args.lvlm
    )
    total = sum(r.seconds for r in results if not r.reused)
    print(f"{args.table}: {len(results)} steps ({total:.0f} s this run) → {args.out / (args.table + '.md')}")
    return 0
