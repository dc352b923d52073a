"""Shared test setup: quiet progress bars; session-wide synthetic sources are built once per worker."""

import os

os.environ.setdefault("TVAU_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from collections.abc import Callable
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


def _built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(out)`` once for all xdist workers of the run (a lock and a done-marker in the shared temp root)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    out = base / name
    with FileLock(str(base / f"{name}.lock")):
        if not (out / ".done").is_file():
            build(out)
            (out / ".done").write_text("ok", encoding="utf-8")
    return out


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs) -> Path:
    """Generate a synthetic set once for all xdist workers of the run."""
    from tvau_bench.synth import generate

    return _built_once(tmp_path_factory, name, lambda out: generate(out, **kwargs))


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default (CI-sized) synthetic set, both layouts, seed 0: ``synth_root / "ubnormal"`` and
    ``synth_root / "shanghaitech"`` are source roots with a ``truth.jsonl`` each. Read-only for tests."""
    return _shared(tmp_path_factory, "synth_default", fmt="both", seed=0)


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smaller synthetic set (both layouts, seed 0, :data:`SMALL_SIZES`): 40 frames a video. Read-only."""
    return _shared(tmp_path_factory, "synth_small", fmt="both", seed=0, **SMALL_SIZES)


# The tiny UBnormal set the models and hub end-to-end tests share: 2+2+2 videos of 24 frames at 96x72.
TINY_UB_SIZES = {
    "width": 96,
    "height": 72,
    "frames": 24,
    "scenes": 1,
    "ub_train": 2,
    "ub_validation": 2,
    "ub_test": 2,
}


def _build_tiny_bench(out: Path) -> None:
    """Synthetic source -> annotate (the geometric ``synthetic`` recipe) -> hub export, under ``out``."""
    from tvau_bench.annotate.pipeline import run as annotate
    from tvau_bench.annotate.recipe import load_recipe
    from tvau_bench.hub.export import export
    from tvau_bench.synth import generate

    generate(out, fmt="ubnormal", seed=0, **TINY_UB_SIZES)
    annotate(load_recipe("synthetic"), out / "ubnormal", out / "ann")
    res = export(out / "ann", out / "hub", repo_id="tvau/ubnormal-fg")
    assert res.ok, res.validation.format()


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny benchmark built once per run (:data:`TINY_UB_SIZES`, seed 0): ``tiny_bench / "ubnormal"`` is the
    source root (with ``truth.jsonl``), ``tiny_bench / "ann"`` its `annotate` output (geometric backend) and
    ``tiny_bench / "hub"`` that output exported as a hub dataset folder. Read-only for tests."""
    return _built_once(tmp_path_factory, "tiny_bench", _build_tiny_bench)


@pytest.fixture(scope="session")
def tiny_ahd_config() -> Callable[..., object]:
    """A factory for the CPU-sized ``AHDConfig`` the models tests train; keyword arguments override fields."""
    from tvau_bench.models.train_ahd import AHDConfig

    def make(**overrides: object) -> AHDConfig:
        fields = {
            "widths": [8, 16],
            "text_dim": 8,
            "max_side": 64,
            "clip_len": 3,
            "batch": 2,
            "epochs": 2,
            "steps_per_epoch": 2,
            "crop": [32, 48],
        }
        fields.update(overrides)
        return AHDConfig(**fields)

    return make


# ------------------------------------------------------------------------------------------- the fast lane
# Test files whose every test carries a marker, by name: the tests of tvau_bench.models need torch (torch,
# transformers and peft take seconds to import), the Ray tests start a Ray cluster. Their tests get the marker
# here, and a -m expression that deselects every test with it (`make test-fast`) does not even import the files.
MARKED_FILES = {"torch": ("test_models_*.py",), "ray": ("test_ray_*.py",)}


def _file_marker(path: Path) -> str | None:
    return next((m for m, globs in MARKED_FILES.items() if any(path.match(g) for g in globs)), None)


def _deselects(config: pytest.Config, marker: str) -> bool:
    """Whether the ``-m`` expression leaves out every test that has ``marker``, whatever other markers it has."""
    markexpr = config.getoption("markexpr", default="")
    if not markexpr:
        return False
    try:  # pytest's own parser of -m (not public API): if it ever moves, files are imported, as before
        from _pytest.mark.expression import Expression

        expr = Expression.compile(markexpr)
    except Exception:
        return False
    others = ["slow", *MARKED_FILES]
    for bits in range(1 << len(others)):
        marks = {marker} | {m for i, m in enumerate(others) if bits >> i & 1}
        if expr.evaluate(lambda name, marks=marks, **_: name in marks):
            return False
    return True


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    marker = _file_marker(collection_path)
    return True if marker is not None and _deselects(config, marker) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = _file_marker(item.path)
        if marker is not None:
            item.add_marker(marker)
