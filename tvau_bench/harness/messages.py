"""The message list every model is shown: optional one-shot exemplar exchange, then the query turns.

Messages are plain dicts in the common chat shape, ``{"role": "user"|"assistant", "content": [part, ...]}``,
with parts ``{"type": "text", "text": str}`` and ``{"type": "image", "ref": "VIDEO#FRAME", "image": array}``
(RGB ``uint8`` or ``None`` when the adapter needs no pixels). Adapters translate this one list into their
backend's format; nothing here depends on the model, so every adapter receives the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._io import sha256_bytes, sha256_json
from .prompts import TURN_KINDS, PromptSet

Message = dict[str, Any]
HISTORY_MODES = ("own", "gold")


@dataclass(frozen=True)
class Clip:
    """The frames of one sample: their references and (when decoded) their RGB pixels, in order."""

    video_id: str
    frame_indices: tuple[int, ...]
    images: tuple[np.ndarray, ...] | None = None

    def refs(self) -> list[str]:
        return [f"{self.video_id}#{i}" for i in self.frame_indices]


def turn_kinds(sample: dict[str, Any]) -> list[str]:
    """Turns asked for a sample: Yes/No always; target and trajectory for every ground-truth abnormal sample."""
    return list(TURN_KINDS) if sample["label"] == "Yes" else [TURN_KINDS[0]]


def gold_answers(sample: dict[str, Any]) -> dict[str, str | None]:
    """The reference answer per turn kind (``yes_no`` from the label; ``None`` where the turn is not asked)."""
    by_kind = {d["kind"]: d["answer"] for d in sample.get("dialogue", [])}
    out: dict[str, str | None] = {"yes_no": sample["label"], "target": None, "trajectory": None}
    if sample["label"] == "Yes":
        out["target"] = by_kind.get("target")
        out["trajectory"] = by_kind.get("trajectory")
    return out


def clip_content(prompts: PromptSet, clip: Clip, question: str) -> list[dict[str, Any]]:
    """The first user message of a clip: introduction, the frames in order, then the first question."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": prompts.intro(len(clip.frame_indices))}]
    images = clip.images if clip.images is not None else (None,) * len(clip.frame_indices)
    for ref, img in zip(clip.refs(), images, strict=True):
        parts.append({"type": "image", "ref": ref, "image": img})
    parts.append({"type": "text", "text": question})
    return parts


def dialogue_messages(
    prompts: PromptSet, clip: Clip, kinds: Sequence[str], history: Sequence[str]
) -> list[Message]:
    """User/assistant turns for one clip up to the question ``kinds[-1]``.

    ``history`` holds the answers shown for ``kinds[:-1]`` (the model's own or the gold ones); when
    ``len(history) == len(kinds)`` the last answer is included too (a complete exemplar exchange).
    """
    if not kinds or len(history) not in (len(kinds) - 1, len(kinds)):
        raise ValueError("history must hold one answer per earlier turn")
    messages: list[Message] = [
        {"role": "user", "content": clip_content(prompts, clip, prompts.question(kinds[0]))}
    ]
    for i, kind in enumerate(kinds):
        if i > 0:
            messages.append({"role": "user", "content": [{"type": "text", "text": prompts.question(kind)}]})
        if i < len(history):
            messages.append({"role": "assistant", "content": [{"type": "text", "text": history[i]}]})
    return messages


def exemplar_messages(prompts: PromptSet, clip: Clip, exemplar: dict[str, Any]) -> list[Message]:
    """The one-shot exchange: the exemplar clip with its full gold dialogue, as earlier user/assistant turns."""
    kinds = turn_kinds(exemplar)
    gold = gold_answers(exemplar)
    return dialogue_messages(prompts, clip, kinds, [gold[k] or "" for k in kinds])


def query_messages(
    prefix: Sequence[Message], prompts: PromptSet, clip: Clip, kinds: Sequence[str], history: Sequence[str]
) -> list[Message]:
    """The full list for one query turn: the exemplar ``prefix`` (empty for zero-shot), then the query dialogue."""
    return [*prefix, *dialogue_messages(prompts, clip, kinds, history)]


def messages_json(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """JSON form of a message list: images by reference only (what the input hash covers)."""
    out = []
    for m in messages:
        parts = []
        for p in m["content"]:
            parts.append({"type": "image", "ref": p["ref"]} if p["type"] == "image" else dict(p))
        out.append({"role": m["role"], "content": parts})
    return out


def messages_digest(messages: Sequence[Message]) -> str:
    """SHA-256 of the message list with images by reference: equal lists, equal digests."""
    return sha256_json(messages_json(messages))


def pixels_digest(images: Sequence[np.ndarray]) -> str:
    """SHA-256 over the decoded frames (shape, dtype and bytes), in order."""
    parts = [
        sha256_bytes(f"{a.shape}|{a.dtype}".encode() + np.ascontiguousarray(a).tobytes()) for a in images
    ]
    return sha256_json(parts)


def message_images(messages: Sequence[Message]) -> list[np.ndarray | None]:
    """The image arrays of a message list, in order of appearance."""
    return [p["image"] for m in messages for p in m["content"] if p["type"] == "image"]
