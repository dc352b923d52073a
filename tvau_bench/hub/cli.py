"""CLI: ``tvau-bench export``, ``tvau-bench validate``, ``tvau-bench publish``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the hub subcommands."""
    p = sub.add_parser(
        "export",
        help="annotation folder -> Hub dataset folder (Parquet configs, card, schemas)",
        description="Write data/{config}/{split}-NNNNN-of-NNNNN.parquet for samples/videos/tracks, the README.md "
        "card and schemas/, then validate the result.",
    )
    p.add_argument("annotations", type=Path, help="the --out folder of `tvau-bench annotate`")
    p.add_argument("--out", type=Path, required=True, help="hub folder to write (HUBDIR)")
    p.add_argument("--repo-id", default=None, help="Hub id named in the card (default tvau/{source}-fg)")
    p.add_argument(
        "--license", default=None, help="annotation licence id for the card (default cc-by-nc-sa-4.0)"
    )
    p.add_argument(
        "--max-shard-mb", type=int, default=256, help="largest shard, in MB of Arrow data (default 256)"
    )
    p.add_argument("--no-validate", action="store_true", help="skip validating the written folder")
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="export a run whose report.json shows requests that failed after all retries (`annotate` exit "
        "status 3); the card then says the dataset is partial (metadata partial_annotation)",
    )
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "validate",
        help="check a Hub dataset folder: schemas, types, cross-references; non-zero exit on problems",
    )
    p.add_argument("hubdir", type=Path)
    p.add_argument("--max-per-check", type=int, default=10, help="problems listed per check (default 10)")
    p.set_defaults(func=_validate)

    p = sub.add_parser(
        "publish",
        help="upload a validated Hub dataset folder in one commit (token from HF_TOKEN)",
    )
    p.add_argument("hubdir", type=Path)
    p.add_argument("--repo", required=True, help="dataset repo id, e.g. tvau/ubnormal-fg")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--revision", default=None, help="branch to commit to (created when missing)")
    p.add_argument("--message", default=None, help="commit message")
    p.add_argument("--dry-run", action="store_true", help="list the files and sizes; upload nothing")
    p.set_defaults(func=_publish)


def _export(args: argparse.Namespace) -> int:
    from .export import export

    res = export(
        args.annotations,
        args.out,
        repo_id=args.repo_id,
        license=args.license,
        max_shard_bytes=args.max_shard_mb << 20,
        check=not args.no_validate,
        allow_partial=args.allow_partial,
    )
    for config, splits in res.stats.items():
        parts = [
            f"{s} {st.num_examples} rows / {len(st.files)} shard(s) / {st.file_bytes:,d} B"
            for s, st in splits.items()
        ]
        print(f"{config}: " + "; ".join(parts))
    print(f"wrote {res.out}")
    if res.validation is not None:
        print(res.validation.format())
    return 0 if res.ok else 1


def _validate(args: argparse.Namespace) -> int:
    from .validate import validate_hub

    rep = validate_hub(args.hubdir)
    print(rep.format(max_per_check=args.max_per_check), file=sys.stdout if rep.ok else sys.stderr)
    return 0 if rep.ok else 1


def _publish(args: argparse.Namespace) -> int:
    from .publish import publish

    res = publish(
        args.hubdir,
        args.repo,
        private=args.private,
        revision=args.revision,
        dry_run=args.dry_run,
        commit_message=args.message,
    )
    print(res.format())
    return 0
