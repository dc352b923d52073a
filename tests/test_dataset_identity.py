"""Data identity: a dataset is its content (card and shard hashes, or the Hub commit), part of the fingerprint.

A shard changed in place after a first load is read afresh (new identity, new fingerprint, new numbers), never
served from a cache; a run is only admitted with the dataset content it was made on; a bad shard is named.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from harness_fixtures import write_dataset, write_model
from hub_fixtures import export_fixture

from tvau_bench._io import iter_jsonl, read_json, write_json, write_jsonl
from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.harness.dataset import load_benchmark
from tvau_bench.harness.runner import results_from_log
from tvau_bench.hub import load
from tvau_bench.leaderboard.store import add_run


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_fixture(tmp_path_factory.mktemp("identity")).out


@pytest.fixture
def hub(exported: Path, tmp_path: Path) -> Path:
    """A private copy of the exported folder (the tests change its shards)."""
    return Path(shutil.copytree(exported, tmp_path / "ubnormal-fg"))


def _shard(hub: Path, config: str, split: str) -> Path:
    return next((hub / "data" / config).glob(f"{split}-*.parquet"))


def _rewrite_in_place(shard: Path, edit) -> None:
    """Rewrite ``shard`` with ``edit(rows)``, keeping its mtime (a cache keyed by path and mtime would not see it)."""
    st = shard.stat()
    table = pq.read_table(shard)
    pq.write_table(pa.Table.from_pylist(edit(table.to_pylist()), schema=table.schema), shard)
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))


def _run(model: Path, dataset: Path | str, out: Path, *extra: str) -> int:
    return main(["run", "--model", str(model), "--dataset", str(dataset), "--out", str(out), *extra])


# --- 1. stale dataset rows -----------------------------------------------------------------------------------


def test_a_shard_changed_in_place_is_read_afresh_with_a_new_fingerprint(hub, tmp_path, capsys):
    model = write_model(tmp_path / "maj.yaml", "maj", "majority")
    assert _run(model, hub, tmp_path / "before") == 0
    before = read_json(tmp_path / "before" / "results.json")
    assert before["dataset_sha256"] == read_json(tmp_path / "before" / "run.json")["dataset_sha256"]
    assert before["dataset_revision"] is None

    _rewrite_in_place(_shard(hub, "samples", "test"), lambda rows: rows[:-1])
    assert _run(model, hub, tmp_path / "after") == 0
    after = read_json(tmp_path / "after" / "results.json")
    assert after["n_expected"] == before["n_expected"] - 1  # the new rows, not a cached copy of the old
    assert after["dataset_sha256"] != before["dataset_sha256"]
    assert after["fingerprint"] != before["fingerprint"]

    # resuming the old run folder on the changed dataset refuses, and says why
    capsys.readouterr()
    assert _run(model, hub, tmp_path / "before") == 2
    assert "other dataset content" in capsys.readouterr().err
    # the old run is not admitted against the changed dataset, by its content hash
    with pytest.raises(TvauError, match="dataset changed since the run") as exc:
        add_run(tmp_path / "before", root=tmp_path / "lb", dataset=hub)
    assert exc.value.field == "dataset_sha256"
    assert add_run(tmp_path / "after", root=tmp_path / "lb", dataset=hub).is_dir()


def test_identity_covers_the_videos_shards_and_the_card(hub):
    base = load_benchmark(hub)
    _rewrite_in_place(
        _shard(hub, "videos", "test"), lambda rows: [{**r, "fps": r["fps"] + 1.0} for r in rows]
    )
    videos_changed = load_benchmark(hub)
    assert videos_changed.samples == base.samples  # the split's sample records alone would not tell
    assert {v["fps"] for v in videos_changed.videos.values()} != {v["fps"] for v in base.videos.values()}
    card = hub / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    identities = {base.identity, videos_changed.identity, load_benchmark(hub).identity}
    assert len(identities) == 3
    # identity is content, not place: the same files elsewhere are the same dataset
    assert load_benchmark(shutil.copytree(hub, hub.parent / "copy")).identity == load_benchmark(hub).identity


def test_annotation_folder_identity_is_its_files(tmp_path):
    folder = write_dataset(tmp_path / "ds")
    first = load_benchmark(folder)
    assert load_benchmark(shutil.copytree(folder, tmp_path / "same")).identity == first.identity
    write_jsonl(folder / "videos.jsonl", [{**v, "fps": 25.0} for _, v in iter_jsonl(folder / "videos.jsonl")])
    assert load_benchmark(folder).identity != first.identity


def test_old_run_without_identity_is_refused_clearly(tmp_path, capsys):
    data = write_dataset(tmp_path / "ds")
    model = write_model(tmp_path / "maj.yaml", "maj", "majority")
    out = tmp_path / "run"
    assert _run(model, data, out) == 0
    # what an older tvau-bench wrote: no identity in run.json, and a fingerprint that did not hash one
    old_fp = "0" * 64
    manifest = read_json(out / "run.json")
    del manifest["dataset_sha256"], manifest["dataset_revision"]
    write_json(out / "run.json", {**manifest, "fingerprint": old_fp})
    write_jsonl(
        out / "samples.jsonl", [{**r, "fingerprint": old_fp} for _, r in iter_jsonl(out / "samples.jsonl")]
    )
    write_json(out / "results.json", {**read_json(out / "results.json"), "fingerprint": old_fp})
    with pytest.raises(TvauError, match="older tvau-bench") as exc:
        results_from_log(out)
    assert exc.value.field == "dataset_sha256" and "--new-run" in exc.value.fix
    with pytest.raises(TvauError, match="older tvau-bench"):
        add_run(out, root=tmp_path / "lb", dataset=data)
    capsys.readouterr()
    assert _run(model, data, out) == 2
    assert "no dataset identity" in capsys.readouterr().err
    assert _run(model, data, out, "--new-run") == 0
    assert read_json(out / "results.json")["dataset_sha256"] == load_benchmark(data).identity


def test_hub_load_of_a_changed_folder_is_not_served_from_the_cache(hub, tmp_path):
    cache = str(tmp_path / "cache")
    labels = load(hub, "samples", split="test", cache_dir=cache)["label"]
    flip = {"Yes": "No", "No": "Yes"}
    _rewrite_in_place(
        _shard(hub, "samples", "test"), lambda rows: [{**r, "label": flip[r["label"]]} for r in rows]
    )
    assert load(hub, "samples", split="test", cache_dir=cache)["label"] == [flip[x] for x in labels]


def test_hub_id_is_pinned_to_its_commit(hub, tmp_path, monkeypatch):
    """The Hub path offline: the commit is resolved first, every file is fetched at that commit, and
    `leaderboard add` checks a run against the commit it recorded, not against what main holds later."""
    import huggingface_hub

    old, new = "0" * 40, "1" * 40
    moved = Path(shutil.copytree(hub, tmp_path / "later"))
    _rewrite_in_place(_shard(moved, "samples", "test"), lambda rows: rows[:-1])
    snapshots = {old: hub, new: moved}
    state = {"main": old}
    patterns: list[list[str]] = []

    def dataset_info(self, repo_id, revision=None, **kwargs):
        assert repo_id == "tvau/ubnormal-fg"
        return SimpleNamespace(sha=state["main"] if revision in (None, "main") else revision)

    def hf_hub_download(repo_id, filename, *, repo_type, revision, **kwargs):
        assert repo_type == "dataset"
        return str(snapshots[revision] / filename)

    def snapshot_download(repo_id, *, repo_type, revision, allow_patterns, **kwargs):
        patterns.append(allow_patterns)
        return str(snapshots[revision])

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", dataset_info)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    data = load_benchmark("tvau/ubnormal-fg")
    assert data.name == "tvau/ubnormal-fg" and data.revision == old
    assert data.identity == load_benchmark(hub).identity  # the same content as the local folder
    assert not any("tracks" in p for p in patterns[0])  # only what the harness reads is downloaded

    model = write_model(tmp_path / "maj.yaml", "maj", "majority")
    assert _run(model, "tvau/ubnormal-fg", tmp_path / "run") == 0
    res = read_json(tmp_path / "run" / "results.json")
    assert (res["dataset"], res["dataset_revision"]) == ("tvau/ubnormal-fg", old)

    state["main"] = new  # the repo moves on: its main branch now holds other content
    assert load_benchmark("tvau/ubnormal-fg").revision == new
    assert add_run(tmp_path / "run", root=tmp_path / "lb").is_dir()  # checked at the commit it recorded
    with pytest.raises(TvauError, match="dataset changed since the run"):
        add_run(tmp_path / "run", root=tmp_path / "lb2", dataset="tvau/ubnormal-fg")


def test_unreachable_hub_id_says_so():
    with pytest.raises(TvauError, match="cannot resolve the commit") as exc:
        load_benchmark("tvau/does-not-exist-offline")  # HF_HUB_OFFLINE=1 in the tests
    assert "--local-dir" in exc.value.fix


# --- 9. a bad shard is named, with what is wrong ------------------------------------------------------------


def _garbage(shard: Path) -> str:
    shard.write_bytes(b"not parquet at all\n" * 10)
    return "cannot be read as Parquet"


def _truncated(shard: Path) -> str:
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    return "cannot be read as Parquet"


def _wrong_schema(shard: Path) -> str:
    pq.write_table(pq.read_table(shard).drop_columns(["label"]), shard)
    return "column 'label' missing"


def _bad_row(shard: Path) -> str:
    _rewrite_in_place(shard, lambda rows: [{**rows[0], "label": "Maybe"}, *rows[1:]])
    return "'Maybe' is not one of"


@pytest.mark.parametrize("damage", [_garbage, _truncated, _wrong_schema, _bad_row])
def test_a_bad_shard_is_named_with_what_is_wrong(hub, tmp_path, damage, capsys):
    shard = _shard(hub, "samples", "test")
    want = damage(shard)
    with pytest.raises(TvauError, match=want) as exc:
        load_benchmark(hub)
    assert str(shard) in exc.value.path and exc.value.fix
    model = write_model(tmp_path / "maj.yaml", "maj", "majority")
    capsys.readouterr()
    assert _run(model, hub, tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert str(shard) in err and want in err and "DatasetGenerationError" not in err


def test_a_card_pattern_without_files_is_named(hub):
    for shard in (hub / "data" / "videos").glob("validation-*"):
        shard.unlink()
    with pytest.raises(TvauError, match="'data/videos/validation-\\*' matches no file") as exc:
        load_benchmark(hub)
    assert exc.value.path == str(hub / "README.md")
