"""What the chat-model backends (``openai`` over HTTP, ``vllm`` offline) share: the chat messages of a request,
reading and checking an answer, the re-ask turn, and the generation settings that identify their answers.
The transport itself is :mod:`tvau_bench.vlm`."""

from __future__ import annotations

import json
import re

from ...vlm.messages import data_url, image_part, text_part
from ..recipe import BackendConfig
from .base import Request, answer_error

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def messages_for(req: Request) -> list[dict]:
    """The chat messages of a request: a system message, then one user message of text and image parts."""
    parts = [text_part(req.prompt), *(image_part(data_url(img, "image/jpeg")) for img in req.images)]
    return [{"role": "system", "content": req.system}, {"role": "user", "content": parts}]


def parse_answer(content: str | None) -> tuple[dict | None, str | None]:
    """JSON object from a model's text (a ```json fence is tolerated) or ``(None, why)``."""
    if content is None:
        return None, "empty answer"
    m = _FENCE.match(content)
    text = m.group(1) if m else content
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at char {exc.pos})"
    if not isinstance(obj, dict):
        return None, "the answer must be a JSON object"
    return obj, None


def checked_answer(content: str | None, schema: dict) -> tuple[dict | None, str | None]:
    """``(answer, None)`` when ``content`` is a JSON object valid against ``schema``, else ``(None, why)``."""
    answer, why = parse_answer(content)
    if answer is not None:
        why = answer_error(answer, schema)
    return (answer, None) if why is None else (None, why)


def reask_messages(messages: list[dict], content: str | None, why: str) -> list[dict]:
    """The conversation continued with the rejected answer and the request to answer again."""
    return [
        *messages,
        {"role": "assistant", "content": content or ""},
        {
            "role": "user",
            "content": f"Your answer was rejected: {why}. Reply again with only one JSON object "
            "that satisfies the required schema.",
        },
    ]


def sampling(cfg: BackendConfig) -> dict:
    """The generation settings, as keyword arguments of ``chat_body`` and ``OfflineVLM.sampling_params``."""
    return {
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "max_tokens": cfg.max_tokens,
        "seed": cfg.seed,
    }


def generation_identity(backend: str, cfg: BackendConfig) -> dict:
    """The cache-key part of a chat backend: its name, the model and the generation settings."""
    return {"backend": backend, "model": cfg.model, "revision": cfg.revision, **sampling(cfg)}


def provenance(backend: str, cfg: BackendConfig, vllm_version: str | None) -> dict:
    """The provenance record of a chat backend's answers (model and the vLLM that served it)."""
    return {
        "annotator": backend,
        "model_id": cfg.model,
        "model_revision": cfg.revision,
        "vllm_version": vllm_version,
    }
