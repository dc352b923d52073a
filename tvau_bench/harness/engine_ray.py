"""``run --engine ray``: the samples of a benchmark run spread over Ray actors, same log and results.

Each actor builds its own adapter (a model cannot travel between processes) and runs
:func:`.runner.sample_fn`, the function of the single-process engine; the rows come back to the driver, which
appends and fsyncs each one to ``samples.jsonl`` as it arrives. Resume is therefore unchanged: a rerun skips
every sample already logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._io import canonical_json
from .._ray import connect, map_rows
from ..progress import progress
from .model_config import ModelConfig
from .runner import SampleSetup, _record_adapter_info, sample_fn


class SampleWorker:
    """A Ray actor: one adapter, prepared once, answering every sample it is given."""

    def __init__(self, config: ModelConfig, setup: SampleSetup, pending: list[dict[str, Any]]) -> None:
        from .adapters import make_adapter

        self.samples = {s["sample_id"]: s for s in pending}
        self.adapter = make_adapter(config)
        self.one = sample_fn(self.adapter, setup, pending)
        self.info = canonical_json(self.adapter.describe())

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"row": canonical_json(self.one(self.samples[row["sample_id"]])), "adapter_info": self.info}

    def __del__(self) -> None:
        adapter = getattr(self, "adapter", None)
        if adapter is not None:
            adapter.close()


def execute_ray(
    config: ModelConfig,
    setup: SampleSetup,
    pending: list[dict[str, Any]],
    sink: Callable[[dict[str, Any]], None],
    *,
    out: Path,
    workers: int,
    address: str | None,
) -> None:
    """Run ``pending`` on ``workers`` Ray actors, handing each log row to ``sink`` as it comes back."""
    if not pending:
        return
    connect(address, workers)
    init = {"config": config, "setup": setup, "pending": pending}
    rows = [{"sample_id": s["sample_id"]} for s in pending]
    bar = progress(total=len(rows), desc=f"{config.name} (ray)", unit="sample")
    recorded = False
    try:
        for res in map_rows(SampleWorker, init, rows, workers=workers, num_gpus=_gpus(config)):
            if not recorded:  # the first worker's library versions and served model, as the local engine does
                _record_adapter_info(out, json.loads(res["adapter_info"]))
                recorded = True
            sink(json.loads(res["row"]))
            bar.update(1)
    finally:
        bar.close()


def _gpus(config: ModelConfig) -> float:
    """One GPU per actor for the adapters that load weights in-process (``device`` cuda), else none."""
    return 1 if str(config.adapter_args.get("device", "")).startswith("cuda") else 0
