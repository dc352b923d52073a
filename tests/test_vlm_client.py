"""The shared VLM transport (tvau_bench.vlm): the chat client's retry policy, reply limits and pickling, the one
offline vLLM engine both the annotation backend and the harness adapter build, and the one table of backend
kinds that the factory and the recipe check share."""

from __future__ import annotations

import dataclasses
import email.utils
import pickle
import sys
import types

import pytest
from harness_fixtures import write_model
from loopback_openai import LoopbackServer, Reply

from tvau_bench.annotate.backends import BACKEND_KINDS, make_backend
from tvau_bench.annotate.backends.base import Request
from tvau_bench.annotate.recipe import BackendConfig, load_recipe
from tvau_bench.errors import TvauError
from tvau_bench.schemas import load_schema
from tvau_bench.vlm import ChatClient, ChatError, OfflineVLM, RetryPolicy, chat_body
from tvau_bench.vlm.chat_client import parse_retry_after

SCHEMA = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}


def _body(text: str = "hi", schema: dict | None = SCHEMA) -> dict:
    msgs = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    return chat_body("m", msgs, temperature=0.0, top_p=1.0, max_tokens=8, seed=0, schema=schema)


def _client(urls: list[str], **kw) -> ChatClient:
    retry = RetryPolicy(kw.pop("max_retries", 3), 0.001, kw.pop("backoff_max_s", 0.01))
    return ChatClient(urls, timeout_s=2.0, retry=retry, **kw)


# -- the client -------------------------------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_an_http_date():
    assert parse_retry_after("3") == 3.0 and parse_retry_after("-2") == 0.0
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_lengthens_the_wait_up_to_the_cap():
    policy = RetryPolicy(max_retries=5, backoff_s=1.0, backoff_max_s=30.0)
    waits = [policy.delay(2, None) for _ in range(50)]
    assert all(2.0 <= w <= 4.0 for w in waits) and len(set(waits)) > 1  # 4 s with jitter
    assert policy.delay(0, 12.0) == 12.0
    assert policy.delay(0, 600.0) == 30.0


def test_the_client_sleeps_what_the_server_asks():
    slept = []
    calls = {"n": 0}

    def responder(body):
        calls["n"] += 1
        return Reply("busy", status=429, headers={"Retry-After": "7"}) if calls["n"] == 1 else {"ok": True}

    with LoopbackServer(responder, check_shape=False) as srv:
        client = ChatClient([srv.url], retry=RetryPolicy(3, 0.001, 30.0), sleep=slept.append)
        done = client.complete(_body())
        url = srv.url
    assert slept == [7.0] and done.attempts == 2 and done.faults == [f"HTTP 429 from {url}"]
    assert done.text == '{"ok": true}' and done.usage["completion_tokens"] > 0


def test_a_reply_over_the_size_limit_is_final_not_retried():
    with LoopbackServer(lambda body: {"ok": True, "pad": "x" * 5000}, check_shape=False) as srv:
        client = _client([srv.url], max_response_bytes=2000)
        with pytest.raises(ChatError, match="over 2000 bytes") as info:
            client.complete(_body())
    assert not info.value.exhausted and len(srv.log) == 1


def test_free_text_and_json_schema_modes_and_content_parts():
    def parts(body):  # a server that answers in content parts
        return Reply([{"type": "text", "text": "Yes"}, {"type": "text", "text": "."}])

    free = _body(schema=None)
    assert "response_format" not in free
    assert _body()["response_format"]["json_schema"] == {"name": "answer", "schema": SCHEMA, "strict": True}
    with LoopbackServer(parts, check_shape=False) as srv:
        assert _client([srv.url]).complete(free).text == "Yes."


def test_fan_out_and_a_dead_endpoint_is_routed_around():
    with (
        LoopbackServer(check_shape=False) as a,
        LoopbackServer(check_shape=False, faults=lambda b, s: "503") as b,
    ):
        client = _client([b.url, a.url], max_concurrency=2)
        out = client.map(8, lambda i: client.complete(_body(f"q{i}")))
    assert all(c.text == '{"ok": true}' for c in out)
    assert len(b.log) >= 1 and len(a.served()) == 8  # the dead one was tried, the live one answered all
    assert any(c.attempts == 2 for c in out)


def test_bad_endpoint_url_names_the_field():
    for url in ("ftp://host/v1", "http://host:port/v1", "no url"):
        with pytest.raises(TvauError, match="bad endpoint URL") as info:
            ChatClient([url], path="m.yaml", field="adapter_args.base_url")
        assert info.value.field == "adapter_args.base_url" and info.value.path == "m.yaml"


def test_the_openai_backend_pickles_without_its_connections_and_still_answers():
    with LoopbackServer(lambda body: {"ok": True}) as srv:
        cfg = BackendConfig(kind="openai", model="m", endpoints=(srv.url,), backoff_s=0.001)
        backend = make_backend(dataclasses.replace(load_recipe("synthetic"), backend=cfg))
        req = Request("stage1", "i", "sys", "q", (), SCHEMA)
        assert backend.answer_many([req])[0].ok
        copy = pickle.loads(pickle.dumps(backend))
        assert copy.answer_many([req])[0].answer == {"ok": True}
        copy.close()
        backend.close()


# -- one offline vLLM engine ------------------------------------------------------------------------------------


