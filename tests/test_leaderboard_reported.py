"""Acceptance: rendering the reported tables alone reproduces every number of the paper's three tables."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from tvau_bench.errors import TvauError
from tvau_bench.leaderboard.layouts import DIALOGUE, LAYOUTS, Column, format_value, parse_cell
from tvau_bench.leaderboard.render import Cell, _bold_best, render
from tvau_bench.leaderboard.reported import load_reported, parse_reported

REPO = Path(__file__).resolve().parents[1]
PAPER_DIR = REPO.parent / "shared" / "paper"
KEYS = ("detection", "dialogue", "ablation")


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every markdown table (rows of stripped cells, separator lines dropped) whose first header is Method."""
    tables, cur = [], None
    for line in text.splitlines():
        if line.startswith("|") and line.count("|") > 2:
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            cells = [c.strip().strip("|").strip() for c in cells]
            if cur is None:
                cur = []
                tables.append(cur)
            if not set("".join(cells)) <= set("-|"):
                cur.append(cells)
        else:
            cur = None
    return [t for t in tables if t and t[0][0] == "Method"]


@pytest.fixture(scope="module")
def paper_tables() -> dict[str, list[list[str]]]:
    files = sorted(PAPER_DIR.glob("*.txt")) if PAPER_DIR.is_dir() else []
    if not files:
        pytest.skip(f"the paper text is not here ({PAPER_DIR}); it sits beside the clone as ../shared in CI")
    tables = markdown_tables("\n".join(f.read_text(encoding="utf-8") for f in files))
    assert len(tables) == 3, f"expected the paper's three tables, found {len(tables)}"
    return dict(zip(KEYS, tables, strict=True))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """Render with the repository's reported tables and no measured runs."""
    root = tmp_path_factory.mktemp("lb")
    shutil.copytree(REPO / "leaderboard" / "reported", root / "reported")
    render(root)
    return root


def _unbold(text: str) -> str:
    return text.replace("**", "")


def test_paper_headers_match_layouts(paper_tables):
    for key in KEYS:
        assert paper_tables[key][0] == LAYOUTS[key].headers


def test_readme_reproduces_every_paper_cell(paper_tables, rendered):
    ours = markdown_tables((rendered / "README.md").read_text(encoding="utf-8"))
    assert len(ours) == 3
    for key, mine in zip(KEYS, ours, strict=True):
        paper = paper_tables[key]
        assert mine[0] == [*paper[0], "Status"]
        reported = [r for r in mine[1:] if r[-1] == "reported (paper)"]
        assert len(reported) == len(paper) - 1, key
        for prow, mrow in zip(paper[1:], reported, strict=True):
            assert [_unbold(c) for c in mrow[:-1]] == prow, (key, prow[0])


def test_csv_reproduces_every_paper_cell(paper_tables, rendered):
    for key in KEYS:
        rows = list(csv.DictReader((rendered / f"{key}.csv").read_text(encoding="utf-8").splitlines()))
        paper = paper_tables[key]
        assert [r["method"] for r in rows] == [p[0] for p in paper[1:]]
        for prow, row in zip(paper[1:], rows, strict=True):
            assert row["status"] == "reported (paper)"
            assert [row[h] for h in paper[0][1:]] == prow[1:]


def test_latex_reproduces_every_paper_cell(paper_tables, rendered):
    tex = (rendered / "tables.tex").read_text(encoding="utf-8")
    bodies = re.findall(r"\\midrule\n(.*?)\\bottomrule", tex, flags=re.S)
    assert len(bodies) == 3
    for key, body in zip(KEYS, bodies, strict=True):
        lines = [ln for ln in body.strip().splitlines() if ln.endswith(r"\\")]
        paper = paper_tables[key]
        assert len(lines) == len(paper) - 1
        for prow, line in zip(paper[1:], lines, strict=True):
            cells = [c.strip() for c in line[: -len(r"\\")].split(" & ")]
            cells = [
                re.sub(r"\\textbf\{(.*)\}", r"\1", c).replace(r"\%", "%").replace(r"\&", "&") for c in cells
            ]
            assert cells[0] == prow[0] + r"$^\dagger$"
            assert cells[1:] == prow[1:], (key, prow[0])


def test_reported_csv_cells_name_their_source(paper_tables):
    for key in KEYS:
        for row in load_reported(REPO / "leaderboard", key):
            for header, source in row.sources.items():
                assert f"row '{row.method}'" in source and f"column '{header}'" in source
                assert LAYOUTS[key].title in source


def test_best_values_are_bold_in_paper_direction(rendered):
    table = markdown_tables((rendered / "README.md").read_text(encoding="utf-8"))[1]
    header = table[0]
    by_method = {r[0]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert by_method["RAE (Ours)"]["Target (ST) ↑"] == "**62.67**"
    assert by_method["InternVL (one-shot)"]["Target (ST) ↑"] == "55.73"
    assert by_method["Qwen2.5-VL (one-shot)"]["Size ↓"] == "**7B**"  # lower is better
    assert by_method["Idefics2 (one-shot)"]["Size ↓"] == "8B"


def test_bold_ignores_missing_and_ties_all_win():
    col = Column("x", better="higher")
    cells = [Cell("--", None), Cell("2.0", 2.0), Cell("2.0", 2.0), Cell("1.0", 1.0)]
    _bold_best(col, cells)
    assert [c.bold for c in cells] == [False, True, True, False]


def test_parse_and_format_cells():
    assert parse_cell("61.03%", "percent") == 61.03
    assert parse_cell("8299M", "params") == 8299
    assert parse_cell("7B", "size") == 7
    assert parse_cell("--", "number") is None
    assert format_value(61.03, DIALOGUE.column("Yes/No (ST) ↑")) == "61.03%"
    assert format_value(7, DIALOGUE.column("Size ↓")) == "7B"
    assert format_value(None, DIALOGUE.column("Target (ST) ↑")) == "--"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("X,Size ↓,7B,measured,src", "status must be 'reported'"),
        ("X,Nope,7B,reported,src", "unknown column"),
        ("X,Size ↓,seven,reported,src", "unparsable value"),
        ("X,Size ↓,7B,reported,", "empty source"),
    ],
)
def test_reported_csv_rejects_bad_cells(line, message):
    text = "row,column,value,status,source\n" + line + "\n"
    with pytest.raises(TvauError, match=message):
        parse_reported(text, DIALOGUE)


def test_reported_csv_rejects_incomplete_and_duplicate_rows():
    head = "row,column,value,status,source\n"
    with pytest.raises(TvauError, match="lacks columns"):
        parse_reported(head + "X,Size ↓,7B,reported,s\n", DIALOGUE)
    full = "".join(f"X,{h},1.0{'%' if 'Yes' in h else ''},reported,s\n" for h in DIALOGUE.headers[2:])
    with pytest.raises(TvauError, match="duplicate cell"):
        parse_reported(head + "X,Size ↓,7B,reported,s\nX,Size ↓,7B,reported,s\n" + full, DIALOGUE)
