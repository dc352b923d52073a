"""The benchmark as an lmms-eval task: the protocol's frames, exemplar, questions and scoring, from this package.

``tasks/`` is the folder to pass as ``lmms-eval --include_path``: task YAMLs whose functions live in
:mod:`.task` (inputs built by :mod:`.inputs` from the harness), and :mod:`.convert` turns a ``--log_samples``
file into a ``tvau-bench submit`` predictions file after checking the protocol evidence the task logged.
"""

from __future__ import annotations

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent / "tasks"


def tasks_dir() -> Path:
    """The absolute folder of the shipped task YAMLs (what ``--include_path`` takes)."""
    return TASKS_DIR
