"""The ``openai`` backend: any OpenAI-compatible chat-completions server (``vllm serve`` is the intended one).

Each request becomes one ``POST {endpoint}/chat/completions`` with the images as base64 ``image_url`` parts and a
``response_format`` of type ``json_schema``. Requests run on worker threads, ``max_concurrency`` per endpoint
(several endpoints share one queue, so a slow server gets less work). Transport faults (HTTP 408/409/429/5xx,
timeouts, refused or dropped connections, unparsable response bodies) are retried with exponential backoff and
jitter (``Retry-After`` honoured, capped by ``backoff_max_s``); an answer that is not JSON or breaks the schema
is re-asked with the error, up to ``max_reasks`` times. What still fails comes back as an error response for
the pipeline to quarantine: nothing is raised and nothing is dropped.

Only the standard library is used (``http.client`` with one keep-alive connection per worker and endpoint).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from ...errors import TvauError
from ..recipe import BackendConfig
from .base import Backend, Request, Response
from .chat import checked_answer, generation_identity, messages_for, reask_messages

RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


class _Endpoint:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TvauError(
                f"bad endpoint URL {url!r}", field="backend.endpoints", fix="e.g. http://host:8000/v1"
            )
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "") + "/chat/completions"

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        cls = _HTTPS if self.https else _HTTP
        return cls(self.host, self.port, timeout=timeout)


class _NoDelay:
    """Disable Nagle's algorithm: http.client sends headers and body in two writes, and Nagle plus the
    server's delayed ACK would add ~40 ms to every request."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]


class _HTTP(_NoDelay, http.client.HTTPConnection):
    pass


class _HTTPS(_NoDelay, http.client.HTTPSConnection):
    pass


