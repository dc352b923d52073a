"""The results store: admit a run folder after checking it, and read admitted runs back for rendering.

``leaderboard add RUNDIR`` checks, in order: the files are there and parse; every log line has the run-log shape;
the run was made under this package's protocol version; the dataset given has the content the run recorded
(``dataset_sha256``); every line carries the run's fingerprint; the split's samples are all present, once each;
the fingerprint recomputed from the dataset, the prompts and the protocol settings equals the logged one; each line's parsed answers and per-sample scores follow from its raw answers
(``harness.scoring.row_problems``); references, labels and turns match the dataset; and ``results.json``
equals what ``score_rows`` recomputes from the log. Any failure refuses the run, naming the file and line.

An admitted run is copied to ``ROOT/results/{dataset}/{model}/`` with ``evidence.json``: the SHA-256 of each
copied file and a hash chain over the log lines, so that an edit made after admission is caught at render.

Detection runs (``tvau-bench detect`` outputs, :mod:`.detection`) live under ``ROOT/results/{dataset}/detection/``
and are copied, hashed and verified with the same helpers (:func:`store_folder`, :func:`file_hashes`,
:func:`check_hashes`); a dialogue model may therefore not be named ``detection``.

What this cannot catch: a forger who rewrites raw answers *and* every derived field (parsed answers, per-sample
scores, results.json) consistently. Model outputs carry no signature, so such a log is indistinguishable from
a real run of another model; git history and rerunning the baseline configs are the defence there.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._io import canonical_json, read_json, sha256_bytes, sha256_file, write_json
from ..errors import TvauError
from ..harness.adapters import is_oracle_run
from ..harness.protocol import evaluation_set
from ..harness.run_log import LOG, MANIFEST, RESULTS, read_log
from ..metrics import suite
from ..sources.registry import by_family

EVIDENCE = "evidence.json"
DETECTION_DIR = (
    "detection"  # ROOT/results/{dataset}/detection/{name}/ holds detection runs (leaderboard.detection)
)
FAMILIES = {s.name: s.family for s in by_family()}  # source name -> family code, e.g. "ubnormal" -> "UB"

_MANIFEST_KEYS = (
    "fingerprint",
    "protocol_version",
    "protocol",
    "prompts",
    "model",
    "adapter",
    "dataset",
    "split",
)


def _recomputed() -> tuple[str, ...]:
    """results.json fields that score_rows recomputes and that must therefore agree with the log."""
    metrics = (k for m in suite.DIALOGUE for k in (m.key, m.ci_key))
    return ("fingerprint", "n_samples", *metrics, "unknown_rate", "signature")


@dataclass
class StoredRun:
    """An admitted run as rendering needs it: identity, where it came from, and its log rows."""

    path: Path
    model: str
    display_name: str
    size_b: float | None
    dataset: str
    family: str | None
    split: str
    fingerprint: str
    shots: int
    history: str
    rows: list[dict[str, Any]]
    oracle: bool = False  # made by an oracle adapter: a ceiling, never ranked among models


# --- admission ------------------------------------------------------------------------------------------------


def add_run(
    rundir: str | Path,
    *,
    root: str | Path = "leaderboard",
    dataset: str | Path | None = None,
    replace: bool = False,
    partial: bool = False,
) -> Path:
    """Validate ``rundir`` against its dataset and copy it into the store; returns the stored folder.

    A run with unanswered samples (``submit --allow-missing``) is refused unless ``partial``: it is then stored
    and rendered marked partial."""
    from ..harness.dataset import load_benchmark

    rundir = Path(rundir)
    manifest = _read_manifest(rundir)
    if dataset is None:
        # where run.json says the dataset was (older runs: its name); a Hub dataset at the run's commit
        where = manifest.get("dataset_origin") or manifest["dataset"]
        try:
            data = load_benchmark(where, revision=manifest.get("dataset_revision"))
        except TvauError as exc:
            raise TvauError(
                f"cannot open the run's dataset {where!r} to check completeness and fingerprint "
                f"({exc.problem})",
                path=rundir / MANIFEST,
                field="dataset",
                fix="pass --dataset with the dataset folder or Hub repo id the run used",
            ) from None
    else:
        data = load_benchmark(dataset)
    if data.name != manifest["dataset"]:
        raise TvauError(
            f"the run used dataset {manifest['dataset']!r}, not {data.name!r}",
            path=rundir / MANIFEST,
            field="dataset",
            fix="pass the dataset the run used",
        )
    checked = validate_run(rundir, data)
    if checked["n_missing"] and not partial:
        raise TvauError(
            f"partial: {checked['n_missing']} of {checked['n_samples']} samples have no answers "
            "(submitted with --allow-missing, counted wrong)",
            path=rundir / LOG,
            fix="answer every sample and submit again, or pass --partial to admit it marked partial",
        )
    model_slug = slug(manifest["model"]["name"])
    if model_slug == DETECTION_DIR:
        raise TvauError(
            f"a model may not be named {DETECTION_DIR!r}: that folder holds the dataset's detection runs",
            path=rundir / MANIFEST,
            field="model.name",
            fix="rename the model in its config and rerun",
        )
    dest = Path(root) / "results" / slug(manifest["dataset"]) / model_slug
    return store_folder(
        rundir,
        (MANIFEST, LOG, RESULTS),
        dest,
        _evidence(manifest, checked),
        replace=replace,
        what="run of this model on this dataset",
    )


def store_folder(
    src: Path, names: Sequence[str], dest: Path, evidence: dict[str, Any], *, replace: bool, what: str
) -> Path:
    """Copy ``names`` (paths relative to ``src``) to ``dest`` with ``evidence.json``, atomically (one rename).

    ``evidence["files"]`` must hold the hashes of ``names``; a ``dest`` holding other files is kept unless
    ``replace`` (re-adding the very same files is a no-op overwrite)."""
    if dest.exists():
        same = (dest / EVIDENCE).is_file() and read_json(dest / EVIDENCE).get("files") == evidence["files"]
        if not same and not replace:
            raise TvauError(
                f"the store already holds another {what}", path=dest, fix="pass --replace to supersede it"
            )
        shutil.rmtree(dest)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in names:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, tmp / name)
    write_json(tmp / EVIDENCE, evidence)
    tmp.replace(dest)
    return dest


def file_hashes(folder: Path, names: Sequence[str]) -> dict[str, str]:
    """SHA-256 of each file ``names`` (paths relative to ``folder``), keyed by that path."""
    return {name: sha256_file(folder / name) for name in names}


def check_hashes(folder: Path, files: dict[str, str], names: Sequence[str] | None = None) -> None:
    """Each of ``names`` (default: every file of ``files``) must exist and hash as recorded at admission."""
    for name in files if names is None else names:
        if not (folder / name).is_file() or sha256_file(folder / name) != files.get(name):
            raise TvauError(
                f"{name} changed since it was admitted",
                path=folder / name,
                fix="restore it from git, or re-add the original run with `leaderboard add --replace`",
            )


def validate_run(rundir: str | Path, data: Any) -> dict[str, Any]:
    """Every check of :func:`add_run` against ``data`` (a ``BenchmarkData``); returns file hashes and counts."""
    from ..harness.messages import gold_answers, turn_kinds
    from ..harness.protocol import PROTOCOL_VERSION
    from ..harness.scoring import row_problems, score_rows

    rundir = Path(rundir)
    manifest = _read_manifest(rundir)
    log, results_path = rundir / LOG, rundir / RESULTS
    results = read_json(results_path)
    if manifest["protocol_version"] != PROTOCOL_VERSION:
        raise TvauError(
            f"run made under protocol version {manifest['protocol_version']!r}; this package's is "
            f"{PROTOCOL_VERSION!r}",
            path=rundir / MANIFEST,
            field="protocol_version",
            fix="rerun the model with this package version",
        )
    _check_identity(rundir, manifest, data)
    rows = read_log(log, manifest["fingerprint"])
    proto = manifest.get("protocol") or {}
    scored, _ = evaluation_set(
        data.samples,
        manifest["split"],
        proto.get("shots", 0),
        proto.get("exemplar_seed", 0),
        include_unverified=proto.get("include_unverified", False),
    )
    samples = {s["sample_id"]: s for s in scored}
    _check_complete(log, rows, samples)
    _check_fingerprint(rundir, manifest, data)
    prompts = manifest["prompts"]
    for line, row in rows:
        sample = samples[row["sample_id"]]
        want_kinds = turn_kinds(sample)
        problems = row_problems(row)
        if [t["kind"] for t in row["turns"]] != want_kinds:
            problems.append(f"turns {[t['kind'] for t in row['turns']]} but the protocol asks {want_kinds}")
        if row["label"] != sample["label"] or row["video_id"] != sample["video_id"]:
            problems.append("label or video_id differs from the dataset")
        if row["references"] != gold_answers(sample):
            problems.append("references differ from the dataset's answers")
        for turn in row["turns"]:
            if turn["prompt"] != _question(prompts, turn["kind"]):
                problems.append(f"turn {turn['kind']}: prompt differs from the protocol's question")
        if problems:
            raise TvauError(
                "; ".join(problems),
                path=log,
                line=line,
                fix="the log was edited or is corrupt: rerun the model",
            )
    recomputed = score_rows([row for _, row in rows])
    for key in _recomputed():
        if not _same(results.get(key), recomputed.get(key)):
            raise TvauError(
                f"results.json says {results.get(key)!r} but the log gives {recomputed.get(key)!r}",
                path=results_path,
                field=key,
                fix="run `tvau-bench score RUNDIR` to recompute it, or rerun",
            )
    if results.get("model") != manifest["model"]:
        raise TvauError("model differs from run.json", path=results_path, field="model")
    return {
        "files": file_hashes(rundir, (MANIFEST, LOG, RESULTS)),
        "log_chain": log_chain([row for _, row in rows]),
        "n_samples": len(rows),
        "n_missing": sum(1 for _, row in rows if row.get("missing")),
    }


def _check_complete(log: Path, rows: list[tuple[int, dict[str, Any]]], samples: dict[str, Any]) -> None:
    seen: dict[str, int] = {}
    for line, row in rows:
        sid = row["sample_id"]
        if sid in seen:
            raise TvauError(f"sample {sid!r} logged twice (first at line {seen[sid]})", path=log, line=line)
        if sid not in samples:
            raise TvauError(f"sample {sid!r} is not in the dataset split", path=log, line=line)
        seen[sid] = line
    missing = sorted(set(samples) - set(seen))
    if missing:
        raise TvauError(
            f"incomplete: {len(missing)} of {len(samples)} samples missing (first: {missing[0]!r})",
            path=log,
            fix="resume the run (rerun the same command) until every sample is logged; --limit runs are not admitted",
        )


def _check_identity(rundir: Path, manifest: dict[str, Any], data: Any) -> None:
    """The dataset given must have the very content the run was made on (its card and shard hashes)."""
    have = manifest.get("dataset_sha256")
    if have is None:
        raise TvauError(
            "run.json has no dataset_sha256: the run was made by an older tvau-bench, before datasets were "
            "identified by their content",
            path=rundir / MANIFEST,
            field="dataset_sha256",
            fix="rerun the model with this version (`tvau-bench run ... --new-run`)",
        )
    if have != data.identity:
        raise TvauError(
            f"the run was made on dataset content {str(have)[:12]}, but {data.origin or data.name} holds "
            f"{data.identity[:12]}: the dataset changed since the run, or this is another dataset of that name",
            path=rundir / MANIFEST,
            field="dataset_sha256",
            fix="pass --dataset with the exact dataset the run used, or rerun the model on this one",
        )


def _check_fingerprint(rundir: Path, manifest: dict[str, Any], data: Any) -> None:
    """Recompute the fingerprint from this package's prompts and protocol code, the dataset and the settings."""
    from ..harness.protocol import Protocol, fingerprint

    protocol = Protocol.from_dict(manifest["protocol"], path=rundir / MANIFEST)
    if protocol.prompts.as_dict() != manifest["prompts"]:
        raise TvauError(
            "prompts differ from this package's prompt set",
            path=rundir / MANIFEST,
            field="prompts",
            fix="rerun",
        )
    scored, exemplar = evaluation_set(
        data.samples,
        protocol.split,
        protocol.shots,
        protocol.exemplar_seed,
        include_unverified=protocol.include_unverified,
    )
    want = fingerprint(protocol, scored, exemplar, data.identity)
    if want != manifest["fingerprint"]:
        raise TvauError(
            f"fingerprint {manifest['fingerprint'][:12]} does not match {want[:12]}, the protocol fingerprint "
            "recomputed from this package's prompts, the dataset and the run's settings",
            path=rundir / MANIFEST,
            field="fingerprint",
            fix="rerun the model with this package version on this dataset",
        )


