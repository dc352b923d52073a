"""Every adapter receives the identical message list for the same sample and shots (golden), and the
transformers adapter runs end to end on CPU with a tiny random Qwen2.5-VL built in code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from harness_fixtures import build_bench, records, write_model
from loopback_openai import LoopbackServer

from tvau_bench._io import iter_jsonl, read_json
from tvau_bench.harness.adapters import REGISTRY, adapter_class, make_adapter
from tvau_bench.harness.dataset import load_benchmark
from tvau_bench.harness.messages import messages_json, pixels_digest
from tvau_bench.harness.model_config import load_model_config
from tvau_bench.harness.runner import RunOptions, run

GOLDEN = Path(__file__).parent / "data" / "harness_golden_messages.json"
GOLDEN_SAMPLE = "abnormal_scene_2_scenario_2:8-15:1"


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    data, source = build_bench(base)
    return base, data, source


@pytest.fixture(scope="module")
def tiny_vlm(bench):
    pytest.importorskip("torch")
    from harness_tiny_vlm import build_tiny_vlm

    base, _, _ = bench
    samples, _ = records()
    texts = [d["question"] + " " + d["answer"] for s in samples for d in s["dialogue"]]
    return build_tiny_vlm(base / "tiny-vlm", texts)


def recorded_run(adapter, config, data, source, out, **opts):
    """Run with ``adapter`` and record what its generate() received: messages and pixel digests per call."""
    calls = []
    inner = adapter.generate

    def generate(messages, ctx):
        images = [p["image"] for m in messages for p in m["content"] if p["type"] == "image"]
        pixels = None if any(i is None for i in images) else pixels_digest(images)
        calls.append((ctx.sample["sample_id"], ctx.kind, messages_json(messages), pixels))
        return inner(messages, ctx)

    adapter.generate = generate
    run(config, RunOptions(dataset=str(data), out=out, video_root=source, **opts), adapter=adapter)
    return calls


def configs(base: Path, url: str, tiny: Path, pred: Path) -> dict[str, Path]:
    return {
        "majority": write_model(base / "maj.yaml", "maj", "majority"),
        "geometry-oracle": write_model(base / "oracle.yaml", "oracle", "geometry-oracle"),
        "replay": write_model(
            base / "replay.yaml", "replay", "replay", adapter_args={"predictions": str(pred)}
        ),
        "openai": write_model(
            base / "oa.yaml", "oa", "openai", adapter_args={"base_url": url, "timeout_s": 30}
        ),
        "transformers": write_model(
            base / "tf.yaml",
            "tf",
            "transformers",
            adapter_args={"model_path": str(tiny)},
            generation={"max_new_tokens": 4},
        ),
    }


def test_registry_is_lazy_and_complete():
    assert {
        "openai",
        "transformers",
        "vllm",
        "replay",
        "majority",
        "geometry-oracle",
        "ahd-template",
        "tvau",
    } <= set(REGISTRY)
    assert REGISTRY["tvau"].target == "tvau_bench.models.adapter:TvauAdapter"
    assert REGISTRY["ahd-template"].target == "tvau_bench.models.adapter:AhdTemplateAdapter"
    assert adapter_class("majority").needs_images is False


@pytest.mark.torch  # the transformers adapter on a tiny Qwen2.5-VL
@pytest.mark.parametrize("history", ["gold", "own"])
def test_every_adapter_receives_the_identical_message_list(bench, tiny_vlm, tmp_path, history):
    _base, data, source = bench
    ids = [s["sample_id"] for s in load_benchmark(data).split("test")]
    pred = tmp_path / "pred.jsonl"
    pred.write_text(
        "\n".join(
            json.dumps({"sample_id": i, "answers": {"yes_no": "Yes", "target": "x", "trajectory": "y"}})
            for i in ids
        )
    )
    with LoopbackServer(lambda body: "Yes. A red square.", check_shape=False) as srv:
        paths = configs(tmp_path, srv.url, tiny_vlm, pred)
        seen = {}
        for name, path in paths.items():
            config = load_model_config(path)
            seen[name] = recorded_run(
                make_adapter(config), config, data, source, tmp_path / name, limit=2, history=history
            )
    seen = {name: sorted(calls, key=lambda c: c[:2]) for name, calls in seen.items()}  # concurrency reorders
    reference = seen["majority"]
    assert len({c[0] for c in reference}) == 2 and {c[1] for c in reference} == {
        "yes_no",
        "target",
        "trajectory",
    }
    for name, calls in seen.items():
        assert len(calls) == len(reference), name
        for got, want in zip(calls, reference, strict=True):
            assert got[:2] == want[:2], name
            if history == "gold" or got[1] == "yes_no":  # own history differs by design from turn 2 on
                assert got[2] == want[2], (name, got[0], got[1])
    # adapters that look at frames get exactly the same pixels
    assert [c[3] for c in seen["openai"]] == [c[3] for c in seen["transformers"]]
    assert all(c[3] is not None for c in seen["openai"])


def test_golden_message_list(bench, tmp_path):
    """The exact message list of the last turn of one sample (one-shot, gold history) is frozen in a file:
    any change to prompts or message layout shows here and needs a new prompt-set version."""
    _base, data, source = bench
    config = load_model_config(write_model(tmp_path / "maj.yaml", "maj", "majority"))
    calls = recorded_run(make_adapter(config), config, data, source, tmp_path / "run", history="gold")
    last = [c for c in calls if c[0] == GOLDEN_SAMPLE][-1]
    assert last[1] == "trajectory"
    assert last[2] == json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.torch
def test_transformers_adapter_end_to_end_on_cpu(bench, tiny_vlm, tmp_path):
    _base, data, source = bench
    config = load_model_config(
        write_model(
            tmp_path / "tf.yaml",
            "tiny-qwen",
            "transformers",
            adapter_args={"model_path": str(tiny_vlm)},
            generation={"max_new_tokens": 5},
        )
    )
    adapter = make_adapter(config)
    adapter.load()
    seen = []
    inner = adapter.processor.__class__.__call__

    def spy(self, *args, **kwargs):
        out = inner(self, *args, **kwargs)
        seen.append((len(kwargs.get("images") or []), tuple(out["image_grid_thw"].shape), kwargs["text"][0]))
        return out

    cls = adapter.processor.__class__
    cls.__call__ = spy
    try:
        results = run(
            config,
            RunOptions(dataset=str(data), out=tmp_path / "run", video_root=source, limit=2),
            adapter=adapter,
        )
    finally:
        cls.__call__ = inner
    rows = [r for _, r in iter_jsonl(tmp_path / "run" / "samples.jsonl")]
    assert (
        results["n_samples"] == 2
        and read_json(tmp_path / "run" / "results.json")["adapter"] == "transformers"
    )
    assert all(isinstance(t["raw"], str) for r in rows for t in r["turns"])
    # one-shot: 4 exemplar frames + 4 query frames per request, each image expanded by the chat template
    assert seen and all(n == 8 and grid == (8, 3) for n, grid, _ in seen)
    assert all(
        text.count("<|vision_start|>") == 8 and text.rstrip().endswith("assistant") for *_, text in seen
    )
    assert np.isfinite(results["yes_no_accuracy"])


class _FakeVLLM:
    """Stands in for the ``vllm`` package (not installed on CPU machines): records what the adapter passes."""

    __version__ = "0.0-test"

    def __init__(self):
        self.engine_kwargs = None
        self.chats = []

    def LLM(self, **kwargs):
        self.engine_kwargs = kwargs
        fake = self

        class _Out:
            def __init__(self, text):
                self.outputs = [type("C", (), {"text": text})()]

        class _LLM:
            def chat(self, conversations, params, **kw):
                fake.chats.append((conversations, params, kw))
                return [_Out("Yes. A red square.")]

        return _LLM()

    def SamplingParams(self, **kwargs):
        return kwargs


def test_vllm_adapter_is_import_guarded_and_sends_openai_messages(bench, tmp_path, monkeypatch):
    import sys

    from tvau_bench.errors import TvauError
    from tvau_bench.harness.adapters.openai_adapter import to_openai_messages

    _base, data, source = bench
    config = load_model_config(
        write_model(tmp_path / "v.yaml", "v", "vllm", hf_id="org/model", revision="abc123")
    )
    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails as on a machine without vLLM
    with pytest.raises(TvauError, match="needs vLLM"):
        run(config, RunOptions(dataset=str(data), out=tmp_path / "r0", video_root=source, limit=1))
    fake = _FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", fake)
    adapter = make_adapter(config)
    calls = recorded_run(adapter, config, data, source, tmp_path / "r1", limit=1)
    assert fake.engine_kwargs["model"] == "org/model" and fake.engine_kwargs["revision"] == "abc123"
    assert len(fake.chats) == len(calls) >= 1
    conversations, params, _ = fake.chats[0]
    assert params == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 128, "seed": 0}
    assert conversations[0][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert [m["role"] for m in conversations[0]] == [m["role"] for m in calls[0][2]]
    assert len(to_openai_messages([])) == 0


def test_majority_falls_back_to_the_exemplar_when_train_is_normal_only(tmp_path):
    """ShanghaiTech: no abnormal train clip, so target/trajectory answers come from the one-shot exemplar."""
    from tvau_bench.errors import TvauError
    from tvau_bench.harness.dataset import BenchmarkData

    def sample(sid: str, label: str, target: str = "", trajectory: str = "") -> dict:
        turns = [{"turn": 1, "kind": "yes_no", "question": "q", "answer": label}]
        if label == "Yes":
            turns += [
                {"turn": 2, "kind": "target", "question": "q", "answer": target},
                {"turn": 3, "kind": "trajectory", "question": "q", "answer": trajectory},
            ]
        return {"sample_id": sid, "video_id": sid.split(":")[0], "label": label, "dialogue": turns}

    train = [sample("n1:0-7", "No"), sample("n2:0-7", "No")]
    test = [sample("a1:0-7:1", "Yes", "a red person", "moves left"), sample("n3:0-7", "No")]
    data = BenchmarkData(name="st", samples={"train": train, "test": test}, videos={})
    config = load_model_config(write_model(tmp_path / "maj.yaml", "maj", "majority"))
    adapter = make_adapter(config)
    with pytest.raises(TvauError, match="no answers for"):
        adapter.prepare(data, split="test")
    adapter.exemplar = test[0]
    adapter.prepare(data, split="test")
    assert adapter.answers == {"yes_no": "No", "target": "a red person", "trajectory": "moves left"}
