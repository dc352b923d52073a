"""``tvau-bench reproduce TABLE``: one of the paper's tables regenerated from scratch, step by resumable step.

Every step calls the ``tvau-bench`` commands a user would (train ahd → detect → train rae per variant → run each
under the harness's protocol → leaderboard add → render), through the demo's step runner
(:mod:`tvau_bench.demo.steps`): a finished step leaves a marker under ``OUT/.steps`` and a rerun skips it.
Without ``--source`` the embedded synthetic default is generated; without ``--dataset`` the source is annotated
with the geometric ``synthetic`` recipe and exported; without ``--lvlm`` a tiny Qwen2.5-VL is built in code
(random weights, vocabulary from the dataset) and every LVLM-side module is trained from scratch on CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._io import read_json, write_json
from ..demo.steps import Step, StepResult, cli, run_steps
from ..errors import TvauError

TABLES = ("table1", "table2", "table3")
# Table 3's rows in the paper's order: config name -> `train rae` switches.
ABLATIONS = {
    "tvau-wo-ahd": ["--no-ahd"],
    "tvau-wo-rae": ["--no-rae", "--ahd", "{ahd}"],
    "tvau-wo-ahd-rae": ["--no-ahd", "--no-rae"],
    "tvau": ["--ahd", "{ahd}"],
}
# What each table trains and runs under the protocol (dialogue configs) and detects with (detection methods).
TABLE_RUNS = {
    "table1": {"dialogue": (), "detect": ("classical", "ahd-1s", "ahd")},
    "table2": {"dialogue": ("majority", "geometry-oracle", "ahd-template", "tvau"), "detect": ()},
    "table3": {"dialogue": tuple(ABLATIONS), "detect": ("ahd",)},
}


@dataclass(frozen=True)
class Settings:
    """What a reproduction trains with; a folder holds one set of settings (a rerun with others is refused)."""

    seed: int = 0
    ahd_epochs: int = 60
    ahd_steps: int | None = None  # AHD steps per epoch (None: train ahd's default)
    rae_epochs: int = 20  # chosen on the validation split (6 left every variant answering "No")
    rae_lr: float = 2e-3
    # Every answer weighs the same (train rae --loss answer): chosen on the validation split, where the
    # token-mean loss left T-VAU's trajectory answers a few words long.
    rae_loss: str = "answer"
    frames: int | None = 4  # frames per clip fed to the LVLM (None: all 8 the protocol shows)
    frame_side: int = 56
    max_samples: int | None = None
    max_new_tokens: int | None = None  # the T-VAU rows' generation cap (None: their configs', 128)
    device: str = "cpu"


def reproduce_steps(
    table: str,
    out: Path,
    settings: Settings,
    *,
    source: Path | None = None,
    dataset: Path | None = None,
    lvlm: Path | None = None,
) -> list[Step]:
    """The steps of ``table``, in order, writing everything under ``out``."""
    if table not in TABLES:
        raise TvauError(f"unknown table {table!r}", field="TABLE", fix=f"use one of {', '.join(TABLES)}")
    src = Path(source) if source else out / "source" / "ubnormal"
    hub = Path(dataset) if dataset else out / "hub"
    lvlm_dir = Path(lvlm) if lvlm else out / "models" / "lvlm"
    models, det, runs, board = out / "models", out / "detect", out / "runs", out / "leaderboard"
    plan = TABLE_RUNS[table]
    steps: list[Step] = []

    if source is None:

        def synth() -> dict[str, Any]:
            cli(["synth", "--format", "ubnormal", "--out", str(src.parent), "--seed", str(settings.seed)])
            return cli(["sources", "info", str(src), "--json"], capture_json=True)

        steps.append(Step("synth", "generate the synthetic default source (UBnormal layout)", synth))
    if dataset is None:

        def annotate() -> dict[str, Any]:
            ann = out / "annotations"
            cli(
                ["annotate", "synthetic", "--source", str(src), "--out", str(ann), "--json"],
                capture_json=True,
            )
            cli(["export", str(ann), "--out", str(hub), "--repo-id", "tvau/reproduce-fg"])
            return {"dataset": str(hub)}

        steps.append(Step("dataset", "annotate the source and export the benchmark dataset", annotate))
    needs_lvlm = any(n.startswith("tvau") for n in plan["dialogue"])
    if needs_lvlm and lvlm is None:

        def tiny_lvlm() -> dict[str, Any]:
            return {"lvlm": str(build_tiny_lvlm(hub, lvlm_dir, seed=settings.seed))}

        steps.append(Step("lvlm", "build a tiny Qwen2.5-VL in code (random weights)", tiny_lvlm))
    needs_ahd = (
        any(m.startswith("ahd") for m in plan["detect"]) or needs_lvlm or "ahd-template" in plan["dialogue"]
    )
    if needs_ahd:
        steps.append(
            Step(
                "ahd",
                "train the AHD (FT: all training videos)",
                lambda: _train_ahd(src, models / "ahd", settings),
            )
        )
    if "ahd-1s" in plan["detect"]:
        steps.append(
            Step(
                "ahd-1s",
                "train the AHD (1S: normal videos + the one-shot exemplar)",
                lambda: _train_ahd(src, models / "ahd-1s", settings, ["--shots", "1", "--dataset", str(hub)]),
            )
        )
    for method in plan["detect"]:
        steps.append(
            Step(
                f"detect-{method}",
                f"detect and score on the test split: {method}",
                _detect(method, src, models, det),
            )
        )
    for name in plan["dialogue"]:
        if name in ABLATIONS:
            steps.append(
                Step(
                    f"train-{name}",
                    f"train {name} (train rae {' '.join(a for a in ABLATIONS[name] if a != '{ahd}')})",
                    _train_variant(name, hub, lvlm_dir, src, models, settings),
                )
            )
    for name in plan["dialogue"]:
        steps.append(
            Step(
                f"run-{name}",
                f"run {name} under the protocol (test split, one-shot)",
                _run(name, hub, src, models, runs, settings, out / "configs"),
            )
        )

    def admit() -> dict[str, Any]:
        import shutil

        shutil.rmtree(board, ignore_errors=True)
        for name in plan["dialogue"]:
            cli(["leaderboard", "add", str(runs / name), "--root", str(board), "--dataset", str(hub)])
        for method in plan["detect"]:
            cli(
                [
                    "leaderboard",
                    "add",
                    str(det / method),
                    "--root",
                    str(board),
                    "--dataset",
                    _det_dataset(source),
                    "--name",  # the row is the config (ahd-1s), not the detector's method (ahd)
                    method,
                ]
            )
        return {"admitted": [*plan["dialogue"], *plan["detect"]]}

    def render() -> dict[str, Any]:
        from .tables import write_table

        label = _dataset_label(source, dataset)
        return write_table(table, out, plan, dataset_label=label, max_new_tokens=settings.max_new_tokens)

    steps.append(Step("admit", "admit every run to a leaderboard (evidence checked)", admit))
    steps.append(Step("render", f"render {table}.md", render))
    return steps


def run_reproduce(
    table: str,
    out: Path,
    settings: Settings,
    *,
    source: Path | None = None,
    dataset: Path | None = None,
    lvlm: Path | None = None,
    log=print,
) -> list[StepResult]:
    """Run (or resume) the reproduction of ``table`` into ``out``."""
    out = Path(out)
    record = {
        "table": table,
        **asdict(settings),
        "source": str(source) if source else None,
        "dataset": str(dataset) if dataset else None,
        "lvlm": str(lvlm) if lvlm else None,
    }
    path = out / ".steps" / "settings.json"
    if path.exists() and read_json(path) != record:
        raise TvauError(
            f"this folder holds a reproduction with other settings {read_json(path)}",
            path=out,
            fix="use another --out, or delete the folder to start over",
        )
    write_json(path, record)
    steps = reproduce_steps(table, out, settings, source=source, dataset=dataset, lvlm=lvlm)
    results = run_steps(steps, out / ".steps", log=log)
    write_json(out / "summary.json", {r.name: {"seconds": r.seconds, **r.summary} for r in results})
    return results


def build_tiny_lvlm(dataset: Path, folder: Path, *, seed: int = 0) -> Path:
    """A tiny random Qwen2.5-VL whose word vocabulary covers the dataset's dialogues and the protocol prompts."""
    from ..harness.dataset import load_benchmark
    from ..harness.prompts import load_prompt_set
    from ..models.tiny import save_tiny_lvlm

    data = load_benchmark(dataset)
    prompts = load_prompt_set()
    texts = [
        t["question"] + " " + t["answer"] for ss in data.samples.values() for s in ss for t in s["dialogue"]
    ]
    texts += [prompts.intro(n) for n in range(1, 9)] + list(prompts.questions.values())
    return save_tiny_lvlm(folder, texts, seed=seed)


