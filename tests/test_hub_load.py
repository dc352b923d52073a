"""`tvau_bench.hub.load`: datasets.load_dataset behind a schema-version check."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest
from hub_fixtures import export_fixture

from tvau_bench.errors import TvauError, TvauWarning
from tvau_bench.hub import load
from tvau_bench.hub.features import features_for


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_fixture(tmp_path_factory.mktemp("load")).out


def _with_version(hub: Path, tmp_path: Path, version: str | None) -> Path:
    copy = tmp_path / "hub"
    shutil.copytree(hub, copy)
    card = copy / "README.md"
    line = "schema_version: '1.0'\n"
    card.write_text(
        card.read_text().replace(line, "" if version is None else f"schema_version: '{version}'\n")
    )
    return copy


def test_load_default_and_configs(hub: Path, tmp_path: Path) -> None:
    dd = load(hub, cache_dir=str(tmp_path / "c"))
    assert isinstance(dd, datasets.DatasetDict) and dd["train"].features == features_for("samples")
    test_tracks = load(hub, "tracks", split="test", cache_dir=str(tmp_path / "c"))
    assert isinstance(test_tracks, datasets.Dataset) and len(test_tracks) == 20
    assert (
        load(str(hub), "videos", split="validation", cache_dir=str(tmp_path / "c"))[0]["split"]
        == "validation"
    )


@pytest.mark.parametrize("version", ["2.0", None, "one"])
def test_incompatible_versions_refused(hub: Path, tmp_path: Path, version: str | None) -> None:
    with pytest.raises(TvauError, match="schema"):
        load(_with_version(hub, tmp_path, version), cache_dir=str(tmp_path / "c"))


def test_newer_minor_warns(hub: Path, tmp_path: Path) -> None:
    with pytest.warns(TvauWarning, match="newer"):
        dd = load(
            _with_version(hub, tmp_path, "1.7"), "samples", split="train", cache_dir=str(tmp_path / "c")
        )
    assert len(dd) == 4


def test_bad_arguments(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(TvauError, match="unknown config"):
        load(hub, "frames")
    with pytest.raises(TvauError, match="neither a folder nor a Hub dataset id"):
        load(tmp_path / "nothing-here")
    # HF_HUB_OFFLINE=1 in the tests: a Hub id cannot be read, and says so without a traceback.
    with pytest.raises(TvauError, match="cannot read the dataset card"):
        load("tvau/does-not-exist-offline")
