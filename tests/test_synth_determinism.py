"""Same seed and sizes give byte-identical files (mp4, png, jpg, npy, pickle, text); another seed differs."""

from __future__ import annotations

from pathlib import Path

from conftest import SMALL_SIZES

from tvau_bench._io import sha256_file
from tvau_bench.synth import generate


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".done"
    }


def test_same_seed_same_bytes(synth_small: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", fmt="both", seed=0, **SMALL_SIZES)
    first, second = _tree(synth_small), _tree(tmp_path / "again")
    assert len(first) > 500
    assert {Path(k).suffix for k in first} >= {
        ".mp4",
        ".png",
        ".txt",
        ".pkl",
        ".jsonl",
        ".avi",
        ".jpg",
        ".npy",
    }
    assert first == second


def test_other_seed_other_scenes(synth_small: Path, tmp_path: Path) -> None:
    generate(tmp_path / "seed1", fmt="ubnormal", seed=1, **SMALL_SIZES)
    a, b = _tree(synth_small / "ubnormal"), _tree(tmp_path / "seed1" / "ubnormal")
    assert a["truth.jsonl"] != b["truth.jsonl"]
    videos = [k for k in a if k.endswith(".mp4") and k in b]
    assert videos and all(a[k] != b[k] for k in videos)