def _fake_vllm(answer: str) -> tuple[types.ModuleType, list[dict], list[tuple]]:
    """A stand-in ``vllm`` package (not installed on CPU machines) that records engines and chats."""
    engines: list[dict] = []
    chats: list[tuple] = []
    mod = types.ModuleType("vllm")
    mod.__version__ = "0.0-fake"

    class LLM:
        def __init__(self, **kwargs):
            engines.append(kwargs)

        def chat(self, conversations, params, **kw):
            chats.append((conversations, params, kw))
            out = types.SimpleNamespace(text=answer, token_ids=[1, 2, 3])
            return [types.SimpleNamespace(outputs=[out], prompt_token_ids=[0] * 11) for _ in conversations]

    mod.LLM = LLM
    mod.SamplingParams = lambda **kw: kw
    sub = types.ModuleType("vllm.sampling_params")
    sub.StructuredOutputsParams = lambda json: {"json": json}
    mod.sampling_params = sub
    return mod, engines, chats


@pytest.fixture
def fake_vllm(monkeypatch):
    mod, engines, chats = _fake_vllm('{"ok": true}')
    monkeypatch.setitem(sys.modules, "vllm", mod)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", mod.sampling_params)
    return engines, chats


def _vllm_recipe(**vllm):
    cfg = BackendConfig(kind="vllm", model="org/m", revision="abc", seed=3, vllm=vllm)
    return dataclasses.replace(load_recipe("synthetic"), backend=cfg)


def test_vllm_backend_builds_its_engine_through_the_one_factory(fake_vllm):
    engines, chats = fake_vllm
    backend = make_backend(_vllm_recipe(version="0.12.0", max_model_len=4096))
    pickle.loads(pickle.dumps(backend))  # before the engine is loaded it ships to a worker
    assert engines == []  # loaded on the first batch
    (resp,) = backend.answer_many([Request("stage1", "i", "sys", "q", (b"\xff\xd8",), SCHEMA)])
    assert isinstance(backend.engine(), OfflineVLM)
    assert engines == [{"model": "org/m", "revision": "abc", "seed": 3, "max_model_len": 4096}]
    assert resp.ok and resp.usage == {"prompt_tokens": 11, "completion_tokens": 3}
    (params,) = chats[0][1]
    assert params["structured_outputs"] == {"json": SCHEMA} and params["seed"] == 3
    assert backend.provenance()["vllm_version"] == "0.0-fake"
    assert pickle.loads(pickle.dumps(backend))._engine is None  # the engine never travels


def test_vllm_adapter_builds_its_engine_through_the_one_factory(fake_vllm, tmp_path):
    from tvau_bench.harness.adapters import make_adapter
    from tvau_bench.harness.dataset import BenchmarkData
    from tvau_bench.harness.model_config import load_model_config

    engines, chats = fake_vllm
    config = load_model_config(
        write_model(tmp_path / "v.yaml", "v", "vllm", hf_id="org/m", revision="abc", adapter_args={})
    )
    adapter = make_adapter(config)
    samples = {"test": [{"frame_indices": list(range(4))}], "train": [{"frame_indices": list(range(8))}]}
    adapter.prepare(BenchmarkData(name="d", samples=samples, videos={}), split="test")
    assert isinstance(adapter.llm, OfflineVLM)
    assert engines == [{"model": "org/m", "revision": "abc", "seed": 0, "limit_mm_per_prompt": {"image": 16}}]
    msgs = [{"role": "user", "content": [{"type": "text", "text": "Anything unusual?"}]}]
    assert adapter.generate(msgs, None) == '{"ok": true}'
    assert chats[0][1] == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 128, "seed": 0}
    assert adapter.describe() == {"vllm": "0.0-fake", "model": "org/m"}


def test_engine_arguments_may_not_override_the_model(fake_vllm):
    backend = make_backend(_vllm_recipe(model="other/model"))
    with pytest.raises(TvauError, match="may not set") as info:
        backend.engine()
    assert info.value.field == "backend.vllm"


# -- one table of backend kinds ---------------------------------------------------------------------------------


def test_recipe_schema_allows_exactly_the_backend_kinds_of_the_table():
    enum = load_schema("recipe")["properties"]["backend"]["properties"]["kind"]["enum"]
    assert sorted(enum) == sorted(BACKEND_KINDS)


def test_an_unknown_backend_kind_is_an_error_not_vllm():
    recipe = load_recipe("synthetic")
    bogus = dataclasses.replace(recipe, backend=dataclasses.replace(recipe.backend, kind="bogus"))
    with pytest.raises(TvauError, match="unknown backend 'bogus'") as info:
        make_backend(bogus)
    assert info.value.field == "backend.kind"


@pytest.mark.parametrize(
    ("kind", "backend", "field"),
    [
        ("openai", {"model": "m"}, "backend.endpoints"),
        ("openai", {"endpoints": ["http://h/v1"]}, "backend.model"),
        ("vllm", {}, "backend.model"),
    ],
)
def test_recipe_requires_the_fields_the_table_names(kind, backend, field):
    with pytest.raises(TvauError) as info:
        load_recipe("synthetic", {"backend": {"kind": kind, **backend}})
    assert info.value.field == field
    assert field.split(".")[1] in BACKEND_KINDS[kind].requires
