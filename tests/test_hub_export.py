"""Export: Hub layout, typed features through `datasets.load_dataset`, card, byte-identical re-export."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from datasets import List, Value
from hub_fixtures import build_records, export_fixture, object_mask, write_annotations
from huggingface_hub import DatasetCardData
from pycocotools import mask as mask_utils

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.hub.card import PAPER_BIBTEX, read_card, size_category
from tvau_bench.hub.export import export, shard_bounds
from tvau_bench.hub.features import CONFIGS, features_for, from_arrow_row
from tvau_bench.schemas import SCHEMA_VERSION

PAPER = Path("/work/shared/paper/000_eb84455d3ec55073.txt")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    res = export_fixture(tmp_path_factory.mktemp("export"))
    assert res.ok, res.validation.format()
    return res.out


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "hf-cache"


def _parquet_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "data").rglob("*.parquet"))
    }


def test_layout(hub: Path) -> None:
    names = sorted(_parquet_files(hub))
    assert names == sorted(
        f"data/{c}/{s}-00000-of-00001.parquet" for c in CONFIGS for s in ("train", "validation", "test")
    )
    assert sorted(p.name for p in (hub / "schemas").iterdir()) == ["sample.json", "track.json", "video.json"]
    assert (hub / "annotation" / "report.json").is_file()


def test_load_dataset_typed(hub: Path, cache: Path) -> None:
    ds = datasets.load_dataset(str(hub), cache_dir=str(cache))
    assert set(ds) == {"train", "validation", "test"}
    feats = ds["train"].features
    assert feats["frame_indices"] == List(Value("int64"))
    assert isinstance(feats["dialogue"], List) and isinstance(feats["dialogue"].feature, dict)
    assert feats["dialogue"].feature["turn"] == Value("int64")
    assert feats == features_for("samples")
    recs = build_records()
    loaded = [r for s in ("train", "validation", "test") for r in ds[s]]
    assert sorted(loaded, key=lambda r: r["sample_id"]) == sorted(
        recs["samples"], key=lambda r: r["sample_id"]
    )
    yes = next(r for r in loaded if r["label"] == "Yes")
    assert [t["kind"] for t in yes["dialogue"]] == ["yes_no", "target", "trajectory"]


@pytest.mark.parametrize("config", ["videos", "tracks"])
def test_other_configs_load(hub: Path, cache: Path, config: str) -> None:
    ds = datasets.load_dataset(str(hub), config, cache_dir=str(cache))
    assert ds["train"].features == features_for(config)
    recs = build_records()[config]
    assert sum(len(ds[s]) for s in ds) == len(recs)
    rows = [from_arrow_row(r, config) for s in ("train", "validation", "test") for r in ds[s]]
    key = (lambda r: r["video_id"]) if config == "videos" else (lambda r: (r["target_id"], r["frame"]))
    assert sorted(rows, key=key) == sorted(recs, key=key)


def test_mask_decodes_to_the_original(hub: Path, cache: Path) -> None:
    tracks = datasets.load_dataset(str(hub), "tracks", split="test", cache_dir=str(cache))
    row = tracks[7]
    decoded = mask_utils.decode({"size": row["mask"]["size"], "counts": row["mask"]["counts"].encode()})
    oid = int(row["target_id"].rsplit(":", 1)[1])
    np.testing.assert_array_equal(decoded.astype(bool), object_mask(oid, row["frame"]))


def test_reexport_is_byte_identical(hub: Path, tmp_path: Path) -> None:
    again = export(
        write_annotations(tmp_path / "ann"), tmp_path / "hub2", repo_id="tvau/ubnormal-fg", check=False
    )
    assert _parquet_files(again.out) == _parquet_files(hub)
    assert (again.out / "README.md").read_bytes() == (hub / "README.md").read_bytes()


def test_reexport_into_same_folder_drops_stale_shards(tmp_path: Path) -> None:
    first = export_fixture(tmp_path, check=False)
    before = _parquet_files(first.out)
    stale = first.out / "data" / "samples" / "train-00001-of-00002.parquet"
    stale.write_bytes(b"old")
    # Input in another order: the export sorts, so the bytes must not change.
    recs = build_records()
    recs = {k: list(reversed(v)) for k, v in recs.items()}
    export(
        write_annotations(tmp_path / "ann2", records=recs), first.out, repo_id="tvau/ubnormal-fg", check=False
    )
    assert not stale.exists()
    assert _parquet_files(first.out) == before


def test_sharding(tmp_path: Path, cache: Path) -> None:
    ann = write_annotations(tmp_path / "ann")
    res = export(ann, tmp_path / "hub", repo_id="tvau/ubnormal-fg", max_shard_bytes=2000)
    assert res.ok, res.validation.format()
    files = res.stats["tracks"]["train"].files
    assert len(files) > 1
    assert files[0].endswith(f"train-00000-of-{len(files):05d}.parquet")
    ds = datasets.load_dataset(str(res.out), "tracks", split="train", cache_dir=str(cache))
    assert len(ds) == res.stats["tracks"]["train"].num_examples == 60
    assert shard_bounds(10, 100, 30) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert shard_bounds(3, 10**9, 1) == [(0, 1), (1, 2), (2, 3)]
    assert shard_bounds(0, 0, 5) == [(0, 0)]


def test_card_metadata(hub: Path) -> None:
    meta, body = read_card(hub / "README.md")
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["license"] and meta["pretty_name"] and meta["task_categories"]
    assert meta["size_categories"] == ["n<1K"]
    samples_cfg = next(c for c in meta["configs"] if c["config_name"] == "samples")
    assert samples_cfg["default"] is True
    assert {"split": "test", "path": "data/samples/test-*"} in samples_cfg["data_files"]
    # datasets itself reads the dataset_info back into the derived features and split sizes.
    infos = datasets.info.DatasetInfosDict.from_dataset_card_data(DatasetCardData(**meta))
    for config in CONFIGS:
        assert infos[config].features == features_for(config)
    assert infos["samples"].splits["train"].num_examples == 4
    assert infos["tracks"].splits["test"].num_examples == 20
    for heading in (
        "## Dataset description",
        "## Dataset structure",
        "## Splits",
        "## How it was built",
        "### Prompt hashes",
        "### Verification",
        "## Source videos",
        "## Uses",
        "## Personal and sensitive information",
        "## Limitations",
        "## Citation",
    ):
        assert heading in body
    assert "referenced, not redistributed" in body
    assert "@inproceedings{gu2026tvau" in body and "acsintoae2022ubnormal" in body
    assert "| targets verified | 60.0% (3/5) |" in body
    assert "`verification.verified_rate` | 0.5" in body
    assert yaml.safe_load(yaml.safe_dump(meta)) == meta


def test_published_report_has_no_local_paths_or_timings(hub: Path) -> None:
    copy = json.loads((hub / "annotation" / "report.json").read_text())
    assert copy["source"] == {"layout": "ubnormal"} and "timings" not in copy
    assert copy["verification"]["requeried"] == 2
    card = (hub / "README.md").read_text()
    assert "/home/someone" not in card and "timings" not in card and "`source.layout` | ubnormal" in card


@pytest.mark.skipif(not PAPER.is_file(), reason="paper text not available")
def test_card_bibtex_is_the_papers() -> None:
    assert PAPER_BIBTEX in PAPER.read_text(encoding="utf-8")


def test_size_category() -> None:
    assert [size_category(n) for n in (0, 999, 1000, 54_321, 2_000_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "10K<n<100K",
        "1M<n<10M",
    ]


def test_invalid_input_names_file_and_line(tmp_path: Path) -> None:
    recs = build_records()
    recs["samples"][2]["frame_indices"] = ["x"]
    ann = write_annotations(tmp_path / "ann", records=recs)
    with pytest.raises(TvauError) as err:
        export(ann, tmp_path / "hub", repo_id="tvau/ubnormal-fg")
    assert "samples.jsonl:3" in str(err.value) and "frame_indices" in str(err.value)
    (ann / "tracks.jsonl").unlink()
    with pytest.raises(TvauError, match=r"tracks\.jsonl missing"):
        export(ann, tmp_path / "hub", repo_id="tvau/ubnormal-fg")


def test_track_of_unknown_video_is_refused(tmp_path: Path) -> None:
    recs = build_records()
    recs["tracks"][0]["video_id"] = "ghost"
    with pytest.raises(TvauError, match="ghost"):
        export_fixture(tmp_path, recs)


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ann = write_annotations(tmp_path / "ann")
    assert main(["export", str(ann), "--out", str(tmp_path / "hub")]) == 0
    out = capsys.readouterr().out
    assert "samples: train 4 rows" in out and "OK: no problems found" in out
    _meta, body = read_card(tmp_path / "hub" / "README.md")
    assert "tvau/ubnormal-fg" in body  # default repo id from the source
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "hub")]) == 2


def test_empty_split_and_empty_config_are_left_out(tmp_path: Path, cache: Path) -> None:
    recs = build_records()
    val = next(v for v in recs["videos"] if v["split"] == "validation")
    val["targets"] = []
    recs["tracks"] = [t for t in recs["tracks"] if t["video_id"] != val["video_id"]]
    res = export_fixture(tmp_path / "a", recs)
    assert res.ok, res.validation.format()
    assert set(res.stats["tracks"]) == {"train", "test"}
    assert set(datasets.load_dataset(str(res.out), "tracks", cache_dir=str(cache))) == {"train", "test"}
    # No target anywhere: the `tracks` config has no rows and is not listed; the rest still loads and validates.
    for v in recs["videos"]:
        v["targets"], v["abnormal_intervals"] = [], []
    recs["tracks"] = []
    recs["samples"] = [s for s in recs["samples"] if s["label"] == "No"]
    res = export_fixture(tmp_path / "b", recs)
    assert res.ok, res.validation.format()
    meta, _ = read_card(res.out / "README.md")
    assert [c["config_name"] for c in meta["configs"]] == ["samples", "videos"]
    assert len(datasets.load_dataset(str(res.out), split="train", cache_dir=str(cache))) == 2
