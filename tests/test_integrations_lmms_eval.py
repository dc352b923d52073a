"""The lmms-eval task: same frames, messages and exemplar as a `tvau-bench run`, same numbers as `submit`.

The harness side is a real run (a recording adapter that sees the runner's message lists and pixels); the task
side is fed the rows of the shared tiny export as lmms-eval loads them (`datasets.load_dataset`). The last
tests run lmms-eval itself where it is importable (here or through ``$TVAU_LMMS_EVAL_PYTHON``).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import datasets
import numpy as np
import pytest
import yaml

from tvau_bench._io import iter_jsonl, read_json, write_jsonl
from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.harness.adapters.base import Adapter, SampleContext
from tvau_bench.harness.messages import gold_answers, turn_kinds
from tvau_bench.harness.model_config import DEFAULT_GENERATION, model_config_from_dict
from tvau_bench.harness.runner import RunOptions, run, submit
from tvau_bench.hub.features import features_for
from tvau_bench.integrations.lmms_eval import task, tasks_dir
from tvau_bench.integrations.lmms_eval.convert import convert, submit_checked, write_predictions
from tvau_bench.integrations.lmms_eval.inputs import TURN_FIELD
from tvau_bench.metrics import suite

# Every dialogue metric and its interval (from the one metric table), plus the run's identity and counts.
RESULT_KEYS = (
    *(k for m in suite.DIALOGUE for k in (m.key, m.ci_key)),
    "unknown_rate",
    "n_samples",
    "n_abnormal",
    "signature",
    "fingerprint",
)


def answer(sample_id: str, kind: str) -> str:
    """A deterministic answer that differs per sample and turn (some right, some wrong)."""
    if kind == "yes_no":
        return "Yes, there is." if sample_id.endswith(("1", "2", "3")) else "No."
    return f"A person moving toward the right in clip {sample_id[-1]}."


class Recorder(Adapter):
    """Records the message list (with pixels) the runner shows at every turn; answers with :func:`answer`."""

    needs_images = True

    def __init__(self, config) -> None:
        super().__init__(config)
        self.seen: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def generate(self, messages: Sequence[dict[str, Any]], ctx: SampleContext) -> str:
        self.seen[(ctx.sample["sample_id"], ctx.kind)] = list(messages)
        return answer(ctx.sample["sample_id"], ctx.kind)


def harness_run(bench: Path, out: Path, history: str) -> tuple[Recorder, dict[str, Any]]:
    config = model_config_from_dict({"name": "recorder", "adapter": "openai", "shots": 1})
    adapter = Recorder(config)
    opts = RunOptions(
        dataset=str(bench / "hub"), out=out, history=history, video_root=bench / "ubnormal", shots=1
    )
    return adapter, run(config, opts, adapter=adapter)


@pytest.fixture(scope="module")
def docs(tiny_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The test split's rows exactly as lmms-eval loads them (dataset_path + dataset_name + test_split)."""
    cache = tmp_path_factory.mktemp("lmms-datasets-cache")
    return list(datasets.load_dataset(str(tiny_bench / "hub"), "samples", split="test", cache_dir=str(cache)))


def kwargs_for(bench: Path, history: str) -> dict[str, Any]:
    """The task YAML's lmms_eval_specific_kwargs (as lmms-eval resolves the ``default`` entry)."""
    return {
        "tvau_dataset": str(bench / "hub"),
        "split": "test",
        "history": history,
        "max_side": 448,
        "exemplar_seed": 0,
        "video_root": str(bench / "ubnormal"),
    }


def assert_same_messages(chat: list[dict[str, Any]], harness: list[dict[str, Any]]) -> None:
    """Same roles, same texts, same images (pixel-identical), in the same order."""
    assert [m["role"] for m in chat] == [m["role"] for m in harness]
    for got, want in zip(chat, harness, strict=True):
        assert [p["type"] for p in got["content"]] == [p["type"] for p in want["content"]]
        for g, w in zip(got["content"], want["content"], strict=True):
            if w["type"] == "text":
                assert g["text"] == w["text"]
            else:
                pixels = np.asarray(g["url"])
                assert pixels.dtype == w["image"].dtype and pixels.shape == w["image"].shape
                assert np.array_equal(pixels, w["image"])


