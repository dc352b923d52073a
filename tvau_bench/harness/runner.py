"""Run a model through the protocol on a dataset split, one fsynced log line per sample, resumable.

``RUNDIR`` holds ``run.json`` (what this run is: fingerprint, model, dataset and its content hash, protocol),
``samples.jsonl`` (one line per sample, appended and fsynced as each finishes) and ``results.json`` (recomputed
from the log).
A rerun with the same fingerprint and model skips the samples already logged; a torn last line (a kill
mid-append) is cut off and that sample is run again. A different fingerprint or model refuses to mix unless
``new_run`` is set, which moves the old files to ``RUNDIR/archive/`` first.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._io import append_jsonl, iter_jsonl, read_json, sha256_bytes, sha256_json, write_json
from .._lock import folder_lock
from ..errors import TvauError
from ..progress import progress
from ..schemas import validate
from .adapters import make_adapter
from .adapters.base import Adapter, adapter_view, model_hash, sample_context
from .adapters.replay import ReplayAdapter
from .dataset import BenchmarkData, load_benchmark
from .frames import DEFAULT_MAX_SIDE, FrameReader
from .messages import (
    Clip,
    Message,
    exemplar_messages,
    gold_answers,
    messages_digest,
    pixels_digest,
    query_messages,
    turn_kinds,
)
from .model_config import ModelConfig, model_config_from_dict
from .protocol import PROTOCOL_VERSION, Protocol, evaluation_set, fingerprint, is_verified
from .run_log import LOG, MANIFEST, RESULTS, load_run, unique_rows
from .scoring import parse_answer, sample_scores, score_rows
from .submissions import load_submission


@dataclass
class RunOptions:
    """Command-line choices of ``tvau-bench run`` (``shots=None`` takes the model config's)."""

    dataset: str
    out: Path
    split: str = "test"
    shots: int | None = None
    history: str = "own"
    limit: int | None = None
    video_root: Path | None = None
    new_run: bool = False
    exemplar_seed: int = 0
    max_side: int = DEFAULT_MAX_SIDE
    include_unverified: bool = False
    engine: str = "local"  # or "ray": samples spread over Ray workers (harness/engine_ray.py)
    workers: int = 2
    ray_address: str | None = None


def run(
    config: ModelConfig,
    opts: RunOptions,
    *,
    data: BenchmarkData | None = None,
    adapter: Adapter | None = None,
) -> dict[str, Any]:
    """Run (or resume) ``config`` under ``opts``; returns the results dict also written to results.json.

    The run folder is locked for the whole run: a second process on it is refused at once.
    """
    with folder_lock(opts.out, "run folder"):
        return _run(config, opts, data=data, adapter=adapter)


def submit(
    predictions: str | Path, opts: RunOptions, *, name: str, allow_missing: bool = False
) -> dict[str, Any]:
    """Validate ``predictions`` against the dataset split of ``opts`` and score it through the replay adapter.

    Exactly a :func:`run` with the ``replay`` adapter: same protocol, log and results. ``name`` is the model's
    name on the leaderboard, so it has no default (anonymous submissions would all share one).
    """
    data = load_benchmark(opts.dataset)
    shots = 1 if opts.shots is None else opts.shots
    scored, _ = evaluation_set(
        data.samples, opts.split, shots, opts.exemplar_seed, include_unverified=opts.include_unverified
    )
    submission = load_submission(predictions, [s["sample_id"] for s in scored], allow_missing=allow_missing)
    # The answers' hash is part of the model identity: resubmitting other answers into the same folder
    # refuses to mix them with the logged ones (unless --new-run).
    config = model_config_from_dict(
        {
            "name": name,
            "adapter": "replay",
            "hf_id": None,
            "shots": shots,
            "adapter_args": {"answers_sha256": sha256_json(submission.answers)},
        }
    )
    return run(config, opts, data=data, adapter=ReplayAdapter(config, submission=submission))


def _run(
    config: ModelConfig,
    opts: RunOptions,
    *,
    data: BenchmarkData | None,
    adapter: Adapter | None,
) -> dict[str, Any]:
    t0 = time.monotonic()
    data = data or load_benchmark(opts.dataset)
    protocol = Protocol(
        split=opts.split,
        shots=config.shots if opts.shots is None else opts.shots,
        history=opts.history,
        max_side=opts.max_side,
        exemplar_seed=opts.exemplar_seed,
        generation=config.generation,
        include_unverified=opts.include_unverified,
    )
    samples, exemplar = evaluation_set(
        data.samples,
        opts.split,
        protocol.shots,
        opts.exemplar_seed,
        include_unverified=opts.include_unverified,
    )
    unverified = 0 if opts.include_unverified else sum(not is_verified(s) for s in data.split(opts.split))
    fp = fingerprint(protocol, samples, exemplar, data.identity)
    selected = select_samples(samples, opts.limit)
    if opts.engine == "ray" and adapter is not None:
        raise TvauError("an adapter object cannot be sent to Ray workers", field="engine")
    # Under Ray the workers build their own adapters; this one (construction is cheap: models load in
    # prepare()) gives the run its identity (oracle or not, answer settings).
    adapter = adapter or make_adapter(config)
    manifest = {
        "fingerprint": fp,
        "protocol_version": PROTOCOL_VERSION,
        "protocol": protocol.as_dict(),
        "prompts": protocol.prompts.as_dict(),
        "exemplar": None if exemplar is None else exemplar["sample_id"],
        "model": {"name": config.name, "hf_id": config.hf_id, "revision": config.revision},
        "model_hash": model_hash(config, adapter),
        "adapter": config.adapter,
        "oracle": adapter.is_oracle,
        "dataset": data.name,
        "dataset_sha256": data.identity,
        "dataset_revision": data.revision,
        # where to find it again (`leaderboard add` without --dataset): a Hub id, or a folder's absolute path
        "dataset_origin": data.origin if data.revision else str(Path(data.origin).resolve()),
        "source": data.source,
        "split": opts.split,
        "n_expected": len(samples),
        "n_unverified_excluded": unverified,
        "package_version": __version__,
        "git_commit": git_commit(),
    }
    out = Path(opts.out)
    done = open_rundir(out, manifest, new_run=opts.new_run)
    pending = [s for s in selected if s["sample_id"] not in done]

    root = Path(opts.video_root) if opts.video_root else None
    lock = threading.Lock()
    log = out / LOG

    def sink(row: dict[str, Any]) -> None:
        _append(lock, log, row)

    setup = SampleSetup(protocol, data, exemplar, fp, root, opts.max_side, opts.split)
    if opts.engine == "ray":  # adapters are built inside the workers; the log stays the driver's job
        from .engine_ray import execute_ray

        adapter.close()
        execute_ray(config, setup, pending, sink, out=out, workers=opts.workers, address=opts.ray_address)
    else:
        try:
            one = sample_fn(adapter, setup, pending)
            _record_adapter_info(out, adapter.describe())
            _execute(one, pending, adapter.max_concurrency, sink, desc=config.name)
        finally:
            adapter.close()
    timings = {
        "wall_s": round(time.monotonic() - t0, 3),
        "samples_run": len(pending),
        "samples_skipped": len(selected) - len(pending),
    }
    results = results_from_log(out, timings=timings)
    validate(results, "results", path=str(out / RESULTS))
    write_json(out / RESULTS, results)
    return results


@dataclass(frozen=True)
class SampleSetup:
    """What every sample of a run is judged under (sent as is to each Ray worker)."""

    protocol: Protocol
    data: BenchmarkData
    exemplar: dict[str, Any] | None
    fp: str
    root: Path | None
    max_side: int
    split: str


def sample_fn(adapter: Adapter, setup: SampleSetup, pending: list[dict[str, Any]]):
    """Prepare ``adapter`` for the run and return ``one(sample) -> log row`` (the unit every engine runs)."""
    exemplar, root, data = setup.exemplar, setup.root, setup.data
    reader = None
    if adapter.needs_images:
        if root is None:
            raise TvauError(
                f"adapter {adapter.config.adapter!r} looks at the frames",
                fix="pass --video-root with the source dataset's root",
            )
        reader = FrameReader(root, data.videos, setup.max_side)
        reader.plan((s["video_id"], s["frame_indices"]) for s in pending)
    adapter.exemplar = exemplar
    # Only an oracle may open the source or see the evaluated split's answers.
    adapter.prepare(
        adapter_view(adapter, data, setup.split),
        split=setup.split,
        source_root=root if adapter.is_oracle else None,
    )
    prefix: list[Message] = []
    exemplar_images = None
    if exemplar is not None:
        exemplar_images = reader.read(exemplar["video_id"], exemplar["frame_indices"]) if reader else None
        images = exemplar_images
        clip = Clip(
            exemplar["video_id"], tuple(exemplar["frame_indices"]), None if images is None else tuple(images)
        )
        prefix = exemplar_messages(setup.protocol.prompts, clip, exemplar)

    def one(sample: dict[str, Any]) -> dict[str, Any]:
        images = reader.read(sample["video_id"], sample["frame_indices"]) if reader else None
        row = run_sample(
            adapter,
            setup.protocol,
            prefix,
            sample,
            data.videos.get(sample["video_id"]),
            root,
            images,
            setup.fp,
        )
        if images is not None:  # the pixels this sample was judged on, exemplar included
            row["frames_sha256"] = pixels_digest([*(exemplar_images or []), *images])
        return row

    return one


def run_sample(
    adapter: Adapter,
    protocol: Protocol,
    prefix: list[Message],
    sample: dict[str, Any],
    video: dict[str, Any] | None,
    source_root: Path | None,
    images: list | None,
    fp: str,
) -> dict[str, Any]:
    """Ask every turn of one sample and return its log row (with per-sample scores)."""
    t0 = time.monotonic()
    prompts = protocol.prompts
    clip = Clip(sample["video_id"], tuple(sample["frame_indices"]), None if images is None else tuple(images))
    kinds = turn_kinds(sample)
    gold = gold_answers(sample)
    gold_history = [gold[k] or "" for k in kinds[:-1]]
    input_hash = messages_digest(query_messages(prefix, prompts, clip, kinds, gold_history))
    shown: list[str] = []
    turns = []
    for i, kind in enumerate(kinds):
        messages = query_messages(prefix, prompts, clip, kinds[: i + 1], shown)
        raw = adapter.generate(messages, sample_context(adapter, sample, video, source_root, kind))
        if not isinstance(raw, str):
            raise TvauError(f"adapter {adapter.config.adapter!r} returned {type(raw).__name__}, not text")
        turns.append(
            {"kind": kind, "prompt": prompts.question(kind), "raw": raw, "parsed": parse_answer(kind, raw)}
        )
        shown.append(raw if protocol.history == "own" else gold[kind] or "")
    row = {
        "sample_id": sample["sample_id"],
        "video_id": sample["video_id"],
        "label": sample["label"],
        "fingerprint": fp,
        "input_hash": input_hash,
        "frames_sha256": None if images is None else pixels_digest(images),
        "history": protocol.history,
        "turns": turns,
        "references": gold,
        "scores": sample_scores(turns, gold),
        "elapsed_s": round(time.monotonic() - t0, 4),
    }
    if getattr(adapter, "is_missing", None) and adapter.is_missing(sample["sample_id"]):
        row["missing"] = True
    return row


def select_samples(samples: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """All samples, or the first ``limit`` in a fixed hash order (spread over videos, same for every model)."""
    if limit is None or limit >= len(samples):
        return samples
    if limit < 1:
        raise TvauError(f"--limit must be at least 1, not {limit}", field="limit")
    ordered = sorted(samples, key=lambda s: sha256_bytes(s["sample_id"].encode()))
    return sorted(ordered[:limit], key=lambda s: s["sample_id"])


def open_rundir(out: Path, manifest: dict[str, Any], *, new_run: bool) -> dict[str, dict[str, Any]]:
    """Check RUNDIR against this run, archive it on ``new_run``, and return the rows already logged."""
    out.mkdir(parents=True, exist_ok=True)
    log, man = out / LOG, out / MANIFEST
    if man.is_file() or log.is_file():
        old = read_json(man) if man.is_file() else {}
        same = (
            old.get("fingerprint") == manifest["fingerprint"]
            and old.get("model_hash") == manifest["model_hash"]
        )
        if not same:
            if not new_run:
                what = _difference(old, manifest)
                # name the key that differs: with one fingerprint, only the model config hash tells them apart
                key = "fingerprint" if old.get("fingerprint") != manifest["fingerprint"] else "model_hash"
                raise TvauError(
                    f"holds a run with {what} (model {old.get('model', {}).get('name')!r}, {key} "
                    f"{str(old.get(key))[:12]}; this run: {manifest['model']['name']!r}, "
                    f"{str(manifest[key])[:12]}): refusing to mix them",
                    path=out,
                    fix="use another --out, or pass --new-run to archive the old run and start over",
                )
            _archive(out, old.get("fingerprint") or "unknown")
    if not man.is_file():
        write_json(man, manifest)
    if not log.is_file():
        return {}
    _cut_torn_tail(log)
    pairs = list(iter_jsonl(log))
    for line, row in pairs:
        if row.get("fingerprint") != manifest["fingerprint"]:
            raise TvauError(
                "row has another fingerprint than run.json", path=log, line=line, fix="use --new-run"
            )
    return unique_rows(log, pairs)


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What makes the run in RUNDIR (``old`` run.json) another run than ``new``, in words."""
    if old.get("fingerprint") == new["fingerprint"]:
        return "another model config"
    if "dataset_sha256" not in old:
        return "no dataset identity (made by an older tvau-bench)"
    if old["dataset_sha256"] != new["dataset_sha256"]:
        was, now = str(old["dataset_sha256"])[:12], new["dataset_sha256"][:12]
        return f"other dataset content (sha256 {was}, now {now})"
    return "another protocol fingerprint"


def results_from_log(rundir: str | Path, *, timings: dict[str, Any] | None = None) -> dict[str, Any]:
    """results.json content recomputed from ``samples.jsonl`` and ``run.json`` alone."""
    man, rows = load_run(rundir)
    log = Path(rundir) / LOG
    if not rows:
        raise TvauError("no samples logged yet", path=log, fix="run `tvau-bench run` first")
    unique_rows(log, iter_jsonl(log, tolerate_torn_tail=True))
    results = score_rows(rows)
    if results["fingerprint"] != man["fingerprint"]:
        raise TvauError("log rows and run.json disagree on the fingerprint", path=log)
    if "dataset_sha256" not in man:
        raise TvauError(
            "run.json has no dataset_sha256: the run was made by an older tvau-bench, before datasets were "
            "identified by their content, so its results cannot be tied to a dataset",
            path=Path(rundir) / MANIFEST,
            field="dataset_sha256",
            fix="rerun it with this version (`tvau-bench run ... --new-run` archives the old files)",
        )
    proto = man["protocol"]
    results.update(
        {
            "protocol_version": man["protocol_version"],
            "model": man["model"],
            "adapter": man["adapter"],
            "oracle": bool(man.get("oracle", False)),
            "package_version": man.get("package_version", __version__),
            "git_commit": man.get("git_commit"),
            "dataset": man["dataset"],
            "dataset_sha256": man["dataset_sha256"],
            "dataset_revision": man.get("dataset_revision"),
            "source": man.get("source"),
            "split": man["split"],
            "shots": proto["shots"],
            "history": proto["history"],
            "max_side": proto["max_side"],
            "prompt_set": proto["prompt_set"],
            "generation": proto["generation"],
            "exemplar": man["exemplar"],
            "adapter_info": man.get("adapter_info", {}),
            "n_expected": man["n_expected"],
            "n_unverified_excluded": man.get("n_unverified_excluded", 0),
            # every sample logged *and* answered: a submission's missing samples are logged but unanswered
            "complete": results["n_samples"] == man["n_expected"] and not results["n_missing"],
            "timings": timings or {},
        }
    )
    return results


def git_commit() -> str | None:
    """The package checkout's commit (``None`` outside a git checkout)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def _execute(fn, items: list, workers: int, sink, *, desc: str) -> None:
    """Map ``fn`` over ``items`` with ``workers`` threads, handing each result to ``sink`` as it finishes.

    After a failure no new item starts; the items already running finish and are sunk, then the first error
    is raised. A kill at any moment therefore loses only the items in flight.
    """
    bar = progress(total=len(items), desc=desc, unit="sample")
    try:
        if workers <= 1:
            for item in items:
                sink(fn(item))
                bar.update(1)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(fn, item) for item in items}
            error: BaseException | None = None
            try:
                while futures:
                    finished, futures = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        if fut.cancelled():
                            continue
                        if fut.exception() is not None:
                            if error is None:
                                error = fut.exception()
                                for f in futures:
                                    f.cancel()
                            continue
                        sink(fut.result())
                        bar.update(1)
            except BaseException:  # a failing sink or Ctrl-C: start nothing more, let the pool drain
                for f in futures:
                    f.cancel()
                raise
            if error is not None:
                raise error
    finally:
        bar.close()


def _record_adapter_info(out: Path, info: dict[str, Any]) -> None:
    """Keep the backend details (library versions, served model) of the run's first session in run.json."""
    man = read_json(out / MANIFEST)
    if "adapter_info" not in man:
        write_json(out / MANIFEST, {**man, "adapter_info": info})


def _append(lock: threading.Lock, log: Path, row: dict[str, Any]) -> None:
    with lock:
        append_jsonl(log, row)


def _cut_torn_tail(log: Path) -> None:
    """Drop a last line without its newline (an append cut by a kill), so the next append starts clean."""
    data = log.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with open(log, "r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())


def _archive(out: Path, old_fp: str) -> None:
    dest = out / "archive" / f"{old_fp[:12]}-{int(time.time())}"
    dest.mkdir(parents=True, exist_ok=True)
    for name in (LOG, MANIFEST, RESULTS):
        if (out / name).exists():
            os.replace(out / name, dest / name)
