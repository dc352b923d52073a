"""What goes into and comes out of an OpenAI-compatible chat completion: content parts, the request body
(JSON-schema constrained or free text) and the answer text and token counts of a reply."""

from __future__ import annotations

import base64
from typing import Any


def data_url(data: bytes, mime: str) -> str:
    """Encoded image bytes as a base64 ``data:`` URL (``mime`` e.g. ``image/jpeg``)."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def text_part(text: str) -> dict:
    """A text content part."""
    return {"type": "text", "text": text}


def image_part(url: str) -> dict:
    """An image content part (a ``data:`` URL or a link the server can fetch)."""
    return {"type": "image_url", "image_url": {"url": url}}


def chat_body(
    model: str,
    messages: list[dict],
    *,
    temperature: float,
    top_p: float,
    max_tokens: int,
    seed: int,
    schema: dict | None = None,
    schema_name: str = "answer",
    extra: dict[str, Any] | None = None,
) -> dict:
    """A chat-completions request body: free text, or constrained to ``schema`` (``response_format``
    ``json_schema``, strict). ``extra`` keys (server-specific options) are added last and win."""
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "top_p": top_p,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": True},
        }
    return {**body, **(extra or {})}


def reply_message(body: Any) -> dict | None:
    """The first choice's message of a reply body, or ``None`` when the body has none."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        return None
    return message if isinstance(message, dict) else None


def reply_text(body: Any) -> str | None:
    """The answer text of a reply (content parts joined; some servers send a list), ``None`` when absent."""
    content = (reply_message(body) or {}).get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else None


def reply_usage(body: Any) -> dict[str, int]:
    """``prompt_tokens`` and ``completion_tokens`` of a reply (0 where the server did not say)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    out = {}
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        out[key] = int(value or 0) if isinstance(value, int | float) else 0
    return out