def test_own_history_rounds_match_the_harness(tiny_bench: Path, docs, tmp_path: Path) -> None:
    recorder, results = harness_run(tiny_bench, tmp_path / "run", "own")
    rows = {r["sample_id"]: r for _, r in iter_jsonl(tmp_path / "run" / "samples.jsonl")}
    kwargs = kwargs_for(tiny_bench, "own")
    assert len(docs) == len(rows) == 5
    for doc in docs:
        sid, kinds = doc["sample_id"], turn_kinds(doc)
        own = [answer(sid, k) for k in kinds]
        first = task.doc_to_messages(doc, lmms_eval_specific_kwargs=kwargs)
        assert_same_messages(first, recorder.seen[(sid, kinds[0])])
        for r in range(1, len(kinds)):
            msgs, terminal, prev, _ = task.doc_to_messages(
                doc, lmms_eval_specific_kwargs=kwargs, round_idx=r, previous_output=own[:r]
            )
            assert not terminal and prev == own[:r]
            assert_same_messages(msgs, recorder.seen[(sid, kinds[r])])
        assert task.doc_to_messages(doc, kwargs, round_idx=len(kinds), previous_output=own)[1] is True
        # the evidence the task logs is what the run's log row holds
        record = task.process_results(doc, [own])["tvau_yes_no_accuracy"]
        (ev,) = [
            e for e in record["evidence"] if e["settings"]["history"] == "own" and e["rendering"] == "chat"
        ]
        assert ev["fingerprint"] == results["fingerprint"] == rows[sid]["fingerprint"]
        assert ev["input_hash"] == rows[sid]["input_hash"]
        assert ev["frames_sha256"] == rows[sid]["frames_sha256"]
        assert ev["rendering"] == "chat" and ev["exemplar"] == results["exemplar"]
        assert [t["raw"] for t in record["turns"]] == own


def test_gold_history_turn_docs_match_the_harness(tiny_bench: Path, docs, tmp_path: Path) -> None:
    recorder, results = harness_run(tiny_bench, tmp_path / "run", "gold")
    turn_docs = list(
        task.process_docs_turns(datasets.Dataset.from_list(docs, features=features_for("samples")))
    )
    assert len(turn_docs) == sum(len(turn_kinds(d)) for d in docs) == len(recorder.seen)
    kwargs = kwargs_for(tiny_bench, "gold")
    for doc in turn_docs:
        kind = turn_kinds(doc)[doc[TURN_FIELD]]
        assert_same_messages(task.doc_to_messages(doc, kwargs), recorder.seen[(doc["sample_id"], kind)])
        assert task.doc_to_target(doc) == gold_answers(task.sample_from_doc(doc))[kind]
        ev = task.process_results(doc, ["x"])["tvau_target_bleu4"]["evidence"]
        assert results["fingerprint"] in {e["fingerprint"] for e in ev}


def test_simple_models_get_the_same_frames_and_texts_flattened(
    tiny_bench: Path, docs, tmp_path: Path
) -> None:
    recorder, _ = harness_run(tiny_bench, tmp_path / "run", "own")
    kwargs = kwargs_for(tiny_bench, "own")
    doc = next(d for d in docs if d["label"] == "Yes")
    sid = doc["sample_id"]
    want = recorder.seen[(sid, "yes_no")]
    images = task.doc_to_visual(doc, kwargs)
    harness_images = [p["image"] for m in want for p in m["content"] if p["type"] == "image"]
    assert len(images) == len(harness_images) == 16
    assert all(np.array_equal(np.asarray(a), b) for a, b in zip(images, harness_images, strict=True))
    text = task.doc_to_text(doc, kwargs)
    texts = [p["text"] for m in want for p in m["content"] if p["type"] == "text"]
    pos = 0
    for t in texts:  # every protocol text, in order
        pos = text.index(t, pos) + len(t)
    visuals, text2, terminal, _, _ = task.doc_to_text(
        doc, kwargs, previous_output=[answer(sid, "yes_no")], round_idx=1
    )
    assert not terminal and len(visuals) == 16 and answer(sid, "yes_no") in text2
    evidence = task.process_results(doc, [["Yes"]])["tvau_yes_no_accuracy"]["evidence"]
    assert "flattened" in {e["rendering"] for e in evidence}


