"""How the package talks to vision-language models: one HTTP chat client for OpenAI-compatible servers
(:mod:`.chat_client`), the chat messages and bodies it sends (:mod:`.messages`), and one offline vLLM engine
(:mod:`.offline`). Annotation backends and harness adapters both use them."""

from __future__ import annotations

from .chat_client import ChatClient, ChatError, Completion, RetryPolicy
from .messages import chat_body, data_url, image_part, text_part
from .offline import OfflineVLM

__all__ = [
    "ChatClient",
    "ChatError",
    "Completion",
    "OfflineVLM",
    "RetryPolicy",
    "chat_body",
    "data_url",
    "image_part",
    "text_part",
]