def _evidence(manifest: dict[str, Any], checked: dict[str, Any]) -> dict[str, Any]:
    name = manifest["model"]["name"]
    display, size = _baseline_identity(name)
    params = (manifest.get("adapter_info") or {}).get("params")
    if params:  # a trained checkpoint's parameter report (models.params) is its size
        size = params["total"] / 1e9
    return {
        "model": name,
        "display_name": display,
        "size_b": size,
        "dataset": manifest["dataset"],
        "family": dataset_family(manifest["dataset"]),
        "split": manifest["split"],
        "fingerprint": manifest["fingerprint"],
        "shots": manifest["protocol"]["shots"],
        "history": manifest["protocol"]["history"],
        "n_samples": checked["n_samples"],
        "n_missing": checked["n_missing"],
        "files": checked["files"],
        "log_chain": checked["log_chain"],
        "admitted_by": f"tvau-bench {__version__}",
    }


def _baseline_identity(name: str) -> tuple[str, float | None]:
    """Display name and size of a model from ``baselines/NAME.yaml`` when it is one of ours."""
    from ..harness.model_config import load_model_config

    try:
        cfg = load_model_config(name)
    except TvauError:
        return name, None
    return cfg.display_name, cfg.size_b


# --- reading the store ------------------------------------------------------------------------------------------