def test_a_doc_from_another_dataset_is_refused(tiny_bench: Path, docs) -> None:
    doc = {**docs[0], "frame_indices": [i + 1 for i in docs[0]["frame_indices"]]}
    with pytest.raises(TvauError, match="differs from the record"):
        task.doc_to_messages(doc, kwargs_for(tiny_bench, "own"))
    with pytest.raises(TvauError, match="tvau_dataset"):
        task.doc_to_messages(docs[0], {"history": "own"})


# ------------------------------------------------------------------------------------------ logs and scores


def fake_log(docs: list[dict[str, Any]], kwargs: dict[str, Any], path: Path, rendering: str = "chat") -> Path:
    """A samples JSONL in the shape `lmms-eval --log_samples` writes (doc and arguments popped)."""
    lines = []
    for i, doc in enumerate(docs):
        if rendering == "chat":
            task.doc_to_messages(doc, kwargs)
        else:
            task.doc_to_visual(doc, kwargs)
        own = [answer(doc["sample_id"], k) for k in turn_kinds(doc)]
        metrics = task.process_results(doc, [own])
        # a real log holds the evidence of this task only (one task per process)
        for rec in metrics.values():
            rec["evidence"] = [
                e
                for e in rec["evidence"]
                if e["rendering"] == rendering and e["settings"]["history"] == kwargs["history"]
            ]
        lines.append({"doc_id": i, "target": "Yes", "filtered_resps": own, "doc_hash": "0" * 64, **metrics})
    write_jsonl(path, lines)
    return path


def submitted(bench: Path, out: Path, history: str = "own") -> dict[str, Any]:
    """`tvau-bench submit` of the same answers, written by hand."""
    rows = []
    for s in (json.loads(line) for line in (bench / "ann" / "samples.jsonl").open()):
        if s["split"] != "test":
            continue
        kinds = turn_kinds(s)
        rows.append(
            {
                "sample_id": s["sample_id"],
                "answers": {
                    k: (answer(s["sample_id"], k) if k in kinds else None)
                    for k in ("yes_no", "target", "trajectory")
                },
            }
        )
    write_jsonl(out / "hand.jsonl", rows)
    opts = RunOptions(dataset=str(bench / "hub"), out=out / "hand", history=history, shots=1)
    return submit(out / "hand.jsonl", opts, name="hand")


def test_converted_log_scores_like_submit(tiny_bench: Path, docs, tmp_path: Path) -> None:
    log = fake_log(docs, kwargs_for(tiny_bench, "own"), tmp_path / "log.jsonl")
    conv = convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    write_predictions(tmp_path / "pred.jsonl", conv.predictions)
    via_lmms = submit_checked(conv, tmp_path / "pred.jsonl", tmp_path / "lmms", name="hand")
    by_hand = submitted(tiny_bench, tmp_path)
    assert {k: via_lmms[k] for k in RESULT_KEYS} == {k: by_hand[k] for k in RESULT_KEYS}
    assert via_lmms["complete"] and via_lmms["generation"] == DEFAULT_GENERATION
    # lmms-eval's own aggregation of the same records gives the same numbers
    records = [r["tvau_yes_no_accuracy"] for _, r in iter_jsonl(log)]
    assert task.aggregate_yes_no_accuracy(records) == by_hand["yes_no_accuracy"]
    assert task.aggregate_target_bleu4(records) == by_hand["target_bleu4"]
    assert task.aggregate_trajectory_bleu4(records) == by_hand["trajectory_bleu4"]
    assert 0 < by_hand["yes_no_accuracy"] < 100 and by_hand["target_bleu4"] > 0


