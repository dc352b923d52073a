"""The one HTTP client for OpenAI-compatible chat-completions servers (``vllm serve`` and others).

Each call is one ``POST {endpoint}/chat/completions``. Several endpoints share the work: every worker thread has
a home endpoint (round robin), and a retry moves on to the next endpoint so one dead server does not sink its
share. Transport faults (HTTP 408/409/425/429/5xx, timeouts, refused or dropped connections, bodies that are
not JSON or carry no choice) are retried with exponential backoff and jitter; a ``Retry-After`` header
(seconds or an HTTP date) is honoured, capped by ``backoff_max_s``. Anything else (HTTP 400, a reply over
``max_response_bytes``) is final. Each thread keeps one keep-alive connection per endpoint.

Only the standard library is used. The client pickles without its connections (workers of a distributed run
build their own).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import TvauError
from .messages import reply_message, reply_text, reply_usage

RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
MAX_RESPONSE_BYTES = 8 << 20

T = TypeVar("T")


class ChatError(Exception):
    """A request that failed for good: ``exhausted`` when every retry hit a transport fault."""

    def __init__(self, what: str, *, attempts: int, faults: list[str], exhausted: bool) -> None:
        super().__init__(what)
        self.what = what
        self.attempts = attempts
        self.faults = faults
        self.exhausted = exhausted


@dataclass
class Completion:
    """A chat-completions reply: the parsed body, the HTTP attempts it took and the faults retried on the way."""

    body: dict
    attempts: int = 1
    faults: list[str] = field(default_factory=list)

    @property
    def text(self) -> str | None:
        return reply_text(self.body)

    @property
    def usage(self) -> dict[str, int]:
        return reply_usage(self.body)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's ``Retry-After`` lengthens the wait, up to ``backoff_max_s``."""

    max_retries: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        wait = min(self.backoff_max_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            wait = min(self.backoff_max_s, max(wait, retry_after))
        return wait


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header in seconds from now (delta-seconds or an HTTP date), ``None`` when unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Fault(Exception):
    """A retryable transport problem."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


class _Final(Exception):
    """A problem retrying cannot fix (e.g. HTTP 400: the request itself is wrong)."""


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


@dataclass(frozen=True)
class Endpoint:
    """One server's base URL (ending in ``/v1``), split for ``http.client``."""

    url: str
    https: bool
    host: str
    port: int
    base: str

    @classmethod
    def parse(cls, url: str, *, path: str | None = None, field: str | None = None) -> Endpoint:
        """Check and split ``url``; a bad one is a :class:`TvauError` naming ``path`` and ``field``."""
        parts = urlsplit(url.rstrip("/"))
        try:
            port = parts.port  # a non-numeric port raises here
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            raise TvauError(
                f"bad endpoint URL {url!r}",
                path=path,
                field=field,
                fix="an http(s) URL, e.g. http://host:8000/v1",
            )
        https = parts.scheme == "https"
        return cls(url.rstrip("/"), https, parts.hostname, port or (443 if https else 80), parts.path or "")

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        return (_HTTPS if self.https else _HTTP)(self.host, self.port, timeout=timeout)


class ChatClient:
    """Chat completions over HTTP against one or more endpoints, ``max_concurrency`` requests per endpoint."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        retry: RetryPolicy = RetryPolicy(),
        api_key: str | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        path: str | None = None,
        field: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not endpoints:
            raise TvauError(
                "at least one endpoint is needed", path=path, field=field, fix="e.g. http://host:8000/v1"
            )
        self.endpoints = [Endpoint.parse(u, path=path, field=field) for u in endpoints]
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self.retry = retry
        self.max_response_bytes = int(max_response_bytes)
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._sleep = sleep
        self._reset_threads()

    @property
    def width(self) -> int:
        """Requests in flight at most: ``max_concurrency`` per endpoint."""
        return self.max_concurrency * len(self.endpoints)

    # -- per-thread state: home endpoint and keep-alive connections ------------------------------------------
    def _reset_threads(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pools: list[dict[int, http.client.HTTPConnection]] = []
        self._homes = 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in ("_local", "_lock", "_pools", "_homes"):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_threads()

    def _home(self) -> int:
        home = getattr(self._local, "home", None)
        if home is None:
            with self._lock:
                home = self._local.home = self._homes % len(self.endpoints)
                self._homes += 1
        return home

    def _conns(self) -> dict[int, http.client.HTTPConnection]:
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
            with self._lock:
                self._pools.append(conns)
        return conns

    def release(self) -> None:
        """Close the calling thread's connections (a worker that is done)."""
        conns = getattr(self._local, "conns", None)
        if conns is None:
            return
        with self._lock:
            self._pools = [p for p in self._pools if p is not conns]
        del self._local.conns
        for conn in conns.values():
            conn.close()

    def close(self) -> None:
        """Close every thread's connections."""
        with self._lock:
            pools, self._pools = self._pools, []
        for conns in pools:
            for conn in list(conns.values()):
                conn.close()
            conns.clear()

    # -- work ---------------------------------------------------------------------------------------------
    def map(
        self, count: int, fn: Callable[[int], T], on_done: Callable[[int, T], None] | None = None
    ) -> list[T]:
        """``[fn(0), ..., fn(count - 1)]`` computed on :attr:`width` worker threads spread over the endpoints
        (interleaved, so even a short batch reaches every endpoint); ``on_done(i, result)`` as each finishes."""
        results: list[Any] = [None] * count
        lock = threading.Lock()
        todo = iter(range(count))

        def work(home: int) -> None:
            self._local.home = home
            try:
                while True:
                    with lock:
                        i = next(todo, None)
                    if i is None:
                        return
                    results[i] = fn(i)
                    if on_done is not None:
                        on_done(i, results[i])
            finally:
                self.release()

        n = len(self.endpoints)
        threads = [
            threading.Thread(target=work, args=(w % n,), daemon=True) for w in range(min(self.width, count))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def complete(self, body: dict) -> Completion:
        """POST ``body`` with retries; raises :class:`ChatError` when it fails for good."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        home = self._home()
        faults: list[str] = []
        for attempt in range(self.retry.max_retries + 1):
            # Retries move round the endpoints, so one dead server does not sink its share of requests.
            e = (home + attempt) % len(self.endpoints)
            try:
                return Completion(self._post(e, payload), attempt + 1, faults)
            except _Final as exc:
                raise ChatError(str(exc), attempts=attempt + 1, faults=faults, exhausted=False) from None
            except _Fault as fault:
                faults.append(fault.what)
                if attempt == self.retry.max_retries:
                    raise ChatError(fault.what, attempts=attempt + 1, faults=faults, exhausted=True) from None
                self._sleep(self.retry.delay(attempt, fault.retry_after))
        raise AssertionError("unreachable")

    def _post(self, e: int, payload: bytes) -> dict:
        ep = self.endpoints[e]
        conns = self._conns()
        conn = conns.get(e)
        if conn is None:
            conn = conns[e] = ep.connect(self.timeout_s)
        try:
            conn.request("POST", ep.base + "/chat/completions", body=payload, headers=self._headers)
            resp = conn.getresponse()
            data = resp.read(self.max_response_bytes + 1)
            status = resp.status
            retry_after = resp.getheader("Retry-After")
        except TimeoutError as exc:
            self._drop(conns, e)
            raise _Fault(f"timeout after {self.timeout_s}s at {ep.url}") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._drop(conns, e)
            raise _Fault(f"connection error at {ep.url}: {type(exc).__name__}") from exc
        if len(data) > self.max_response_bytes:
            self._drop(conns, e)  # the rest of the body is still on the wire
            raise _Final(f"reply from {ep.url} is over {self.max_response_bytes} bytes")
        if status in RETRY_STATUS:
            self._drop(conns, e)
            raise _Fault(f"HTTP {status} from {ep.url}", retry_after=parse_retry_after(retry_after))
        if status != 200:
            raise _Final(f"HTTP {status} from {ep.url}: {data[:200].decode('utf-8', 'replace')}")
        try:
            body = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._drop(conns, e)
            raise _Fault(f"unparsable response body from {ep.url}") from exc
        if reply_message(body) is None:
            raise _Fault(f"response without choices from {ep.url}")
        return body

    @staticmethod
    def _drop(conns: dict, e: int) -> None:
        conn = conns.pop(e, None)
        if conn is not None:
            conn.close()

    def unreachable(self, timeout_s: float = 30.0) -> list[str]:
        """``"URL: why"`` for each endpoint where nothing answers ``GET /models`` (any HTTP status will do)."""
        out = []
        for ep in self.endpoints:
            conn = ep.connect(min(self.timeout_s, timeout_s))
            try:
                conn.request("GET", ep.base + "/models", headers=self._headers)
                conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                out.append(f"{ep.url}: {type(exc).__name__}: {exc}")
            finally:
                conn.close()
        return out