def _train_ahd(src: Path, ckpt: Path, settings: Settings, extra: list[str] | None = None) -> dict[str, Any]:
    args = ["train", "ahd", "--source", str(src), "--out", str(ckpt), "--epochs", str(settings.ahd_epochs)]
    if settings.ahd_steps:
        args += ["--steps-per-epoch", str(settings.ahd_steps)]
    cli([*args, "--seed", str(settings.seed), "--device", settings.device, *(extra or [])])
    cfg = read_json(ckpt / "config.json")
    return {"epochs_done": cfg["epochs_done"], "final_loss": cfg["loss_history"][-1]}


def _detect(method: str, src: Path, models: Path, det: Path):
    def run() -> dict[str, Any]:
        args = ["detect", "--source", str(src), "--split", "test", "--out", str(det / method), "--json"]
        if method == "classical":
            args += ["--method", "classical"]
        else:
            args += ["--method", "ahd", "--ckpt", str(models / method), "--device", "cpu"]
        return cli(args, capture_json=True)["metrics"]

    return run


def _train_variant(name: str, hub: Path, lvlm: Path, src: Path, models: Path, settings: Settings):
    def run() -> dict[str, Any]:
        switches = [a.replace("{ahd}", str(models / "ahd")) for a in ABLATIONS[name]]
        args = ["train", "rae", "--dataset", str(hub), "--lvlm", str(lvlm), "--source", str(src)]
        args += ["--out", str(models / name), *switches, "--epochs", str(settings.rae_epochs)]
        args += ["--lr", str(settings.rae_lr), "--loss", settings.rae_loss]
        args += ["--frame-side", str(settings.frame_side)]
        args += ["--seed", str(settings.seed), "--device", settings.device]
        if settings.frames:
            args += ["--frames", str(settings.frames)]
        if settings.max_samples:
            args += ["--max-samples", str(settings.max_samples)]
        cli(args)
        cfg = read_json(models / name / "config.json")
        return {"variant": cfg["variant"], "params": cfg["params"], "loss_history": cfg["loss_history"]}

    return run


