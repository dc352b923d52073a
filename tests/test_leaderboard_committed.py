"""The committed leaderboard (leaderboard/README.md, tables.tex, *.csv) is what its evidence renders to."""

from __future__ import annotations

from pathlib import Path

from tvau_bench.leaderboard.render import render

REPO = Path(__file__).resolve().parents[1]
TEXT_OUTPUTS = ("README.md", "tables.tex", "detection.csv", "dialogue.csv", "ablation.csv")


def test_committed_tables_are_up_to_date(tmp_path):
    # The PNG is left out: its pixels depend on the installed fonts and FreeType, not only on the evidence.
    render(REPO / "leaderboard", tmp_path)
    for name in TEXT_OUTPUTS:
        committed = (REPO / "leaderboard" / name).read_text(encoding="utf-8")
        assert committed == (tmp_path / name).read_text(encoding="utf-8"), (
            f"leaderboard/{name} is stale: run `tvau-bench leaderboard render`"
        )
    assert (REPO / "leaderboard" / "dialogue.png").is_file()
