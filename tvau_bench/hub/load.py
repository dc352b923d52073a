"""``load``: ``datasets.load_dataset`` on a tvau-bench Hub repo or folder, after checking its schema version.

A folder is loaded through a ``datasets`` cache keyed by its content (the card's and the config's shard
hashes): ``datasets`` keys a folder's cache by its path, so a shard changed in place would otherwise be served
from the old cache. :func:`hub_snapshot` pins a Hub repo to one commit for the harness.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import TvauError, TvauWarning
from ..schemas import SCHEMA_VERSION
from .card import read_card
from .features import CONFIGS
from .shards import config_patterns, folder_identity


def load(
    repo_or_path: str | Path,
    config: str = "samples",
    split: str | None = None,
    *,
    revision: str | None = None,
    **kwargs: Any,
) -> Any:
    """Load a config (``samples``, ``videos`` or ``tracks``) of a tvau-bench dataset.

    ``repo_or_path`` is a Hub id (``tvau/ubnormal-fg``) or an exported folder. Raises :class:`TvauError` if the
    card's ``schema_version`` has another major version than this package's; returns what
    ``datasets.load_dataset`` returns (a ``DatasetDict``, or a ``Dataset`` when ``split`` is given). A folder's
    cache lies under ``cache_dir`` (default: the ``datasets`` cache) in a subfolder named by its content hash.
    """
    if config not in CONFIGS:
        raise TvauError(f"unknown config {config!r}", field="config", fix=f"use one of {list(CONFIGS)}")
    meta, where = _card_metadata(repo_or_path, revision)
    check_schema_version(meta.get("schema_version"), where)
    import datasets

    path = Path(repo_or_path)
    if path.is_dir():
        cache = Path(kwargs.pop("cache_dir", None) or datasets.config.HF_DATASETS_CACHE)
        kwargs["cache_dir"] = str(cache / "tvau-bench" / folder_identity(path, meta, [config]))
    return datasets.load_dataset(str(repo_or_path), config, split=split, revision=revision, **kwargs)


def hub_snapshot(
    repo_id: str, configs: list[str] | tuple[str, ...], revision: str | None = None
) -> tuple[Path, str]:
    """``(local folder, commit sha)`` of Hub dataset ``repo_id``: its card and ``configs`` at ``revision``.

    ``revision`` (a branch, tag or commit; default the main branch) is resolved to its commit first and every
    file is downloaded at that commit (into the Hub cache, whose snapshots are keyed by commit), so the files
    read are exactly that commit's. The card's schema version is checked.
    """
    from huggingface_hub import HfApi, snapshot_download

    try:
        commit = HfApi().dataset_info(repo_id, revision=revision).sha
    except Exception as exc:  # network, auth, missing repo, offline: all mean "cannot resolve the commit"
        raise TvauError(
            f"cannot resolve the commit of Hub dataset {repo_id} at {revision or 'main'}: "
            f"{type(exc).__name__}: {exc}",
            fix="check the id, the network and HF_TOKEN; offline, pass a downloaded folder "
            "(`hf download --repo-type dataset REPO --local-dir DIR`)",
        ) from None
    meta, where = _card_metadata(repo_id, commit)
    check_schema_version(meta.get("schema_version"), where)
    patterns = [pattern for c in configs for _, pattern in config_patterns(meta, c, where)]
    try:
        folder = snapshot_download(
            repo_id, repo_type="dataset", revision=commit, allow_patterns=["README.md", *patterns]
        )
    except Exception as exc:
        raise TvauError(
            f"cannot download {repo_id} at commit {commit}: {type(exc).__name__}: {exc}",
            fix="check the network and HF_TOKEN, or pass a downloaded folder",
        ) from None
    return Path(folder), commit


def _card_metadata(repo_or_path: str | Path, revision: str | None) -> tuple[dict[str, Any], str]:
    path = Path(repo_or_path)
    if path.is_dir():
        return read_card(path / "README.md")[0], str(path / "README.md")
    if isinstance(repo_or_path, Path) or str(repo_or_path).count("/") != 1:
        raise TvauError(
            "neither a folder nor a Hub dataset id", path=str(repo_or_path), fix="e.g. tvau/ubnormal-fg"
        )
    from huggingface_hub import hf_hub_download

    try:
        card = hf_hub_download(str(repo_or_path), "README.md", repo_type="dataset", revision=revision)
    except Exception as exc:  # network, auth, missing repo, offline mode: all mean "cannot read the card"
        raise TvauError(
            f"cannot read the dataset card of {repo_or_path}: {type(exc).__name__}: {exc}",
            fix="check the id, the network (HF_HUB_OFFLINE) and HF_TOKEN for private repos",
        ) from None
    return read_card(card)[0], f"{repo_or_path}/README.md"


def check_schema_version(version: Any, where: str) -> None:
    """Accept the same major version; warn on a newer minor; refuse a missing or other-major version."""
    if version is None:
        raise TvauError("card has no schema_version: not a tvau-bench export", path=where, fix="re-export it")
    have = _parse(str(version), where)
    ours = _parse(SCHEMA_VERSION, "tvau_bench.schemas")
    if have[0] != ours[0]:
        raise TvauError(
            f"dataset schema version {version} is incompatible with this tvau-bench ({SCHEMA_VERSION})",
            path=where,
            fix="install the tvau-bench release that matches the dataset, or load a matching revision",
        )
    if have > ours:
        warnings.warn(
            f"{where}: schema version {version} is newer than {SCHEMA_VERSION}", TvauWarning, stacklevel=3
        )


def _parse(version: str, where: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        raise TvauError(f"schema_version {version!r} is not MAJOR.MINOR", path=where) from None
