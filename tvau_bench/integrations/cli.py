"""``tvau-bench integrations {lmms-eval, lmms-eval-convert}``: run the benchmark inside lmms-eval, admit its logs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import TvauError

TASK_DATASETS = {"tvau_ubnormal_fg": "tvau/ubnormal-fg", "tvau_shanghaitech_fg": "tvau/shanghaitech-fg"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``integrations`` command group."""
    group = sub.add_parser("integrations", help="run the benchmark in other evaluation harnesses (lmms-eval)")
    actions = group.add_subparsers(dest="integration", required=True, metavar="INTEGRATION")

    p = actions.add_parser(
        "lmms-eval", help="print the lmms-eval --include_path of the tvau tasks and the commands to run them"
    )
    p.add_argument(
        "--dataset",
        help="a local exported dataset folder: write task YAMLs that read it (needs --tasks-out); "
        "default: the Hub ids the shipped tasks read",
    )
    p.add_argument("--tasks-out", type=Path, help="folder for the task YAMLs written for --dataset")
    p.add_argument("--video-root", default="/data/UBnormal", help="source dataset root shown in the command")
    p.set_defaults(func=_info)

    p = actions.add_parser(
        "lmms-eval-convert",
        help="check an lmms-eval --log_samples file of a tvau task and write a `submit` predictions file",
    )
    p.add_argument("samples", type=Path, help="the *_samples_tvau_*.jsonl file lmms-eval wrote")
    p.add_argument("--dataset", required=True, help="the dataset the task read (Hub id or exported folder)")
    p.add_argument(
        "--video-root",
        required=True,
        type=Path,
        help="source dataset root: the frames are checked pixel by pixel",
    )
    p.add_argument("--out", required=True, type=Path, help="predictions JSONL to write")
    p.add_argument(
        "--allow-missing", action="store_true", help="convert a log that lacks some scored samples"
    )
    p.add_argument("--name", help="the submission's model name (its leaderboard row; required with --submit)")
    p.add_argument(
        "--submit",
        type=Path,
        metavar="RUNDIR",
        help="also run `tvau-bench submit` into RUNDIR and check its fingerprint",
    )
    p.set_defaults(func=_convert)


def _info(args: argparse.Namespace) -> int:
    from .lmms_eval import tasks_dir
    from .lmms_eval.tasks_folder import write_tasks

    include, datasets = tasks_dir(), dict(TASK_DATASETS)
    if args.dataset is not None:
        if args.tasks_out is None:
            raise TvauError(
                "a local --dataset needs --tasks-out", field="--tasks-out", fix="add --tasks-out DIR"
            )
        include, datasets = write_tasks(args.dataset, args.tasks_out)
    elif args.tasks_out is not None:
        raise TvauError(
            "--tasks-out writes tasks for a local --dataset", field="--dataset", fix="add --dataset"
        )
    print(f"include path: {include}")
    for task, dataset in datasets.items():
        print(f"  {task:28s} {dataset}, own history (multi-round: a model with generate_until_multi_round)")
        print(f"  {task + '_gold':28s} {dataset}, gold history (one request per turn: any model)")
    task, dataset = next(iter(datasets.items()))
    print()
    print(
        f"TVAU_VIDEO_ROOT={args.video_root} lmms-eval --model vllm --model_args model=Qwen/Qwen2.5-VL-7B-Instruct "
        f"--include_path {include} --tasks {task} --batch_size 1 --log_samples --output_path lmms_out"
    )
    print(
        f"tvau-bench integrations lmms-eval-convert lmms_out/*/*_samples_{task}.jsonl --dataset {dataset} "
        f"--video-root {args.video_root} --out predictions.jsonl --submit runs/NAME --name NAME"
    )
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .lmms_eval.convert import convert, write_predictions

    conv = convert(args.samples, args.dataset, args.video_root, allow_missing=args.allow_missing)
    write_predictions(args.out, conv.predictions)
    note = f", {len(conv.unscored)} unscored (exemplar video) left out" if conv.unscored else ""
    print(
        f"{len(conv.predictions)} samples checked against protocol {conv.fingerprint[:12]}{note} -> {args.out}"
    )
    if args.submit is None:
        name = args.name or "NAME"
        print(conv.submit_command(args.out, f"runs/{name}", name))
        return 0
    if not args.name:  # every anonymous submission would otherwise share one leaderboard row
        raise TvauError("a submission needs a name", field="--name", fix="pass --name NAME with --submit")
    from .lmms_eval.convert import submit_checked

    results = submit_checked(conv, args.out, args.submit, name=args.name, allow_missing=args.allow_missing)
    from ..metrics.suite import figures_line

    print(f"{args.name}: {figures_line(results)} -> {args.submit}")
    return 0