def test_gold_turn_records_merge_and_submit_under_gold(tiny_bench: Path, docs, tmp_path: Path) -> None:
    kwargs = kwargs_for(tiny_bench, "gold")
    turn_docs = list(
        task.process_docs_turns(datasets.Dataset.from_list(docs, features=features_for("samples")))
    )
    lines = []
    for i, doc in enumerate(turn_docs):
        task.doc_to_messages(doc, kwargs)
        kind = turn_kinds(doc)[doc[TURN_FIELD]]
        metrics = task.process_results(doc, [answer(doc["sample_id"], kind)])
        for rec in metrics.values():
            rec["evidence"] = [e for e in rec["evidence"] if e["settings"]["history"] == "gold"]
        lines.append({"doc_id": i, **metrics})
    write_jsonl(tmp_path / "log.jsonl", lines)
    conv = convert(tmp_path / "log.jsonl", str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    assert conv.settings.history == "gold"
    write_predictions(tmp_path / "pred.jsonl", conv.predictions)
    via_lmms = submit_checked(conv, tmp_path / "pred.jsonl", tmp_path / "lmms", name="hand")
    by_hand = submitted(tiny_bench, tmp_path, history="gold")
    assert {k: via_lmms[k] for k in RESULT_KEYS} == {k: by_hand[k] for k in RESULT_KEYS}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("fingerprint", "the protocol"),
        ("input_hash", "the message list"),
        ("frames_sha256", "decoded pixels"),
        ("exemplar", "exemplar"),
    ],
)
def test_tampered_evidence_is_refused(tiny_bench: Path, docs, tmp_path: Path, key: str, message: str) -> None:
    log = fake_log(docs, kwargs_for(tiny_bench, "own"), tmp_path / "log.jsonl")
    lines = [r for _, r in iter_jsonl(log)]
    for metric in task.METRICS:
        lines[2][metric]["evidence"][0][key] = "f" * 64
    write_jsonl(log, lines)
    with pytest.raises(TvauError, match=message) as err:
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    assert err.value.line == 3 and err.value.field == f"evidence.{key}"


def test_other_source_pixels_are_refused(tiny_bench: Path, docs, tmp_path: Path) -> None:
    log = fake_log(docs, kwargs_for(tiny_bench, "own"), tmp_path / "log.jsonl")
    root = tmp_path / "source"
    shutil.copytree(tiny_bench / "ubnormal", root)
    video = next(root.rglob(f"{docs[0]['video_id']}.mp4"))
    other = next(p for p in root.rglob("*.mp4") if p.stem != docs[0]["video_id"])
    shutil.copyfile(other, video)
    with pytest.raises(TvauError, match="decoded pixels"):
        convert(log, str(tiny_bench / "hub"), root)


def test_flattened_and_evidence_free_logs_are_refused(tiny_bench: Path, docs, tmp_path: Path) -> None:
    log = fake_log(docs, kwargs_for(tiny_bench, "own"), tmp_path / "flat.jsonl", rendering="flattened")
    with pytest.raises(TvauError, match="flattened transcript"):
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    lines = [r for _, r in iter_jsonl(log)]
    for metric in task.METRICS:
        lines[0][metric]["evidence"] = []
    write_jsonl(log, lines)
    with pytest.raises(TvauError, match="without evidence"):
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    write_jsonl(log, [{"doc_id": 0, "exact_match": 1.0}])
    with pytest.raises(TvauError, match="not a sample of a tvau"):
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")


def test_missing_samples_need_allow_missing(tiny_bench: Path, docs, tmp_path: Path) -> None:
    log = fake_log(docs[:3], kwargs_for(tiny_bench, "own"), tmp_path / "log.jsonl")
    with pytest.raises(TvauError, match="2 of 5 scored samples"):
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    conv = convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal", allow_missing=True)
    assert len(conv.predictions) == 3 and len(conv.missing) == 2


# -------------------------------------------------------------------------------------------------- CLI, YAML


