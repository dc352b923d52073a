"""OpenAI-compatible chat completions (``vllm serve`` and others): images as PNG data URLs, sent by the shared
client (:class:`tvau_bench.vlm.ChatClient`): ``max_concurrency`` requests per endpoint, fan-out over several
endpoints (``base_url`` may be a list), retries with backoff and jitter honouring ``Retry-After``, a timeout
per request and a cap on the reply size.

Only the standard library is used, so no client package is needed. The API key, when a server wants one, is
read from the environment variable named by ``api_key_env``; configs never hold secrets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...errors import TvauError
from ...vlm import ChatClient, ChatError, RetryPolicy, chat_body, data_url, image_part, text_part
from ..dataset import BenchmarkData
from ..messages import Message
from ..model_config import ModelConfig
from .base import Adapter, SampleContext


def png_data_url(image: np.ndarray) -> str:
    """An RGB ``uint8`` image as a lossless PNG data URL (every model gets exactly the same pixels)."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise TvauError("OpenCV cannot encode a frame as PNG")
    return data_url(buf.tobytes(), "image/png")


def to_openai_messages(messages: Sequence[Message], encode=None) -> list[dict[str, Any]]:
    """The harness message list in OpenAI chat format (assistant turns as plain strings).

    ``encode(image, ref)`` turns a frame into a URL (default: a PNG data URL).
    """
    encode = encode or (lambda image, ref: png_data_url(image))
    out = []
    for m in messages:
        if m["role"] == "assistant":
            out.append(
                {
                    "role": "assistant",
                    "content": "".join(p["text"] for p in m["content"] if p["type"] == "text"),
                }
            )
            continue
        parts = []
        for p in m["content"]:
            if p["type"] == "text":
                parts.append(text_part(p["text"]))
            else:
                if p.get("image") is None:
                    raise TvauError(f"image {p['ref']} was not decoded", fix="pass --video-root")
                parts.append(image_part(encode(p["image"], p["ref"])))
        out.append({"role": m["role"], "content": parts})
    return out


class OpenAIAdapter(Adapter):
    """Chat completions against ``base_url`` (e.g. ``http://localhost:8000/v1``, or a list of such URLs that
    share the work) for ``model``; ``max_concurrency`` is per endpoint."""

    needs_images = True

    def __init__(
        self,
        config: ModelConfig,
        base_url: str | list[str] = "http://localhost:8000/v1",
        model: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        api_key_env: str = "OPENAI_API_KEY",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(config)
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.client = ChatClient(
            urls,
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            retry=RetryPolicy(int(max_retries), float(backoff_s), float(max_backoff_s)),
            api_key=os.environ.get(api_key_env) if api_key_env else None,
            path=config.path,
            field="adapter_args.base_url",
        )
        urls = [ep.url for ep in self.client.endpoints]
        self.base_url: str | list[str] = urls[0] if isinstance(base_url, str) else urls
        self.model = model or config.hf_id or config.name
        self.max_concurrency = self.client.width
        self.extra_body = dict(extra_body or {})
        self._png: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        """Fail early, with the fix, when nothing answers at an endpoint (any HTTP reply will do)."""
        dead = self.client.unreachable()
        if dead:
            raise TvauError(
                f"no server answers at {'; '.join(dead)}",
                fix="start it (see `serve` in the model config, or `tvau-bench baselines serve-cmd NAME`)",
            )

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        gen = self.generation
        body = chat_body(
            self.model,
            to_openai_messages(messages, self._encode),
            temperature=gen["temperature"],
            top_p=gen["top_p"],
            max_tokens=gen["max_new_tokens"],
            seed=gen["seed"],
            extra=self.extra_body,
        )
        try:
            reply = self.client.complete(body)
        except ChatError as exc:
            if exc.exhausted:
                raise TvauError(
                    f"chat completions failed after {exc.attempts} attempts: {exc.what}",
                    fix="start the server (see `serve` in the model config) "
                    "or raise adapter_args.timeout_s / max_retries",
                ) from None
            raise TvauError(
                f"chat completions failed: {exc.what}", fix="check the model name and server"
            ) from None
        return reply.text or ""

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def close(self) -> None:
        self.client.close()

    def _encode(self, image: np.ndarray, ref: str) -> str:
        key = (ref, id(image))
        with self._lock:
            url = self._png.get(key)
        if url is None:
            url = png_data_url(image)
            with self._lock:
                if len(self._png) > 512:
                    self._png.clear()
                self._png[key] = url
        return url
