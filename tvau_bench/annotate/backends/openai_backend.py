"""The ``openai`` backend: any OpenAI-compatible chat-completions server (``vllm serve`` is the intended one).

Each request becomes one chat completion with the images as base64 JPEG ``image_url`` parts and a
``response_format`` of type ``json_schema``, sent by the shared client (:class:`tvau_bench.vlm.ChatClient`:
``max_concurrency`` per endpoint, endpoint fan-out, retries with backoff honouring ``Retry-After``). An answer
that is not JSON or breaks the schema is re-asked with the error, up to ``max_reasks`` times. What still fails
comes back as an error response for the pipeline to quarantine: nothing is raised and nothing is dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from ...errors import TvauError
from ...vlm import ChatClient, ChatError, RetryPolicy, chat_body
from ..recipe import BackendConfig
from . import chat
from .base import Backend, Request, Response


class OpenAIBackend(Backend):
    """Chat completions over HTTP with retries, re-asks and bounded concurrency."""

    name = "openai"

    def __init__(self, cfg: BackendConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if not cfg.endpoints:
            raise TvauError("the openai backend needs at least one endpoint", field="backend.endpoints")
        key = os.environ.get(cfg.api_key_env, "") if cfg.api_key_env else ""
        if cfg.api_key_env and not key:
            raise TvauError(
                f"environment variable {cfg.api_key_env} is not set",
                field="backend.api_key_env",
                fix=f"export {cfg.api_key_env}=... or remove api_key_env from the recipe",
            )
        self.cfg = cfg
        self.client = ChatClient(
            cfg.endpoints,
            max_concurrency=cfg.max_concurrency,
            timeout_s=cfg.timeout_s,
            retry=RetryPolicy(cfg.max_retries, cfg.backoff_s, cfg.backoff_max_s),
            api_key=key or None,
            field="backend.endpoints",
            sleep=sleep,
        )

    def identity(self) -> dict:
        return chat.generation_identity("openai", self.cfg)

    def provenance(self) -> dict:
        version = self.cfg.vllm.get("version") if isinstance(self.cfg.vllm, dict) else None
        return chat.provenance("openai", self.cfg, version)

    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        def one(i: int) -> Response:
            try:
                return self._answer(requests[i])
            except Exception as exc:  # a bug must not lose the request: record it
                return Response(None, error=f"internal error: {type(exc).__name__}: {exc}")

        results = self.client.map(len(requests), one, on_done)
        return [r if r is not None else Response(None, error="not answered") for r in results]

    def _answer(self, req: Request) -> Response:
        """One request: re-asks around retried posts."""
        c = self.cfg
        messages = chat.messages_for(req)
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        faults: list[str] = []
        attempts = 0
        for reask in range(c.max_reasks + 1):
            body = chat_body(c.model, messages, **chat.sampling(c), schema=req.schema, schema_name=req.kind)
            try:
                done = self.client.complete(body)
            except ChatError as exc:
                faults += exc.faults
                error = f"gave up after {exc.attempts} attempts: {exc.what}" if exc.exhausted else exc.what
                return Response(
                    None, error=error, usage=usage, attempts=attempts + exc.attempts, faults=faults
                )
            attempts += done.attempts
            faults += done.faults
            for key, n in done.usage.items():
                usage[key] += n
            content = done.text
            answer, why = chat.checked_answer(content, req.schema)
            if why is None:
                return Response(answer, raw=content, usage=usage, attempts=attempts, faults=faults)
            faults.append(f"invalid answer: {why}")
            if reask == c.max_reasks:
                return Response(
                    None,
                    raw=content,
                    error=f"invalid answer after {reask} re-asks: {why}",
                    usage=usage,
                    attempts=attempts,
                    faults=faults,
                )
            messages = chat.reask_messages(messages, content, why)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()
