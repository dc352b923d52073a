"""A loopback OpenAI-compatible chat-completions server for tests and benchmarks (no model, no network).

    with LoopbackServer(responder=lambda body: {"answer": 1}, latency=0.05) as srv:
        client(base_url=srv.url)           # http://127.0.0.1:PORT/v1
    srv.log                                # one LogEntry per HTTP request, in arrival order

- ``responder(body) -> str | dict | Reply``: the assistant's content for a request body (dict is JSON-encoded).
  It should be a pure function of the body so answers do not depend on arrival order.
- ``faults(body, seen) -> str | None``: inject a fault; ``seen`` counts earlier arrivals of the identical body
  (so "fail the first try of every request" is ``lambda b, seen: "429" if seen == 0 else None``). Names:
  ``"429"``, ``"500"``, ``"503"`` (status; 429 carries ``Retry-After: 0``), ``"timeout"`` (sleeps ``hang_s`` then
  answers: the client should have given up), ``"invalid_json"`` (content that is not JSON), ``"bad_body"``
  (HTTP 200 with a non-JSON body), ``"drop"`` (closes the connection without answering).
- ``latency``: seconds slept before every answer (per request, concurrently).
- ``check_shape``: each request is checked (POST to ``…/chat/completions``, JSON body, ``model``, messages,
  ``image_url`` parts that are base64 JPEG data URLs that decode, ``response_format`` ``json_schema``); a bad
  request gets HTTP 400 and is listed in ``shape_errors``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np


@dataclass
class Reply:
    """A scripted answer with full control: status code, content, extra headers."""

    content: str | dict | None = None
    status: int = 200
    headers: dict = field(default_factory=dict)


@dataclass
class LogEntry:
    n: int
    path: str
    body: dict | None
    fault: str | None
    status: int | None
    t_start: float
    t_end: float = 0.0


def request_shape_errors(path: str, body: Any) -> list[str]:
    """What is wrong with a chat-completions request (empty when it is well formed)."""
    errs: list[str] = []
    if not path.endswith("/chat/completions"):
        errs.append(f"path {path!r} is not …/chat/completions")
    if not isinstance(body, dict):
        return [*errs, "body is not a JSON object"]
    if not isinstance(body.get("model"), str) or not body["model"]:
        errs.append("model missing")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return [*errs, "messages missing"]
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            errs.append(f"messages[{i}] has no valid role")
            continue
        content = m.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            errs.append(f"messages[{i}].content must be a string or a list of parts")
            continue
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                continue
            if kind == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                prefix = "data:image/jpeg;base64,"
                if not url.startswith(prefix):
                    errs.append(f"messages[{i}].content[{j}] is not a base64 JPEG data URL")
                    continue
                try:
                    raw = base64.b64decode(url[len(prefix) :], validate=True)
                except ValueError:
                    errs.append(f"messages[{i}].content[{j}] is not valid base64")
                    continue
                if cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR) is None:
                    errs.append(f"messages[{i}].content[{j}] does not decode as an image")
                continue
            errs.append(f"messages[{i}].content[{j}] has unknown part type {kind!r}")
    rf = body.get("response_format")
    if not (
        isinstance(rf, dict)
        and rf.get("type") == "json_schema"
        and isinstance(rf.get("json_schema"), dict)
        and isinstance(rf["json_schema"].get("schema"), dict)
        and isinstance(rf["json_schema"].get("name"), str)
    ):
        errs.append("response_format is not a json_schema format")
    return errs


def image_count(body: dict) -> int:
    """Number of image parts in a request body."""
    return sum(
        1
        for m in body.get("messages", [])
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if isinstance(p, dict) and p.get("type") == "image_url"
    )


def user_text(body: dict) -> str:
    """The text of the first user message (where a pipeline puts its prompt)."""
    for m in body.get("messages", []):
        if m.get("role") == "user":
            c = m["content"]
            return (
                c if isinstance(c, str) else "".join(p.get("text", "") for p in c if p.get("type") == "text")
            )
    return ""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Dropped and timed-out connections are part of the tests; only report real errors."""
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Threaded HTTP server on 127.0.0.1 speaking the chat-completions subset a client needs."""

    def __init__(
        self,
        responder: Callable[[dict], str | dict | Reply] | None = None,
        *,
        latency: float = 0.0,
        faults: Callable[[dict, int], str | None] | None = None,
        check_shape: bool = True,
        hang_s: float = 5.0,
        model: str = "loopback",
    ) -> None:
        self.responder = responder or (lambda body: {"ok": True})
        self.latency = latency
        self.faults = faults
        self.check_shape = check_shape
        self.hang_s = hang_s
        self.model = model
        self.log: list[LogEntry] = []
        self.shape_errors: list[str] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> LoopbackServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small header and body writes must not wait for delayed ACKs

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- statistics ----------------------------------------------------------------------------------------
    def served(self) -> list[LogEntry]:
        """Requests answered with HTTP 200 and a valid answer (no fault injected)."""
        return [e for e in self.log if e.status == 200 and e.fault is None]

    def max_in_flight(self) -> int:
        """Largest number of requests being handled at one time."""
        events = sorted([(e.t_start, 1) for e in self.log] + [(e.t_end, -1) for e in self.log if e.t_end])
        cur = best = 0
        for _, d in events:
            cur += d
            best = max(best, cur)
        return best

    # -- one request ---------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        t0 = time.monotonic()
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        with self._lock:
            entry = LogEntry(n=len(self.log), path=h.path, body=body, fault=None, status=None, t_start=t0)
            self.log.append(entry)
            digest = hashlib.sha256(raw).hexdigest()
            seen = self._seen[digest]
            self._seen[digest] += 1
        if self.check_shape:
            errs = request_shape_errors(h.path, body)
            if errs:
                with self._lock:
                    self.shape_errors.extend(errs)
                self._send(h, entry, 400, {"error": {"message": "; ".join(errs)}})
                return
        fault = self.faults(body, seen) if self.faults else None
        entry.fault = fault
        if self.latency:
            time.sleep(self.latency)
        if fault == "drop":
            entry.status = None
            entry.t_end = time.monotonic()
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(2)
            return
        if fault in ("429", "500", "502", "503"):
            headers = {"Retry-After": "0"} if fault == "429" else {}
            self._send(h, entry, int(fault), {"error": {"message": f"injected {fault}"}}, headers)
            return
        if fault == "timeout":
            time.sleep(self.hang_s)
        if fault == "bad_body":
            self._send_raw(h, entry, 200, b"<html>not json</html>", "text/html")
            return
        reply = self.responder(body)
        if not isinstance(reply, Reply):
            reply = Reply(content=reply)
        content = reply.content
        if fault == "invalid_json":
            content = "Sure! Here is the JSON: {not valid"
        elif isinstance(content, dict):
            content = json.dumps(content)
        if reply.status != 200:
            self._send(h, entry, reply.status, {"error": {"message": str(content)}}, reply.headers)
            return
        text = user_text(body)
        usage = {
            "prompt_tokens": len(text) // 4 + 256 * image_count(body),
            "completion_tokens": max(1, len(content or "") // 4),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        payload = {
            "id": f"chatcmpl-{entry.n}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", self.model),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": usage,
        }
        self._send(h, entry, 200, payload, reply.headers)

    def _send(
        self, h: BaseHTTPRequestHandler, entry: LogEntry, status: int, obj: Any, headers: dict | None = None
    ):
        self._send_raw(h, entry, status, json.dumps(obj).encode(), "application/json", headers)

    @staticmethod
    def _send_raw(
        h: BaseHTTPRequestHandler,
        entry: LogEntry,
        status: int,
        data: bytes,
        ctype: str,
        headers: dict | None = None,
    ) -> None:
        entry.status = status
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client gave up (timeout): nothing to do
            pass
        entry.t_end = time.monotonic()
