"""OpenAI-compatible chat completions (``vllm serve`` and others): images as PNG data URLs, bounded
concurrency, retries with exponential backoff on transient failures, a timeout per request.

Only the standard library is used (``urllib``), so no client package is needed. The API key, when a server
wants one, is read from the environment variable named by ``api_key_env``; configs never hold secrets.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...errors import TvauError
from ..dataset import BenchmarkData
from ..messages import Message
from ..model_config import ModelConfig
from .base import Adapter, SampleContext

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 8 << 20


def png_data_url(image: np.ndarray) -> str:
    """An RGB ``uint8`` image as a lossless PNG data URL (every model gets exactly the same pixels)."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    if not ok:
        raise TvauError("OpenCV cannot encode a frame as PNG")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


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
                parts.append({"type": "text", "text": p["text"]})
            else:
                if p.get("image") is None:
                    raise TvauError(f"image {p['ref']} was not decoded", fix="pass --video-root")
                parts.append({"type": "image_url", "image_url": {"url": encode(p["image"], p["ref"])}})
        out.append({"role": m["role"], "content": parts})
    return out


class OpenAIAdapter(Adapter):
    """Chat completions against ``base_url`` (e.g. ``http://localhost:8000/v1``) for ``model``."""

    needs_images = True

    def __init__(
        self,
        config: ModelConfig,
        base_url: str = "http://localhost:8000/v1",
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
        if not base_url.startswith(("http://", "https://")):
            raise TvauError(
                f"base_url {base_url!r} must be an http(s) URL", path=config.path, field="adapter_args"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model or config.hf_id or config.name
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        self.extra_body = dict(extra_body or {})
        self._png: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        """Fail early, with the fix, when nothing answers at ``base_url`` (any HTTP reply will do)."""
        try:
            with urllib.request.urlopen(self.base_url + "/models", timeout=min(self.timeout_s, 30.0)):
                pass
        except urllib.error.HTTPError:
            pass  # a server answered; some have no /models
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TvauError(
                f"no server answers at {self.base_url}: {getattr(exc, 'reason', exc)}",
                fix="start it (see `serve` in the model config, or `tvau-bench baselines serve-cmd NAME`)",
            ) from None

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        body = {
            "model": self.model,
            "messages": to_openai_messages(messages, self._encode),
            "temperature": self.generation["temperature"],
            "top_p": self.generation["top_p"],
            "max_tokens": self.generation["max_new_tokens"],
            "seed": self.generation["seed"],
            **self.extra_body,
        }
        reply = self._request("POST", "/chat/completions", body, retries=self.max_retries)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TvauError(
                f"unexpected reply from {self.base_url}: {json.dumps(reply)[:200]}",
                fix="check that the server is OpenAI-compatible (chat completions)",
            ) from None
        return content if isinstance(content, str) else ""

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

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

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, *, retries: int
    ) -> dict[str, Any]:
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(retries + 1):
            if attempt:
                with self._lock:
                    self.retries += 1
                time.sleep(min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))
            with self._lock:
                self.requests += 1
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    raw = resp.read(MAX_RESPONSE_BYTES + 1)
                if len(raw) > MAX_RESPONSE_BYTES:
                    raise TvauError(f"reply from {url} is over {MAX_RESPONSE_BYTES} bytes")
                return json.loads(raw.decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read(2000).decode("utf-8", "replace")
                last = f"HTTP {exc.code}: {detail[:300]}"
                if exc.code not in RETRY_STATUS:
                    raise TvauError(
                        f"{method} {url} failed: {last}", fix="check the model name and server"
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                last = f"invalid JSON reply: {exc}"
        raise TvauError(
            f"{method} {url} failed after {retries + 1} attempts: {last}",
            fix="start the server (see `serve` in the model config) or raise adapter_args.timeout_s / max_retries",
        )