class _Fault(Exception):
    """A retryable transport problem."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


class _Fatal(Exception):
    """A problem retrying cannot fix (e.g. HTTP 400: the request itself is wrong)."""


class OpenAIBackend(Backend):
    """Chat completions over HTTP with retries, re-asks and bounded concurrency."""

    name = "openai"

    def __init__(self, cfg: BackendConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if not cfg.endpoints:
            raise TvauError("the openai backend needs at least one endpoint", field="backend.endpoints")
        self.cfg = cfg
        self.endpoints = [_Endpoint(u) for u in cfg.endpoints]
        self._key = os.environ.get(cfg.api_key_env, "") if cfg.api_key_env else ""
        if cfg.api_key_env and not self._key:
            raise TvauError(
                f"environment variable {cfg.api_key_env} is not set",
                field="backend.api_key_env",
                fix=f"export {cfg.api_key_env}=... or remove api_key_env from the recipe",
            )
        self._sleep = sleep
        self._local = threading.local()

    def identity(self) -> dict:
        return generation_identity("openai", self.cfg)

    def provenance(self) -> dict:
        return {
            "annotator": "openai",
            "model_id": self.cfg.model,
            "model_revision": self.cfg.revision,
            "vllm_version": self.cfg.vllm.get("version") if isinstance(self.cfg.vllm, dict) else None,
        }

    # -- orchestration -------------------------------------------------------------------------------------
    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        if not requests:
            return []
        results: list[Response | None] = [None] * len(requests)
        lock = threading.Lock()
        next_index = iter(range(len(requests)))
        # Interleaved endpoint slots, so even a short batch spreads over every endpoint.
        slots = [i % len(self.endpoints) for i in range(self.cfg.max_concurrency * len(self.endpoints))]
        workers = min(len(slots), len(requests))

        def work(home: int) -> None:
            conns: dict[int, http.client.HTTPConnection] = {}
            try:
                while True:
                    with lock:
                        i = next(next_index, None)
                    if i is None:
                        return
                    try:
                        results[i] = self._answer(requests[i], home, conns)
                    except Exception as exc:  # a bug must not lose the request: record it
                        results[i] = Response(None, error=f"internal error: {type(exc).__name__}: {exc}")
                    if on_done is not None:
                        on_done(i, results[i])
            finally:
                for c in conns.values():
                    c.close()

        threads = [threading.Thread(target=work, args=(slots[w],), daemon=True) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [r if r is not None else Response(None, error="not answered") for r in results]

    # -- one request: re-asks around retried posts -----------------------------------------------------------
    def _answer(self, req: Request, home: int, conns: dict) -> Response:
        messages = messages_for(req)
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        faults: list[str] = []
        attempts = 0
        for reask in range(self.cfg.max_reasks + 1):
            payload = self._payload(req, messages)
            try:
                body, n = self._post(payload, home, conns, faults)
            except _Fatal as exc:
                return Response(None, error=str(exc), usage=usage, attempts=attempts + 1, faults=faults)
            except _Fault as exc:
                attempts += self.cfg.max_retries + 1
                return Response(
                    None,
                    error=f"gave up after {self.cfg.max_retries + 1} attempts: {exc.what}",
                    usage=usage,
                    attempts=attempts,
                    faults=faults,
                )
            attempts += n
            u = body.get("usage") or {}
            for k in usage:
                usage[k] += int(u.get(k) or 0) if isinstance(u.get(k), int | float) else 0
            content = _content(body)
            answer, why = checked_answer(content, req.schema)
            if why is None:
                return Response(answer, raw=content, usage=usage, attempts=attempts, faults=faults)
            faults.append(f"invalid answer: {why}")
            if reask == self.cfg.max_reasks:
                return Response(
                    None,
                    raw=content,
                    error=f"invalid answer after {reask} re-asks: {why}",
                    usage=usage,
                    attempts=attempts,
                    faults=faults,
                )
            messages = reask_messages(messages, content, why)
        raise AssertionError("unreachable")

    def _payload(self, req: Request, messages: list[dict]) -> bytes:
        c = self.cfg
        body = {
            "model": c.model,
            "messages": messages,
            "temperature": c.temperature,
            "top_p": c.top_p,
            "max_tokens": c.max_tokens,
            "seed": c.seed,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": req.kind, "schema": req.schema, "strict": True},
            },
        }
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _post(self, payload: bytes, home: int, conns: dict, faults: list[str]) -> tuple[dict, int]:
        """POST with retries; returns the parsed body and the number of attempts. Raises _Fault when exhausted."""
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        rng = random.Random(hash((threading.get_ident(), len(faults))))
        last: _Fault | None = None
        for attempt in range(self.cfg.max_retries + 1):
            # Retries move round the endpoints, so one dead server does not sink its share of requests.
            e = (home + attempt) % len(self.endpoints)
            ep = self.endpoints[e]
            try:
                return self._post_once(ep, e, payload, headers, conns), attempt + 1
            except _Fault as fault:
                last = fault
                faults.append(fault.what)
                if attempt == self.cfg.max_retries:
                    break
                delay = min(self.cfg.backoff_max_s, self.cfg.backoff_s * (2**attempt))
                delay *= 0.5 + rng.random() / 2
                if fault.retry_after is not None:
                    delay = min(self.cfg.backoff_max_s, max(delay, fault.retry_after))
                self._sleep(delay)
        assert last is not None
        raise last

    def _post_once(self, ep: _Endpoint, e: int, payload: bytes, headers: dict, conns: dict) -> dict:
        conn = conns.get(e)
        if conn is None:
            conn = conns[e] = ep.connect(self.cfg.timeout_s)
        try:
            conn.request("POST", ep.path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            retry_after = resp.getheader("Retry-After")
        except TimeoutError as exc:
            self._drop(conns, e)
            raise _Fault(f"timeout after {self.cfg.timeout_s}s at {ep.url}") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop(conns, e)
            raise _Fault(f"connection error at {ep.url}: {type(exc).__name__}") from exc
        if status in RETRY_STATUS:
            self._drop(conns, e)
            ra = None
            try:
                ra = float(retry_after) if retry_after else None
            except ValueError:
                ra = None
            raise _Fault(f"HTTP {status} from {ep.url}", retry_after=ra)
        if status != 200:
            raise _Fatal(f"HTTP {status} from {ep.url}: {data[:200].decode('utf-8', 'replace')}")
        try:
            body = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._drop(conns, e)
            raise _Fault(f"unparsable response body from {ep.url}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
            raise _Fault(f"response without choices from {ep.url}")
        return body

    @staticmethod
    def _drop(conns: dict, e: int) -> None:
        conn = conns.pop(e, None)
        if conn is not None:
            conn.close()


def _content(body: dict) -> str | None:
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None