def stored_runs(root: str | Path = "leaderboard") -> list[StoredRun]:
    """Every admitted run under ``ROOT/results``, each verified against its evidence (sorted by path)."""
    base = Path(root) / "results"
    runs = []
    for ev_path in sorted(base.glob(f"*/*/{EVIDENCE}")):
        runs.append(load_stored(ev_path.parent))
    return runs


def load_stored(folder: str | Path) -> StoredRun:
    """One stored run: its files must hash as at admission, and its lines must chain as at admission."""
    folder = Path(folder)
    ev = read_json(folder / EVIDENCE)
    check_hashes(folder, ev["files"], (MANIFEST, LOG))
    from ..harness.scoring import row_problems

    pairs = read_log(folder / LOG, ev["fingerprint"])
    rows = [row for _, row in pairs]
    if log_chain(rows) != ev["log_chain"] or len(rows) != ev["n_samples"]:
        raise TvauError("log lines do not chain as admitted", path=folder / LOG)
    for line, row in pairs:
        problems = row_problems(row)
        if problems:
            raise TvauError(
                "; ".join(problems), path=folder / LOG, line=line, fix="restore the file from git"
            )
    return StoredRun(
        path=folder,
        model=ev["model"],
        display_name=ev["display_name"],
        size_b=ev["size_b"],
        dataset=ev["dataset"],
        family=ev["family"],
        split=ev["split"],
        fingerprint=ev["fingerprint"],
        shots=ev["shots"],
        history=ev["history"],
        rows=rows,
        oracle=is_oracle_run(read_json(folder / MANIFEST)),
    )


