"""End to end: synthetic source -> annotate (geometric) -> export -> `datasets.load_dataset` -> masks match."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import datasets
import numpy as np
import pytest
from datasets import List, Value

from tvau_bench.annotate.pipeline import run
from tvau_bench.annotate.recipe import load_recipe
from tvau_bench.cli import main
from tvau_bench.hub.export import export
from tvau_bench.hub.features import features_for
from tvau_bench.sources.masks import rle_decode
from tvau_bench.synth import generate


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hub-e2e")
    generate(
        tmp / "src",
        fmt="ubnormal",
        seed=0,
        width=160,
        height=120,
        frames=48,
        scenes=1,
        ub_train=2,
        ub_validation=2,
        ub_test=2,
    )
    recipe = tmp / "recipe.yaml"
    recipe.write_text("name: hub-e2e\nbackend: {kind: geometric}\n", encoding="utf-8")
    run(load_recipe(recipe), tmp / "src" / "ubnormal", tmp / "ann")
    res = export(tmp / "ann", tmp / "hub", repo_id="tvau/ubnormal-fg")
    assert res.ok, res.validation.format()
    return tmp


def test_samples_load_typed(built: Path) -> None:
    ds = datasets.load_dataset(str(built / "hub"), cache_dir=str(built / "cache"))
    report = json.loads((built / "ann" / "report.json").read_text())
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


def test_videos_and_tracks_load(built: Path) -> None:
    videos = datasets.load_dataset(str(built / "hub"), "videos", cache_dir=str(built / "cache"))
    tracks = datasets.load_dataset(str(built / "hub"), "tracks", cache_dir=str(built / "cache"))
    n_videos = sum(1 for _ in (built / "ann" / "videos.jsonl").open())
    n_tracks = sum(1 for _ in (built / "ann" / "tracks.jsonl").open())
    assert sum(len(videos[s]) for s in videos) == n_videos
    assert sum(len(tracks[s]) for s in tracks) == n_tracks
    assert tracks["test"].features["mask"] == {
        "size": List(Value("int64"), length=2),
        "counts": Value("string"),
    }


def test_masks_decode_to_the_generators(built: Path) -> None:
    tracks = datasets.load_dataset(str(built / "hub"), "tracks", split="test", cache_dir=str(built / "cache"))
    rows = [*[r for r in tracks if r["is_abnormal"]][:3], tracks[len(tracks) // 2]]
    for row in rows:
        vid, oid = row["target_id"].rsplit(":", 1)
        scene = vid.split("_")[2]
        png = (
            built
            / "src"
            / "ubnormal"
            / f"Scene{scene}"
            / f"{vid}_annotations"
            / f"{vid}_{row['frame']:04d}_gt.png"
        )
        id_map = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(rle_decode(row["mask"]), id_map == int(oid))


def test_reexport_identical_and_cli_validate(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = export(built / "ann", built / "hub2", repo_id="tvau/ubnormal-fg", check=False)
    for p in sorted((built / "hub" / "data").rglob("*.parquet")):
        assert (again.out / p.relative_to(built / "hub")).read_bytes() == p.read_bytes()
    assert main(["validate", str(built / "hub")]) == 0
    assert "OK" in capsys.readouterr().out
