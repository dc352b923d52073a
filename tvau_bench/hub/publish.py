"""Publish a validated hub folder to the Hugging Face Hub in one commit (``huggingface_hub``).

The folder must pass :func:`tvau_bench.hub.validate.validate_hub`; a dry run lists what would be uploaded.
Remote shards under ``data/`` that this upload does not contain are deleted in the same commit, so a re-export
with fewer shards never leaves stale files for the ``{split}-*`` patterns to pick up.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TvauError
from .validate import validate_hub

REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
IGNORE_PATTERNS = [".*", "**/.*", "**/__pycache__/**"]
DELETE_PATTERNS = ["data/**"]


@dataclass
class PublishResult:
    """The files of the upload (relative path, bytes), and the commit URL when something was uploaded."""

    repo_id: str
    files: list[tuple[str, int]] = field(default_factory=list)
    commit_url: str | None = None
    dry_run: bool = True

    @property
    def total_bytes(self) -> int:
        return sum(n for _, n in self.files)

    def format(self) -> str:
        lines = [f"{'dry run: would upload' if self.dry_run else 'uploaded'} to datasets/{self.repo_id}:"]
        lines += [f"  {n:>12,d}  {rel}" for rel, n in self.files]
        lines.append(f"  {self.total_bytes:>12,d}  total ({len(self.files)} files)")
        if self.commit_url:
            lines.append(f"commit: {self.commit_url}")
        return "\n".join(lines)


def upload_files(root: str | Path) -> list[tuple[str, int]]:
    """The files an upload of ``root`` sends, sorted, with their sizes (hidden files and folders left out)."""
    root = Path(root)
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            out.append((rel.as_posix(), path.stat().st_size))
    return out


def publish(
    root: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> PublishResult:
    """Validate ``root``, then create ``repo_id`` (a dataset repo) if needed and upload the folder in one commit.

    ``token`` defaults to ``$HF_TOKEN``; ``revision`` names a branch, created from main when missing.
    """
    root = Path(root)
    if not REPO_ID.match(repo_id):
        raise TvauError(
            f"repo id {repo_id!r} is not `owner/name`", field="--repo", fix="e.g. tvau/ubnormal-fg"
        )
    report = validate_hub(root)
    if not report.ok:
        counts = ", ".join(f"{k} {n}" for k, n in sorted(report.checks().items()))
        raise TvauError(
            f"refusing to publish: the folder does not validate ({report.total} problems: {counts})",
            path=root,
            fix="run `tvau-bench validate` on it, fix the annotations and re-export",
        )
    result = PublishResult(repo_id, upload_files(root), dry_run=dry_run)
    if dry_run:
        return result
    token = token or os.environ.get("HF_TOKEN")
    if not token:
        raise TvauError(
            "no Hugging Face token", field="HF_TOKEN", fix="export HF_TOKEN=hf_... (a write token)"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    message = commit_message or f"Upload {repo_id} ({len(result.files)} files, schema from tvau-bench)"
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(root),
            repo_type="dataset",
            revision=revision,
            commit_message=message,
            ignore_patterns=IGNORE_PATTERNS,
            delete_patterns=DELETE_PATTERNS,
        )
    except (HfHubHTTPError, OSError) as exc:
        raise TvauError(
            f"upload to datasets/{repo_id} failed: {exc}",
            fix="check the network, that HF_TOKEN can write to the namespace, and rerun (the upload is one commit)",
        ) from None
    result.commit_url = getattr(commit, "commit_url", None) or str(commit)
    return result