# --- pure helpers ---------------------------------------------------------------------------------------------


def _read_manifest(rundir: Path) -> dict[str, Any]:
    if not rundir.is_dir():
        raise TvauError("run folder not found", path=rundir)
    if (rundir / MANIFEST).is_file() and not (rundir / RESULTS).is_file():  # stopped before its last write
        raise TvauError(
            f"{RESULTS} missing: the run did not finish",
            path=rundir,
            fix="rerun the same `tvau-bench run` (or `submit`) command to resume and finish it",
        )
    for name in (MANIFEST, LOG, RESULTS):
        if not (rundir / name).is_file():
            raise TvauError(f"{name} missing", path=rundir, fix="pass a folder written by `tvau-bench run`")
    manifest = read_json(rundir / MANIFEST)
    missing = [k for k in _MANIFEST_KEYS if k not in manifest]
    if missing:
        raise TvauError(f"lacks {missing}", path=rundir / MANIFEST)
    return manifest


def _question(prompts: dict[str, Any], kind: str) -> str | None:
    questions = prompts.get("questions", prompts)
    return questions.get(kind) if isinstance(questions, dict) else None


def log_chain(rows: list[dict[str, Any]]) -> str:
    """Hash chain over the canonical JSON of the log lines in order: h_i = sha256(h_{i-1} | line_i)."""
    h = ""
    for row in rows:
        h = sha256_bytes(f"{h}|{canonical_json(row)}".encode())
    return h


def slug(text: str) -> str:
    """A folder-safe name: letters, digits, ``.``, ``_``, ``-``; anything else becomes ``-``."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if not out:
        raise TvauError(f"cannot make a folder name of {text!r}")
    return out[:120]


def dataset_family(name: str) -> str | None:
    """The family code (``ST``, ``UB``, ...) of the one registered source the name holds, ``None`` when it
    names none or several."""
    low = name.lower()
    hits = {fam for key, fam in FAMILIES.items() if key in low}
    return hits.pop() if len(hits) == 1 else None


def dataset_group(name: str) -> str:
    """The name without its family word: runs on ``x/ubnormal-fg`` and ``x/shanghaitech-fg`` form one row."""
    low = name.lower()
    for key in FAMILIES:
        i = low.find(key)
        if i >= 0:
            return name[:i] + "*" + name[i + len(key) :]
    return name


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b
