"""The fast lane (`make test-fast`): which -m expressions leave the torch and Ray test files unimported."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import _deselects, _file_marker


class _Config:
    def __init__(self, markexpr: str) -> None:
        self.markexpr = markexpr

    def getoption(self, name: str, default: object = None) -> object:
        assert name == "markexpr"
        return self.markexpr


@pytest.mark.parametrize(
    ("markexpr", "torch", "ray"),
    [
        ("not slow and not torch and not ray", True, True),  # make test-fast
        ("not torch", True, False),
        ("not (torch or ray)", True, True),
        ("", False, False),  # make test: everything
        ("not slow", False, False),  # a torch test might be slow or not: it must be imported to tell
        ("slow", False, False),  # a torch test marked slow is selected
        ("torch", False, False),  # a Ray test could also be marked torch: imported, to be safe
        ("not ray", False, True),
    ],
)
def test_files_are_skipped_only_when_every_test_in_them_would_be_deselected(markexpr, torch, ray):
    assert _deselects(_Config(markexpr), "torch") is torch
    assert _deselects(_Config(markexpr), "ray") is ray


def test_the_marked_files_are_the_models_and_ray_tests():
    tests = Path(__file__).parent
    marked = {p.name: _file_marker(p) for p in tests.glob("test_*.py") if _file_marker(p)}
    assert marked and {m for m in marked.values()} == {"torch", "ray"}
    assert all(name.startswith("test_models_") for name, m in marked.items() if m == "torch")
    assert _file_marker(tests / "test_harness_run.py") is None
