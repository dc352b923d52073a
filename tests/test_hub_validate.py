"""`validate` finds each kind of broken hub folder, and only what is broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hub_fixtures import NUM_FRAMES, build_records, export_fixture, rle
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.hub.validate import rle_bbox, rle_counts, validate_hub

Records = dict[str, list[dict[str, Any]]]


def _abnormal_sample(r: Records) -> dict[str, Any]:
    return next(s for s in r["samples"] if s["label"] == "Yes")


def _missing_video(r: Records) -> None:
    s = r["samples"][0]
    s["video_id"] = "abnormal_scene_9_scenario_9"
    s["sample_id"] = f"{s['video_id']}:{s['start_frame']}-{s['end_frame']}"


def _range_past_end(r: Records) -> None:
    s = r["samples"][1]
    s["end_frame"] = NUM_FRAMES + 3
    suffix = "" if s["target_id"] is None else ":" + s["target_id"].rsplit(":", 1)[1]
    s["sample_id"] = f"{s['video_id']}:{s['start_frame']}-{s['end_frame']}{suffix}"


def _wrong_rle_size(r: Records) -> None:
    r["tracks"][5]["mask"] = rle(np.ones((10, 10), dtype=bool))


def _rle_counts_of_other_frame(r: Records) -> None:
    # The declared size is right but the runs cover a 12x32 frame.
    enc = rle(np.ones((12, 32), dtype=bool))
    r["tracks"][5]["mask"] = {"size": r["tracks"][5]["mask"]["size"], "counts": enc["counts"]}


def _missing_turn(r: Records) -> None:
    _abnormal_sample(r)["dialogue"].pop()


def _frame_indices_outside(r: Records) -> None:
    r["samples"][0]["frame_indices"][-1] = r["samples"][0]["end_frame"] + 1


def _unknown_target(r: Records) -> None:
    s = _abnormal_sample(r)
    s["target_id"] = s["video_id"] + ":7"
    s["sample_id"] = f"{s['video_id']}:{s['start_frame']}-{s['end_frame']}:7"


def _box_off_mask(r: Records) -> None:
    r["tracks"][3]["box"][2] += 1


def _yes_no_contradicts_label(r: Records) -> None:
    _abnormal_sample(r)["dialogue"][0]["answer"] = "No."


def _target_without_tracks(r: Records) -> None:
    r["tracks"] = [t for t in r["tracks"] if t["target_id"] != "abnormal_scene_1_scenario_1:2"]


CASES: dict[str, tuple[Callable[[Records], None], str]] = {
    "missing video": (_missing_video, "missing-video"),
    "frame range past the end": (_range_past_end, "frame-range"),
    "RLE of the wrong size": (_wrong_rle_size, "mask-size"),
    "RLE runs of another size": (_rle_counts_of_other_frame, "mask-size"),
    "missing dialogue turn": (_missing_turn, "dialogue"),
    "frame index outside the clip": (_frame_indices_outside, "frame-indices"),
    "unknown target": (_unknown_target, "missing-target"),
    "box not the mask's extent": (_box_off_mask, "box"),
    "yes/no answer contradicts label": (_yes_no_contradicts_label, "dialogue"),
    "target without tracks": (_target_without_tracks, "missing-track"),
}


def test_clean_export_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = export_fixture(tmp_path, check=False)
    rep = validate_hub(res.out)
    assert rep.ok, rep.format()
    assert rep.rows["tracks"] == {"train": 60, "validation": 20, "test": 20}
    assert main(["validate", str(res.out)]) == 0
    assert "OK: no problems found" in capsys.readouterr().out


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_caught(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    mutate, check = CASES[case]
    recs = build_records()
    mutate(recs)
    res = export_fixture(tmp_path, recs, check=False)
    rep = validate_hub(res.out)
    assert set(rep.checks()) == {check}, rep.format()
    assert main(["validate", str(res.out)]) == 1
    err = capsys.readouterr().err
    assert f"[{check}]" in err and "FAILED" in err and "row" in err


def _rewrite_shard(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def test_wrong_type_is_caught(tmp_path: Path) -> None:
    res = export_fixture(tmp_path, check=False)
    shard = res.out / "data" / "samples" / "train-00000-of-00001.parquet"

    def as_strings(t: pa.Table) -> pa.Table:
        i = t.schema.get_field_index("start_frame")
        return t.set_column(i, "start_frame", pa.array([str(v) for v in t["start_frame"].to_pylist()]))

    _rewrite_shard(shard, as_strings)
    rep = validate_hub(res.out)
    assert set(rep.checks()) == {"arrow-type", "schema"}, rep.format()
    assert any("start_frame" in p.message and "string" in p.message for p in rep.problems)


def test_layout_and_card_problems(tmp_path: Path) -> None:
    res = export_fixture(tmp_path, check=False)
    (res.out / "data" / "samples" / "extra.parquet").write_bytes(b"x")
    card = res.out / "README.md"
    card.write_text(card.read_text().replace("schema_version: '1.0'", "schema_version: '0.9'"))
    (res.out / "schemas" / "track.json").write_text("{}")
    rep = validate_hub(res.out)
    assert set(rep.checks()) == {"layout", "card", "schemas"}, rep.format()
    card.unlink()
    rep = validate_hub(res.out)
    assert "card" in rep.checks() and rep.rows["samples"]["train"] == 4  # rows still checked from the layout


def test_count_mismatch_in_card(tmp_path: Path) -> None:
    res = export_fixture(tmp_path, check=False)
    card = res.out / "README.md"
    card.write_text(card.read_text().replace("num_examples: 60", "num_examples: 61"))
    rep = validate_hub(res.out)
    assert set(rep.checks()) == {"card"} and "61" in rep.problems[0].message


def test_missing_folder() -> None:
    with pytest.raises(TvauError, match="hub folder not found"):
        validate_hub("/nonexistent/hub")


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
    density=st.floats(0.0, 1.0),
)
def test_rle_runs_and_bbox_match_pycocotools(h: int, w: int, seed: int, density: float) -> None:
    m = np.random.default_rng(seed).random((h, w)) < density
    enc = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    runs = rle_counts(enc["counts"].decode())
    assert runs is not None and sum(runs) == h * w
    flat = np.repeat(np.arange(len(runs)) % 2, runs).astype(bool)
    np.testing.assert_array_equal(flat.reshape(w, h).T, m)
    ys, xs = np.nonzero(m)
    want = None if not m.any() else (xs.min(), ys.min(), xs.max(), ys.max())
    assert rle_bbox(runs, h) == want


@pytest.mark.parametrize("counts", ["\x7f", "0" * 20, "o", "=", "3a"])
def test_malformed_counts(counts: str) -> None:
    runs = rle_counts(counts)
    assert runs is None or sum(runs) != 6  # never a valid 2x3 mask by accident


def test_report_keeps_a_bounded_number_of_problems() -> None:
    from tvau_bench.hub.validate import KEEP_PER_CHECK, ValidationReport

    rep = ValidationReport(Path("x"))
    for i in range(KEEP_PER_CHECK + 5):
        rep.add("schema", f"row {i}", "bad")
    assert not rep.ok and rep.total == KEEP_PER_CHECK + 5 and len(rep.problems) == KEEP_PER_CHECK
    assert f"... and {KEEP_PER_CHECK + 5 - 3} more" in rep.format(max_per_check=3)


def test_malformed_card_structures_are_findings(tmp_path: Path) -> None:
    res = export_fixture(tmp_path, check=False)
    card = res.out / "README.md"
    text = card.read_text()
    head, sep, rest = text.partition("configs:\n")
    tail = rest[rest.index("dataset_info:") :]
    card.write_text(
        head + sep + "- config_name: samples\n  default: true\n  data_files: data/samples/*\n- 7\n" + tail
    )
    rep = validate_hub(res.out)
    assert {"card", "layout"} <= set(rep.checks()), rep.format()
    assert any("data_files is not a list" in p.message for p in rep.problems)