def test_cli_prints_the_include_path_and_converts(tiny_bench: Path, docs, tmp_path: Path, capsys) -> None:
    assert main(["integrations", "lmms-eval"]) == 0
    out = capsys.readouterr().out
    include = Path(out.splitlines()[0].split(": ", 1)[1])
    assert include.is_absolute() and include == tasks_dir() and (include / "tvau_ubnormal_fg.yaml").is_file()
    assert f"--include_path {include} --tasks tvau_ubnormal_fg" in out and "--log_samples" in out

    assert (
        main(
            [
                "integrations",
                "lmms-eval",
                "--dataset",
                str(tiny_bench / "hub"),
                "--tasks-out",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    written = yaml.load((tmp_path / "t" / "tvau_ubnormal_fg_gold.yaml").read_text(), Loader=_TagLoader)
    assert written["dataset_path"] == str((tiny_bench / "hub").resolve())
    assert written["lmms_eval_specific_kwargs"]["default"]["tvau_dataset"] == written["dataset_path"]
    assert (tmp_path / "t" / "utils.py").read_text() == (tasks_dir() / "utils.py").read_text()

    log = fake_log(docs, kwargs_for(tiny_bench, "own"), tmp_path / "log.jsonl")
    args = ["integrations", "lmms-eval-convert", str(log), "--dataset", str(tiny_bench / "hub")]
    args += ["--video-root", str(tiny_bench / "ubnormal"), "--out", str(tmp_path / "pred.jsonl")]
    assert main([*args, "--submit", str(tmp_path / "run"), "--name", "mine"]) == 0
    assert read_json(tmp_path / "run" / "results.json")["model"]["name"] == "mine"
    capsys.readouterr()
    assert main(args) == 0
    assert "tvau-bench submit" in capsys.readouterr().out
    assert (
        main(
            [
                "integrations",
                "lmms-eval-convert",
                str(log),
                "--dataset",
                "tvau/none",
                "--video-root",
                str(tmp_path),
                "--out",
                str(tmp_path / "p"),
            ]
        )
        == 2
    )


class _TagLoader(yaml.SafeLoader):
    """Reads the task YAMLs with ``!function X`` as the string ``X``."""


_TagLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def test_shipped_task_yamls_name_package_functions() -> None:
    import importlib.util as iu

    spec = iu.spec_from_file_location("tvau_task_utils", tasks_dir() / "utils.py")
    utils = iu.module_from_spec(spec)
    spec.loader.exec_module(utils)
    template = yaml.load((tasks_dir() / "_tvau_template_yaml").read_text(), Loader=_TagLoader)
    gen = template["generation_kwargs"]
    assert {k: gen[k] for k in ("temperature", "top_p", "max_new_tokens")} == {
        k: DEFAULT_GENERATION[k] for k in ("temperature", "top_p", "max_new_tokens")
    }
    assert [m["metric"] for m in template["metric_list"]] == list(task.METRICS)
    names = []
    for path in sorted(tasks_dir().glob("*.yaml")):
        cfg = {**template, **yaml.load(path.read_text(), Loader=_TagLoader)}
        assert (
            cfg["task"] == path.stem
            and cfg["dataset_path"] == cfg["lmms_eval_specific_kwargs"]["default"]["tvau_dataset"]
        )
        gold = cfg["task"].endswith("_gold")
        assert cfg["output_type"] == ("generate_until" if gold else "generate_until_multi_round")
        assert cfg["lmms_eval_specific_kwargs"]["default"]["history"] == ("gold" if gold else "own")
        names += [v for v in cfg.values() if isinstance(v, str) and v.startswith("utils.")]
        names += [m["aggregation"] for m in cfg["metric_list"]]
    for name in set(names):
        fn = getattr(utils, name.split(".", 1)[1])
        assert fn is getattr(task, fn.__name__)  # one implementation: the package's


# ------------------------------------------------------------------------------------------ lmms-eval itself


def _lmms_python() -> str | None:
    if importlib.util.find_spec("lmms_eval") is not None:
        return sys.executable
    return os.environ.get("TVAU_LMMS_EVAL_PYTHON") or None


LMMS_PYTHON = _lmms_python()
needs_lmms_eval = pytest.mark.skipif(
    LMMS_PYTHON is None,
    reason="lmms-eval is not importable here and $TVAU_LMMS_EVAL_PYTHON names no interpreter that has it "
    "(its PyPI torchvision is a CUDA build that cannot load beside the CPU torch 2.13; see the README)",
)


def _lmms_eval(bench: Path, tasks: Path, out: Path, model: str, model_args: str, task_name: str) -> Path:
    env = {
        **os.environ,
        "TVAU_VIDEO_ROOT": str(bench / "ubnormal"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(out / "hf-cache"),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
        "LMMS_IMAGE_ENCODE_FORMAT": "PNG",
    }
    cmd = [LMMS_PYTHON, "-m", "lmms_eval", "--model", model, "--model_args", model_args]
    cmd += ["--include_path", str(tasks), "--tasks", task_name, "--log_samples", "--output_path", str(out)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    (log,) = out.rglob(f"*_samples_{task_name}.jsonl")
    return log


@pytest.mark.slow
@needs_lmms_eval
def test_lmms_eval_chat_model_gold_task_end_to_end(tiny_bench: Path, docs, tmp_path: Path) -> None:
    """lmms-eval's `openai` chat model against a loopback server: exact messages, admitted, same numbers."""
    sys.path.insert(0, str(Path(__file__).parent))
    from loopback_openai import LoopbackServer

    questions = {"Describe the appearance": "target", "Describe the motion": "trajectory"}

    def respond(body: dict[str, Any]) -> str:
        last = body["messages"][-1]["content"]
        text = last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)
        kind = next((k for q, k in questions.items() if q in text), "yes_no")
        return {"yes_no": "Yes.", "target": "A person walking.", "trajectory": "Moves toward the right."}[
            kind
        ]

    assert (
        main(
            [
                "integrations",
                "lmms-eval",
                "--dataset",
                str(tiny_bench / "hub"),
                "--tasks-out",
                str(tmp_path / "t"),
            ]
        )
        == 0
    )
    with LoopbackServer(respond, check_shape=False) as srv:
        args = f"model=loopback,base_url={srv.url},api_key=x,num_concurrent=1"
        log = _lmms_eval(
            tiny_bench, tmp_path / "t", tmp_path / "out", "openai", args, "tvau_ubnormal_fg_gold"
        )
        bodies = [e.body for e in srv.served()]
    assert len(bodies) == sum(len(turn_kinds(d)) for d in docs)
    # the pixels that reached the server (PNG data URLs) are the harness's capped frames, 8 + 8 per request
    ctx = task.context(kwargs_for(tiny_bench, "gold"))
    harness = {
        np.ascontiguousarray(img).tobytes()
        for d in docs
        for m in ctx.messages(ctx.record(d), 1, [])
        for img in (p.get("image") for p in m["content"])
        if img is not None
    }
    for body in bodies:
        urls = [
            p["image_url"]["url"]
            for m in body["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p.get("type") == "image_url"
        ]
        assert len(urls) == 16
        for url in urls:
            raw = base64.b64decode(url.split(",", 1)[1])
            bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
            assert cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).tobytes() in harness
    roles = {tuple(m["role"] for m in b["messages"] if m["role"] != "system") for b in bodies}
    assert (
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ) in roles  # exemplar dialogue
    conv = convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
    write_predictions(tmp_path / "pred.jsonl", conv.predictions)
    results = submit_checked(conv, tmp_path / "pred.jsonl", tmp_path / "run", name="loopback")
    (lmms_results,) = (tmp_path / "out").rglob("*_results.json")
    reported = read_json(lmms_results)["results"]["tvau_ubnormal_fg_gold"]
    assert reported["tvau_yes_no_accuracy,none"] == pytest.approx(results["yes_no_accuracy"])
    assert reported["tvau_target_bleu4,none"] == pytest.approx(results["target_bleu4"])


@pytest.mark.slow
@needs_lmms_eval
def test_lmms_eval_dummy_model_runs_but_is_not_admitted(tiny_bench: Path, tmp_path: Path) -> None:
    """lmms-eval's offline `dummy` runs the own-history (multi-round) task without looking at any input: it is
    scored by lmms-eval through this package's scorer, and refused at conversion (no evidence of inputs)."""
    tasks = tmp_path / "t"
    assert (
        main(["integrations", "lmms-eval", "--dataset", str(tiny_bench / "hub"), "--tasks-out", str(tasks)])
        == 0
    )
    log = _lmms_eval(tiny_bench, tasks, tmp_path / "out", "dummy", "response=Yes", "tvau_ubnormal_fg")
    records = [r["tvau_yes_no_accuracy"] for _, r in iter_jsonl(log)]
    assert len(records) == 5 and all(r["evidence"] == [] for r in records)
    (lmms_results,) = (tmp_path / "out").rglob("*_results.json")
    reported = read_json(lmms_results)["results"]["tvau_ubnormal_fg"]
    assert reported["tvau_yes_no_accuracy,none"] == pytest.approx(
        task.score_records(records)["yes_no_accuracy"]
    )
    with pytest.raises(TvauError, match="without evidence"):
        convert(log, str(tiny_bench / "hub"), tiny_bench / "ubnormal")
