"""End to end: synthetic source -> annotate (geometric) -> export (the shared `tiny_bench` fixture) ->
`datasets.load_dataset` -> masks match."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import datasets
import numpy as np
import pytest
from datasets import List, Value

from tvau_bench.cli import main
from tvau_bench.hub.export import export
from tvau_bench.hub.features import features_for
from tvau_bench.sources.masks import rle_decode


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `datasets` cache of this module (the shared benchmark stays read-only)."""
    return tmp_path_factory.mktemp("hub-e2e-cache")


def test_samples_load_typed(tiny_bench: Path, cache: Path) -> None:
    ds = datasets.load_dataset(str(tiny_bench / "hub"), cache_dir=str(cache))
    report = json.loads((tiny_bench / "ann" / "report.json").read_text())
    assert sum(len(ds[s]) for s in ds) == report["counts"]["samples"] > 0
    feats = ds["train"].features
    assert feats == features_for("samples")
    assert feats["frame_indices"] == List(Value("int64"))
    assert feats["dialogue"].feature == {
        "turn": Value("int64"),
        "kind": Value("string"),
        "question": Value("string"),
        "answer": Value("string"),
    }
    yes = [r for s in ds for r in ds[s] if r["label"] == "Yes"]
    assert yes and all(len(r["dialogue"]) == 3 for r in yes)


def test_videos_and_tracks_load(tiny_bench: Path, cache: Path) -> None:
    videos = datasets.load_dataset(str(tiny_bench / "hub"), "videos", cache_dir=str(cache))
    tracks = datasets.load_dataset(str(tiny_bench / "hub"), "tracks", cache_dir=str(cache))
    n_videos = sum(1 for _ in (tiny_bench / "ann" / "videos.jsonl").open())
    n_tracks = sum(1 for _ in (tiny_bench / "ann" / "tracks.jsonl").open())
    assert sum(len(videos[s]) for s in videos) == n_videos
    assert sum(len(tracks[s]) for s in tracks) == n_tracks
    assert tracks["test"].features["mask"] == {
        "size": List(Value("int64"), length=2),
        "counts": Value("string"),
    }


def test_masks_decode_to_the_generators(tiny_bench: Path, cache: Path) -> None:
    tracks = datasets.load_dataset(str(tiny_bench / "hub"), "tracks", split="test", cache_dir=str(cache))
    rows = [*[r for r in tracks if r["is_abnormal"]][:3], tracks[len(tracks) // 2]]
    for row in rows:
        vid, oid = row["target_id"].rsplit(":", 1)
        scene = vid.split("_")[2]
        png = (
            tiny_bench
            / "ubnormal"
            / f"Scene{scene}"
            / f"{vid}_annotations"
            / f"{vid}_{row['frame']:04d}_gt.png"
        )
        id_map = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(rle_decode(row["mask"]), id_map == int(oid))


def test_reexport_identical_and_cli_validate(
    tiny_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = export(tiny_bench / "ann", tmp_path / "hub2", repo_id="tvau/ubnormal-fg", check=False)
    for p in sorted((tiny_bench / "hub" / "data").rglob("*.parquet")):
        assert (again.out / p.relative_to(tiny_bench / "hub")).read_bytes() == p.read_bytes()
    assert main(["validate", str(tiny_bench / "hub")]) == 0
    assert "OK" in capsys.readouterr().out
