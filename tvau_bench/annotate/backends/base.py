"""The one interface every annotation backend implements, and the request/response records they exchange.

A :class:`Request` is what a VLM is asked: a system and a user prompt, images (encoded JPEG bytes, in order) and
the JSON Schema the answer must satisfy. ``evidence`` carries the raw geometry (frames, masks, metadata) that the
model-free ``geometric`` backend answers from; it is never sent to a model and never part of a cache key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jsonschema

from ..._io import canonical_json, sha256_bytes

if TYPE_CHECKING:
    from ..recipe import Recipe


@dataclass(frozen=True)
class Request:
    """One question to a backend."""

    kind: str  # "stage1" | "stage2" | "reask"
    item: str  # what it is about (a frame or a target id): names it in quarantine records
    system: str
    prompt: str
    images: tuple[bytes, ...]
    schema: dict
    evidence: Any = field(default=None, compare=False, repr=False)

    def content(self) -> dict:
        """Everything that determines the answer apart from the backend's identity (JSON-ready)."""
        return {
            "kind": self.kind,
            "system": self.system,
            "prompt": self.prompt,
            "images": [sha256_bytes(img) for img in self.images],
            "schema": self.schema,
        }


@dataclass
class Response:
    """A backend's answer: ``answer`` is schema-valid JSON, or ``None`` with ``error`` saying why."""

    answer: dict | None
    raw: str | None = None
    error: str | None = None
    usage: dict = field(default_factory=dict)
    attempts: int = 1
    cached: bool = False
    faults: list[str] = field(default_factory=list)  # retried problems (status codes, timeouts, bad JSON)

    @property
    def ok(self) -> bool:
        return self.answer is not None


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    import json

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def answer_error(answer: Any, schema: dict) -> str | None:
    """The first violation of ``schema`` by ``answer`` as a short message, or ``None`` when it is valid."""
    err = next(iter(_validator(canonical_json(schema)).iter_errors(answer)), None)
    if err is None:
        return None
    where = ".".join(map(str, err.absolute_path)) or "<root>"
    return f"{where}: {err.message}"[:300]


class Backend(ABC):
    """An annotator. Subclasses answer requests; caching and accounting live in :class:`~..asker.Asker`."""

    name: str = "base"
    cacheable: bool = True  # False for backends whose answers are cheaper to recompute than to store

    @classmethod
    def from_recipe(cls, recipe: Recipe) -> Backend:
        """The backend as ``recipe`` configures it (the chat backends read ``recipe.backend``).

        Construction is cheap and the result pickles, so a distributed run can build one per worker.
        """
        return cls(recipe.backend)  # type: ignore[call-arg]

    @abstractmethod
    def identity(self) -> dict:
        """What besides the request determines an answer (model, revision, generation settings): cache key part."""

    @abstractmethod
    def provenance(self) -> dict:
        """``{"annotator", "model_id", "model_revision", "vllm_version"}`` for the video records."""

    @abstractmethod
    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        """Answer every request (same order); failures come back as responses with ``error`` set, never raised.

        ``on_done(index, response)`` is called as soon as each answer is final (possibly from a worker thread),
        so the caller can store it before the rest of the batch returns.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or GPU memory."""
