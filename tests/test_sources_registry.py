"""The source registry: one SourceSpec per source module, read by detection, the card and the leaderboard."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hub_fixtures import build_records, export_fixture

from tvau_bench.errors import TvauError
from tvau_bench.schemas import load_schema
from tvau_bench.sources import registry
from tvau_bench.sources.layout import detect_layout, open_source
from tvau_bench.sources.registry import SOURCES, by_family, in_words, names


def test_schema_source_enum_is_the_registry():
    assert load_schema("video")["properties"]["source"]["enum"] == names()


def test_specs_are_distinct():
    assert len(set(names())) == len(SOURCES)
    families = [s.family for s in SOURCES]
    assert len(set(families)) == len(families)
    assert all(len(f) == 2 and f.isupper() for f in families)
    # dataset names are matched to families by the source name they hold: no name may contain another
    assert not [(a, b) for a in names() for b in names() if a != b and a in b]
    for s in SOURCES:
        empty = [f.name for f in dataclasses.fields(s) if f.name != "split_note" and not getattr(s, f.name)]
        assert not empty, (s.name, empty)


@pytest.mark.parametrize("name", names())
def test_each_source_detects_and_opens_its_own_layout(synth_small: Path, name: str):
    root = synth_small / name
    assert [s.name for s in SOURCES if s.detect(root)] == [name]
    src = open_source(root)
    assert src.layout == name
    split = src.splits()[-1]
    assert {v.source for v in src.videos(split)} == {name}
    rep = src.report()
    assert rep.layout == name and rep.counts


def test_detection_messages(tmp_path: Path):
    with pytest.raises(TvauError) as err:
        detect_layout(tmp_path)
    assert err.value.problem == (
        "cannot tell the layout: no Scene{N}/ folders or split lists (UBnormal), no training/ or testing/ "
        "(ShanghaiTech)"
    )
    assert err.value.fix == (
        "pass the UBnormal root (holding Scene1..Scene29) or the ShanghaiTech root (holding training/ and testing/)"
    )
    (tmp_path / "Scene1").mkdir()
    (tmp_path / "testing").mkdir()
    with pytest.raises(TvauError) as err:
        detect_layout(tmp_path)
    assert err.value.problem == (
        "the root holds both UBnormal (Scene*/ or split lists) and ShanghaiTech (training/, testing/) folders"
    )


class _ToySource:
    def __init__(self, root: str | Path) -> None:
        self.layout, self.root = "toyset", str(root)


def test_detection_and_opening_read_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    toy = dataclasses.replace(
        SOURCES[0],
        name="toyset",
        family="TY",
        title="Toy",
        detect=lambda root: (root / "toy.txt").is_file(),
        absent="no toy.txt",
        root_hint="holding toy.txt",
        open=_ToySource,
    )
    monkeypatch.setattr(registry, "SOURCES", (*SOURCES, toy))
    (tmp_path / "toy" / "toy.txt").parent.mkdir()
    (tmp_path / "toy" / "toy.txt").write_text("")
    assert detect_layout(tmp_path / "toy") == "toyset"
    assert isinstance(open_source(tmp_path / "toy"), _ToySource)
    with pytest.raises(TvauError) as err:
        detect_layout(tmp_path)
    assert err.value.problem.endswith(", no toy.txt (Toy)")
    assert err.value.fix.endswith(
        ", the ShanghaiTech root (holding training/ and testing/) or the Toy root (holding toy.txt)"
    )


def test_in_words():
    assert in_words([], "and") == ""
    assert in_words(["A"], "or") == "A"
    assert in_words(["A", "B"], "nor") == "A nor B"
    assert in_words(["A", "B", "C"], "and") == "A, B and C"


def test_card_source_sections_come_from_the_registry(tmp_path: Path):
    records = build_records()
    for v in records["videos"][::2]:
        v["source"] = "shanghaitech"
    card = (export_fixture(tmp_path, records, check=False).out / "README.md").read_text(encoding="utf-8")
    assert "pretty_name: ShanghaiTech-FG + UBnormal-FG (T-VAU" in card
    assert "annotations for ShanghaiTech Campus and UBnormal, built" in card
    assert "`source` | `string` | `ubnormal` or `shanghaitech` |" in card
    for s in SOURCES:
        assert f"- **{s.full_title}:** {s.url}. {s.video_path_note} {s.licence}\n" in card
        assert f"- {s.limitation}\n" in card
        assert s.citation + "\n" in card
    assert (
        "Splits are the source dataset's own splits (anomaly types are disjoint across UBnormal's splits)."
        in card
    )


def test_leaderboard_families_and_columns_come_from_the_registry():
    from tvau_bench.leaderboard.layouts import DIALOGUE
    from tvau_bench.leaderboard.store import FAMILIES, dataset_family

    assert list(FAMILIES.items()) == [(s.name, s.family) for s in by_family()]
    assert [s.family for s in by_family()] == ["ST", "UB"]  # the paper's column order
    assert DIALOGUE.headers == [
        "Method",
        "Size ↓",
        "Target (ST) ↑",
        "Trajectory (ST) ↑",
        "Yes/No (ST) ↑",
        "Target (UB) ↑",
        "Trajectory (UB) ↑",
        "Yes/No (UB) ↑",
    ]
    assert DIALOGUE.caption.endswith("on ShanghaiTech (ST) and UBnormal (UB).")
    assert all(c.in_paper for c in DIALOGUE.columns)
    for s in SOURCES:
        assert dataset_family(f"synthetic-{s.name}") == s.family
        assert {c.family for c in DIALOGUE.columns if c.header.endswith(f"({s.family}) ↑")} == {s.family}


def test_a_family_the_paper_does_not_report_prints_dashes():
    """A new source adds dialogue columns the paper's reported rows lack: they print "--", not an error."""
    from tvau_bench.leaderboard.layouts import DIALOGUE, Column
    from tvau_bench.leaderboard.render import build_table
    from tvau_bench.leaderboard.reported import parse_reported
    from tvau_bench.metrics import suite

    new_columns = [
        Column(m.header("TY"), kind=m.scale, metric=m.key, family="TY", in_paper=False)
        for m in suite.paper_order()
    ]
    layout = dataclasses.replace(DIALOGUE, columns=(*DIALOGUE.columns, *new_columns))
    text = (Path(__file__).resolve().parents[1] / "leaderboard" / "reported" / "dialogue.csv").read_text(
        encoding="utf-8"
    )
    table = build_table(layout, parse_reported(text, layout))
    assert table.rows and all(r.cells[c.header].text == "--" for r in table.rows for c in new_columns)
    # a family the table does report must still be complete in every row
    lines = text.splitlines(keepends=True)
    dropped = "".join(line for line in lines if not line.startswith("Qwen2.5-VL (zero-shot),Target (UB)"))
    with pytest.raises(
        TvauError, match=r"row 'Qwen2.5-VL \(zero-shot\)' lacks columns \['Target \(UB\) ↑'\]"
    ):
        parse_reported(dropped, layout)
    with pytest.raises(TvauError, match=r"column 'Target \(TY\) ↑' is not in the paper's table"):
        parse_reported(text + "Qwen2.5-VL (zero-shot),Target (TY) ↑,1.00,reported,s\n", layout)
