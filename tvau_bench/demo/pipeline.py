"""``tvau-bench demo``: the whole system on the embedded synthetic default, step by resumable step.

Every step calls the same ``tvau-bench`` commands a user would, so the demo doubles as an end-to-end check of
the command-line contracts. A finished step leaves a marker under ``OUT/.steps``; a rerun (or a run after a
kill) skips it, and every command underneath is itself deterministic, so results do not change.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .. import shipped
from .._io import read_json, write_json
from ..errors import TvauError
from ..metrics import suite
from .steps import Step, StepResult, cli, run_steps

SOURCES = ("ubnormal", "shanghaitech")
# Offline dialogue baselines per source; the AHD is trained on the UBnormal-layout source only.
# The demo's data is synthetic, and its exports say so: a row measured on it must never read as UBnormal's.
# The name keeps the source word, so the leaderboard still files ``ubnormal`` runs under the UB columns.
DIALOGUE_RUNS = {
    "ubnormal": ("majority", "geometry-oracle", "ahd-template"),
    "shanghaitech": ("majority", "geometry-oracle"),
}
DETECT_METHODS = ("ahd", "classical")


def dataset_name(source: str) -> str:
    """The Hub id (and folder name under ``hub/``) of the demo's export of ``source``."""
    return f"tvau/synthetic-{source}-fg"


def hub_dir(hub: Path, source: str) -> Path:
    """Where the demo exports ``source``: ``hub/synthetic-{source}-fg``."""
    return hub / dataset_name(source).split("/", 1)[1]


def demo_steps(out: Path, *, seed: int = 0, ahd_epochs: int = 60) -> list[Step]:
    """The demo's steps, in order, writing everything under ``out``."""
    src, ann, hub = out / "source", out / "annotations", out / "hub"
    ahd, det, runs, board = out / "models" / "ahd", out / "detect", out / "runs", out / "leaderboard"

    def synth() -> dict[str, Any]:
        cli(["synth", "--format", "both", "--out", str(src), "--seed", str(seed)])
        return {
            name: cli(["sources", "info", str(src / name), "--json"], capture_json=True) for name in SOURCES
        }

    def annotate() -> dict[str, Any]:
        result = {}
        for name in SOURCES:
            args = ["annotate", "synthetic", "--source", str(src / name), "--out", str(ann / name), "--json"]
            report = cli(args, capture_json=True)
            truth = str(src / name / "truth.jsonl")
            fidelity = cli(["annotate-eval", str(ann / name), "--truth", truth, "--json"], capture_json=True)
            result[name] = {"report": _brief(report), "fidelity": fidelity}
        return result

    def export() -> dict[str, Any]:
        for name in SOURCES:
            cli(
                ["export", str(ann / name), "--out", str(hub_dir(hub, name)), "--repo-id", dataset_name(name)]
            )
        return {name: str(hub_dir(hub, name)) for name in SOURCES}

    def load() -> dict[str, Any]:
        from ..hub import load as hub_load

        counts: dict[str, Any] = {}
        for name in SOURCES:
            for config in ("samples", "videos", "tracks"):
                ds = hub_load(str(hub_dir(hub, name)), config)
                counts[f"{name}/{config}"] = {split: ds[split].num_rows for split in sorted(ds)}
        return counts

    def train() -> dict[str, Any]:
        # A fixed number of epochs, not a time budget: the weights (and every number after them) are then the
        # same on every run, and a killed training resumes to the same result.
        cli(
            [
                "train",
                "ahd",
                "--source",
                str(src / "ubnormal"),
                "--out",
                str(ahd),
                "--epochs",
                str(ahd_epochs),
            ]
        )
        config = read_json(ahd / "config.json")
        return {"epochs_done": config["epochs_done"], "final_loss": config["loss_history"][-1]}

    def detect() -> dict[str, Any]:
        result = {}
        for method in DETECT_METHODS:
            args = [
                "detect",
                "--source",
                str(src / "ubnormal"),
                "--split",
                "test",
                "--out",
                str(det / method),
            ]
            args += ["--method", method, "--json"] + (["--ckpt", str(ahd)] if method == "ahd" else [])
            result[method] = cli(args, capture_json=True)["metrics"]
        return result

    def dialogue() -> dict[str, Any]:
        result = {}
        for name, rundir in run_dirs(runs):
            source = rundir.parent.name
            dataset, root = str(hub_dir(hub, source)), str(src / source)
            args = ["run", "--model", name, "--dataset", dataset, "--video-root", root]
            if name == "ahd-template":
                args += ["--adapter-arg", f"ckpt={ahd}"]
            cli([*args, "--split", "test", "--shots", "1", "--out", str(rundir)])
            res = read_json(rundir / "results.json")
            keys = [*(m.key for m in suite.DIALOGUE), "n_samples"]
            result[f"{source}/{name}"] = {k: res[k] for k in keys}
        return result

    def leaderboard() -> dict[str, Any]:
        from .publish import admit_runs

        shutil.rmtree(board, ignore_errors=True)
        shutil.copytree(shipped.reported_dir(), board / "reported")  # the paper's rows, rendered beside ours
        admit_runs(out, board)
        return {"files": sorted(p.name for p in board.iterdir() if p.is_file())}

    def figures() -> dict[str, Any]:
        from .figures import write_figures

        return write_figures(out, src / "ubnormal", ahd, runs / "ubnormal" / "ahd-template", out / "figures")

    return [
        Step("synth", "generate the synthetic sources (UBnormal and ShanghaiTech layouts)", synth),
        Step("annotate", "annotate them (three stages, geometric backend) and check fidelity", annotate),
        Step("export", "export Hub-layout Parquet datasets (validated)", export),
        Step("load", "load them back with datasets.load_dataset", load),
        Step("train", "train the CPU AHD (short schedule)", train),
        Step("detect", "detect and score: AHD vs the classical baseline", detect),
        Step("dialogue", "run the one-shot dialogue benchmark with the offline baselines", dialogue),
        Step("leaderboard", "render the leaderboard from the per-sample logs", leaderboard),
        Step("figures", "draw the figures", figures),
    ]


def run_demo(out: Path, *, seed: int = 0, ahd_epochs: int = 60) -> list[StepResult]:
    """Run (or resume) the demo into ``out``; returns each step's summary and writes ``out/summary.json``."""
    out = Path(out)
    settings = {"seed": seed, "ahd_epochs": ahd_epochs}
    settings_path = out / ".steps" / "settings.json"
    if settings_path.exists() and read_json(settings_path) != settings:
        raise TvauError(
            f"this folder holds a demo run with other settings {read_json(settings_path)}",
            path=out,
            fix="use another --out, or delete the folder to start over",
        )
    write_json(settings_path, settings)
    results = run_steps(demo_steps(out, seed=seed, ahd_epochs=ahd_epochs), out / ".steps")
    write_json(out / "summary.json", {r.name: r.summary for r in results})
    return results


def run_dirs(runs: Path) -> list[tuple[str, Path]]:
    """(baseline name, run folder) of every dialogue run: ``runs/{source}/{name}``."""
    return [(name, runs / source / name) for source, names in DIALOGUE_RUNS.items() for name in names]


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of an annotation report worth a summary line (no timings: they differ between runs)."""
    keep = ("counts", "requests", "stages")  # quarantine, cache and per-target verdict figures sit in these
    return {k: report[k] for k in keep if k in report}
