"""Task YAMLs for a local exported dataset: the shipped tasks with ``dataset_path`` and ``tvau_dataset`` set.

lmms-eval reads ``dataset_path`` with ``datasets.load_dataset`` and has no command-line override for it, so a
local export gets its own include folder: the shipped template and ``utils.py`` copied, the task YAMLs of the
export's source rewritten to name its absolute path (nothing else changes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..._io import atomic_write_text
from ...errors import TvauError
from ...harness.dataset import load_benchmark
from . import tasks_dir

SHARED = ("_tvau_template_yaml", "utils.py")


def write_tasks(dataset: str | Path, out: str | Path) -> tuple[Path, dict[str, str]]:
    """Write the task folder for the exported ``dataset`` under ``out``; returns it and ``{task: dataset}``."""
    folder = Path(dataset).resolve()
    if not folder.is_dir() or not (folder / "README.md").is_file():
        raise TvauError(
            "not an exported dataset folder (no README.md with its configs)",
            path=dataset,
            fix="pass the folder `tvau-bench export` wrote",
        )
    source = load_benchmark(folder).source
    task = f"tvau_{source}_fg"
    shipped = tasks_dir()
    if not (shipped / f"{task}.yaml").is_file():
        raise TvauError(f"no shipped lmms-eval task for source {source!r}", path=dataset)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        shutil.copyfile(shipped / name, out / name)
    for name in (f"{task}.yaml", f"{task}_gold.yaml"):
        atomic_write_text(out / name, _pointed_at((shipped / name).read_text(encoding="utf-8"), str(folder)))
    return out, {task: str(folder)}


def _pointed_at(text: str, dataset: str) -> str:
    """The YAML text with its dataset lines naming ``dataset`` (a JSON string is a YAML string)."""
    lines = []
    for line in text.splitlines():
        key = line.strip().split(":", 1)[0]
        if key in ("dataset_path", "tvau_dataset"):
            line = f"{line.split(':', 1)[0]}: {json.dumps(dataset)}"
        lines.append(line)
    return "\n".join(lines) + "\n"
