"""Ask a backend through the on-disk cache, and count what happened (for report.json).

Answers that were cached are never sent again; each new good answer is stored the moment it arrives, so a kill
loses only the requests in flight. Failed requests are not cached: a rerun asks them again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from .backends.base import Backend, Request, Response
from .cache import RequestCache, request_key


@dataclass
class AskStats:
    """Request accounting for one run."""

    requests: Counter = field(default_factory=Counter)  # per kind: answered by the backend this run
    cache_hits: Counter = field(default_factory=Counter)  # per kind
    failures: Counter = field(default_factory=Counter)  # per kind
    attempts: int = 0  # HTTP attempts, retries and re-asks included
    faults: Counter = field(default_factory=Counter)  # retried problems by type
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    def add(self, other: AskStats) -> None:
        """Add another asker's accounting to this one (per-worker stats summed on the driver)."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, f.name))
            else:
                setattr(self, f.name, mine + getattr(other, f.name))

    def as_dict(self) -> dict:
        return {
            "requests": dict(sorted(self.requests.items())),
            "requests_total": sum(self.requests.values()),
            "cache_hits": dict(sorted(self.cache_hits.items())),
            "cache_hits_total": sum(self.cache_hits.values()),
            "failures": dict(sorted(self.failures.items())),
            "attempts": self.attempts,
            "faults": dict(sorted(self.faults.items())),
            "tokens": {
                "prompt": self.prompt_tokens,
                "completion": self.completion_tokens,
                "cached_prompt": self.cached_prompt_tokens,
                "cached_completion": self.cached_completion_tokens,
            },
        }


def _fault_type(text: str) -> str:
    for key in ("HTTP", "timeout", "connection", "invalid answer", "unparsable", "without choices"):
        if key in text:
            return text.split(" from ")[0] if key == "HTTP" else key
    return "other"


class Asker:
    """``ask(requests) -> responses`` with caching and accounting."""

    def __init__(self, backend: Backend, cache: RequestCache | None) -> None:
        self.backend = backend
        self.cache = cache if backend.cacheable else None
        self.stats = AskStats()
        self._identity = backend.identity()

    def key(self, req: Request) -> str:
        return request_key({"backend": self._identity, "request": req.content()})

    def ask(self, requests: Sequence[Request]) -> list[Response]:
        out: list[Response | None] = [None] * len(requests)
        todo: list[int] = []
        keys = [self.key(r) for r in requests] if self.cache is not None else [""] * len(requests)
        for i, req in enumerate(requests):
            entry = self.cache.get(keys[i]) if self.cache is not None else None
            if entry is None:
                todo.append(i)
                continue
            usage = entry.get("usage") or {}
            self.stats.cache_hits[req.kind] += 1
            self.stats.cached_prompt_tokens += int(usage.get("prompt_tokens", 0))
            self.stats.cached_completion_tokens += int(usage.get("completion_tokens", 0))
            out[i] = Response(entry["answer"], raw=entry.get("raw"), usage=usage, attempts=0, cached=True)

        def store(j: int, resp: Response) -> None:
            # Called as each answer is final: a kill mid-batch keeps every answer already received.
            if resp.ok and self.cache is not None:
                i = todo[j]
                req = requests[i]
                self.cache.put(
                    keys[i],
                    {
                        "answer": resp.answer,
                        "raw": resp.raw,
                        "usage": resp.usage,
                        "kind": req.kind,
                        "item": req.item,
                    },
                )

        answers = self.backend.answer_many([requests[i] for i in todo], on_done=store)
        for i, resp in zip(todo, answers, strict=True):
            req = requests[i]
            self.stats.requests[req.kind] += 1
            self.stats.attempts += resp.attempts
            self.stats.prompt_tokens += int(resp.usage.get("prompt_tokens", 0))
            self.stats.completion_tokens += int(resp.usage.get("completion_tokens", 0))
            for f in resp.faults:
                self.stats.faults[_fault_type(f)] += 1
            if not resp.ok:
                self.stats.failures[req.kind] += 1
            out[i] = resp
        return [r for r in out if r is not None]
