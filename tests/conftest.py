"""Shared test setup: quiet progress bars; session-wide synthetic sources are built once per worker."""

import os

os.environ.setdefault("TVAU_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path

import pytest
from filelock import FileLock

# The small synthetic set the synth tests read back: every anomaly kind in the train split, CRLF and LF tracks
# files, a single-row tracks file, a stale _tracks.txt beside _new_tracks.txt, an all-abnormal ShanghaiTech video.
SMALL_SIZES = {
    "frames": 40,
    "scenes": 2,
    "ub_train": 4,
    "ub_validation": 3,
    "ub_test": 2,
    "st_train": 1,
    "st_test": 3,
    "anomalies_per_video": 6,
}


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs) -> Path:
    """Generate once for all xdist workers of the run (a lock and a done-marker in the shared temp root)."""
    from tvau_bench.synth import generate

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    out = base / name
    with FileLock(str(base / f"{name}.lock")):
        if not (out / ".done").is_file():
            generate(out, **kwargs)
            (out / ".done").write_text("ok", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (CI-sized) synthetic set, both layouts, seed 0: ``synth_root / "ubnormal"`` and
    ``synth_root / "shanghaitech"`` are source roots with a ``truth.jsonl`` each. Read-only for tests."""
    return _shared(tmp_path_factory, "synth_default", fmt="both", seed=0)


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller synthetic set (both layouts, seed 0, :data:`SMALL_SIZES`): 40 frames a video. Read-only."""
    return _shared(tmp_path_factory, "synth_small", fmt="both", seed=0, **SMALL_SIZES)