def _run(name: str, hub: Path, src: Path, models: Path, runs: Path, settings: Settings, configs: Path):
    def run() -> dict[str, Any]:
        model = model_config(name, settings, configs) if name in ABLATIONS else name
        args = ["run", "--model", str(model), "--dataset", str(hub), "--video-root", str(src)]
        if name in ABLATIONS:
            args += ["--adapter-arg", f"ckpt={models / name}"]
        elif name == "ahd-template":
            args += ["--adapter-arg", f"ckpt={models / 'ahd'}"]
        cli([*args, "--split", "test", "--out", str(runs / name)])
        res = read_json(runs / name / "results.json")
        keys = ("n_samples", "yes_no_accuracy", "target_bleu4", "trajectory_bleu4")
        return {k: res.get(k) for k in keys}

    return run


def model_config(name: str, settings: Settings, folder: Path) -> str | Path:
    """The model config a T-VAU row runs with: ``baselines/NAME.yaml``, or a copy of it under ``folder`` with
    ``generation.max_new_tokens`` set (it enters the run's fingerprint, so the runs record it)."""
    if settings.max_new_tokens is None:
        return name
    import yaml

    from .. import shipped
    from .._io import atomic_write_text
    from .._yaml import read_yaml

    obj = read_yaml(shipped.baselines_dir() / f"{name}.yaml")
    obj["generation"] = {**(obj.get("generation") or {}), "max_new_tokens": int(settings.max_new_tokens)}
    path = folder / f"{name}.yaml"
    head = f"# baselines/{name}.yaml, max_new_tokens {settings.max_new_tokens} (reproduce --max-new-tokens)\n"
    atomic_write_text(path, head + yaml.safe_dump(obj, sort_keys=False))
    return path


def _det_dataset(source: Path | None) -> str:
    return "synthetic-ubnormal" if source is None else Path(source).name


def _dataset_label(source: Path | None, dataset: Path | None) -> str:
    if source is None and dataset is None:
        return "synthetic default (UBnormal layout, seeded), annotated by the geometric recipe"
    return f"source {source or 'synthetic default'}, dataset {dataset or 'annotated here'}"
