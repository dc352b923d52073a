"""The paper's published numbers (``leaderboard/reported/{table}.csv``), loaded and checked.

The tables ship in the package (``tvau_bench/data/reported/``, see :mod:`tvau_bench.shipped`); a leaderboard
folder may hold its own ``reported/`` copy, which then wins.

One CSV per paper table, one line per cell: ``row,column,value,status,source``. ``value`` is the text exactly as
printed in the paper (``18.580``, ``61.03%``, ``--``), ``status`` is always ``reported`` and ``source`` names the
paper file, table, row and column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .. import shipped
from ..errors import TvauError
from .layouts import LAYOUTS, Layout, parse_cell

FIELDS = ["row", "column", "value", "status", "source"]


@dataclass
class ReportedRow:
    """One published row: the method as printed, its cells by paper header, and each cell's source."""

    method: str
    cells: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def reported_dir(root: str | Path) -> Path:
    """``ROOT/reported`` when the leaderboard folder ROOT has one, else the tables shipped in the package."""
    own = Path(root) / "reported"
    return own if own.is_dir() else shipped.reported_dir()


def load_reported(root: str | Path, key: str) -> list[ReportedRow]:
    """The reported rows of table ``key`` (``detection``, ``dialogue``, ``ablation``), in the paper's order."""
    layout = LAYOUTS[key]
    path = reported_dir(root) / f"{key}.csv"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TvauError(
            "reported table not found",
            path=path,
            fix=f"copy it from {shipped.reported_dir()}, or remove {path.parent} to use the shipped tables",
        ) from None
    return parse_reported(text, layout, path=path)


def parse_reported(text: str, layout: Layout, *, path: str | Path = "<reported>") -> list[ReportedRow]:
    """Parse and check a reported-table CSV: known columns, parsable values, every row complete, status reported."""
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames != FIELDS:
        raise TvauError(f"header must be {','.join(FIELDS)}", path=path, line=1)
    rows: dict[str, ReportedRow] = {}
    for line, rec in enumerate(reader, start=2):
        if rec["status"] != "reported":
            raise TvauError(
                f"status must be 'reported', got {rec['status']!r}", path=path, line=line, field="status"
            )
        try:
            column = layout.column(rec["column"])
        except KeyError:
            raise TvauError(
                f"unknown column {rec['column']!r}",
                path=path,
                line=line,
                fix=f"use one of {layout.headers[1:]}",
            ) from None
        if not column.in_paper:
            raise TvauError(
                f"column {column.header!r} is not in the paper's table (a source family added since)",
                path=path,
                line=line,
                field="column",
                fix="report only the paper's figures here; measured runs fill the other columns",
            )
        try:
            parse_cell(rec["value"], column.kind)
        except ValueError:
            raise TvauError(
                f"unparsable value {rec['value']!r}", path=path, line=line, field="value"
            ) from None
        if not rec["source"].strip():
            raise TvauError("empty source", path=path, line=line, field="source")
        row = rows.setdefault(rec["row"], ReportedRow(rec["row"]))
        if column.header in row.cells:
            raise TvauError(f"duplicate cell {rec['row']!r} / {column.header!r}", path=path, line=line)
        row.cells[column.header] = rec["value"]
        row.sources[column.header] = rec["source"]
    required = [c.header for c in layout.columns if c.in_paper]
    for row in rows.values():
        missing = [h for h in required if h not in row.cells]
        if missing:
            raise TvauError(f"row {row.method!r} lacks columns {missing}", path=path)
    return list(rows.values())
