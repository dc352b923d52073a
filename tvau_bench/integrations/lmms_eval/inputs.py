"""One sample's protocol inputs for lmms-eval, composed from the harness's public functions.

Frames come from :class:`~tvau_bench.harness.frames.FrameReader`, the message list from
:func:`~tvau_bench.harness.messages.exemplar_messages` and :func:`~tvau_bench.harness.messages.query_messages`,
the scored set and exemplar from :func:`~tvau_bench.harness.protocol.evaluation_set`: nothing here decides
what a model is shown. This module only translates the harness's message list into lmms-eval's two input
shapes (chat messages with roles; or, for single-message "simple" models, the images plus a flattened
transcript) and computes the evidence a logged sample carries to admission (fingerprint, digests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..._io import sha256_json
from ...errors import TvauError
from ...harness.dataset import BenchmarkData, load_benchmark
from ...harness.frames import DEFAULT_MAX_SIDE, FrameReader
from ...harness.messages import (
    HISTORY_MODES,
    Clip,
    Message,
    exemplar_messages,
    gold_answers,
    message_images,
    messages_digest,
    pixels_digest,
    query_messages,
    turn_kinds,
)
from ...harness.model_config import DEFAULT_GENERATION
from ...harness.protocol import PROTOCOL_VERSION, Protocol, evaluation_set, fingerprint

VIDEO_ROOT_ENV = "TVAU_VIDEO_ROOT"
# The gold-history variant asks every turn as its own single-turn request: its docs carry the turn's index.
TURN_FIELD = "tvau_turn"
KWARGS_FIELD = "lmms_eval_specific_kwargs"
RENDERINGS = ("chat", "flattened")
ROLE_LABELS = {"user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class TaskSettings:
    """What a task YAML fixes: the dataset, and the protocol settings a ``tvau-bench run`` takes as options."""

    dataset: str
    split: str = "test"
    history: str = "own"
    max_side: int = DEFAULT_MAX_SIDE
    exemplar_seed: int = 0
    video_root: str | None = None

    def protocol(self) -> Protocol:
        """The protocol of ``tvau-bench submit`` with these options (one shot, default generation settings)."""
        return Protocol(
            split=self.split,
            shots=1,
            history=self.history,
            max_side=self.max_side,
            exemplar_seed=self.exemplar_seed,
            generation=dict(DEFAULT_GENERATION),
        )

    def described(self) -> dict[str, Any]:
        """The settings a log records (the video root is where the frames were read, not what they are)."""
        out = asdict(self)
        out.pop("video_root")
        return out


def settings_from_kwargs(kwargs: dict[str, Any] | None) -> TaskSettings:
    """Settings from a task's ``lmms_eval_specific_kwargs``; ``$TVAU_VIDEO_ROOT`` overrides ``video_root``."""
    kwargs = kwargs or {}
    dataset = kwargs.get("tvau_dataset")
    if not isinstance(dataset, str) or not dataset:
        raise TvauError(
            "the task has no dataset to read the protocol from",
            field=f"{KWARGS_FIELD}.tvau_dataset",
            fix="use the task YAMLs from `tvau-bench integrations lmms-eval`",
        )
    history = kwargs.get("history", "own")
    if history not in HISTORY_MODES:
        raise TvauError(
            f"history must be one of {HISTORY_MODES}, not {history!r}", field=f"{KWARGS_FIELD}.history"
        )
    return TaskSettings(
        dataset=dataset,
        split=str(kwargs.get("split", "test")),
        history=history,
        max_side=int(kwargs.get("max_side", DEFAULT_MAX_SIDE)),
        exemplar_seed=int(kwargs.get("exemplar_seed", 0)),
        video_root=os.environ.get(VIDEO_ROOT_ENV) or kwargs.get("video_root") or None,
    )


def sample_from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``samples`` record of an lmms-eval doc (a Parquet row, plus the turn index of per-turn docs)."""
    from ...hub.features import from_arrow_row

    return from_arrow_row({k: v for k, v in doc.items() if k != TURN_FIELD}, "samples")


class TaskContext:
    """One dataset under one protocol: scored samples, exemplar, fingerprint, and the frames (read lazily)."""

    def __init__(self, settings: TaskSettings, data: BenchmarkData | None = None):
        self.settings = settings
        self.data = data or load_benchmark(settings.dataset)
        self.protocol = settings.protocol()
        scored, self.exemplar = evaluation_set(self.data.samples, settings.split, 1, settings.exemplar_seed)
        self.fingerprint = fingerprint(self.protocol, scored, self.exemplar, self.data.identity)
        self.scored_ids = frozenset(s["sample_id"] for s in scored)
        self._lock = threading.Lock()
        self._reader: FrameReader | None = None
        self._exemplar_images: tuple[np.ndarray, ...] | None = None

    # ---------------------------------------------------------------------------------------------- samples

    def record(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The dataset's record of ``doc``; a doc that differs from it (another dataset) is an error."""
        sid = doc.get("sample_id")
        try:
            record = self.data.sample(sid)
        except KeyError:
            raise TvauError(
                f"sample {sid!r} is not in dataset {self.data.name!r}",
                field=f"{KWARGS_FIELD}.tvau_dataset",
                fix="dataset_path and tvau_dataset of the task YAML must name the same dataset",
            ) from None
        if record["split"] != self.settings.split or sha256_json(sample_from_doc(doc)) != sha256_json(record):
            raise TvauError(
                f"sample {sid!r} of the lmms-eval dataset differs from the record in {self.data.name!r}",
                field=f"{KWARGS_FIELD}.tvau_dataset",
                fix="dataset_path, test_split and tvau_dataset/split of the task YAML must name the same data",
            )
        return record

    # ----------------------------------------------------------------------------------------------- frames

    def _frames(self) -> FrameReader:
        with self._lock:
            if self._reader is None:
                root = self.settings.video_root
                if not root:
                    raise TvauError(
                        "no video root to read the frames from",
                        field=f"{KWARGS_FIELD}.video_root",
                        fix=f"set {VIDEO_ROOT_ENV} to the source dataset's root",
                    )
                reader = FrameReader(root, self.data.videos, self.settings.max_side)
                # One decoding pass per video for the whole split, as in `tvau-bench run`.
                reader.plan((s["video_id"], s["frame_indices"]) for s in self.data.split(self.settings.split))
                self._reader = reader
            return self._reader

    def clip(self, sample: dict[str, Any], *, images: bool) -> Clip:
        """The sample's clip, with its capped RGB frames when ``images``."""
        pixels = tuple(self._frames().read(sample["video_id"], sample["frame_indices"])) if images else None
        return Clip(sample["video_id"], tuple(sample["frame_indices"]), pixels)

    def exemplar_clip(self, *, images: bool) -> Clip:
        ex = self.exemplar
        if images and self._exemplar_images is None:
            self._exemplar_images = tuple(self._frames().read(ex["video_id"], ex["frame_indices"]))
        return Clip(ex["video_id"], tuple(ex["frame_indices"]), self._exemplar_images if images else None)

    # --------------------------------------------------------------------------------------------- messages

    def messages(
        self, sample: dict[str, Any], n_turns: int, shown: Sequence[str], *, images: bool = True
    ) -> list[Message]:
        """The harness's message list for turn ``n_turns`` of ``sample`` with ``shown`` as earlier answers."""
        prompts = self.protocol.prompts
        prefix = exemplar_messages(prompts, self.exemplar_clip(images=images), self.exemplar)
        kinds = turn_kinds(sample)[:n_turns]
        return query_messages(prefix, prompts, self.clip(sample, images=images), kinds, list(shown))

    def shown(self, sample: dict[str, Any], turn: int, previous_output: Sequence[str] | None) -> list[str]:
        """The answers shown before turn index ``turn``: the model's own, or the gold ones."""
        if self.settings.history == "gold":
            gold = gold_answers(sample)
            return [gold[k] or "" for k in turn_kinds(sample)[:turn]]
        previous = list(previous_output or [])
        if len(previous) < turn:
            raise TvauError(
                f"turn {turn + 1} of {sample['sample_id']!r} needs the model's {turn} earlier answers, got "
                f"{len(previous)}",
                fix="run the own-history task with a model that supports generate_until_multi_round",
            )
        return [str(a) for a in previous[:turn]]

    def evidence(self, sample: dict[str, Any], rendering: str) -> dict[str, Any]:
        """What a logged sample proves about its inputs: the run fingerprint, the input and pixel digests.

        ``input_hash`` and ``frames_sha256`` are computed exactly as a ``tvau-bench run`` log row's.
        """
        kinds = turn_kinds(sample)
        gold = gold_answers(sample)
        by_ref = self.messages(sample, len(kinds), [gold[k] or "" for k in kinds[:-1]], images=False)
        pixels = [*self.exemplar_clip(images=True).images, *self.clip(sample, images=True).images]
        return {
            "fingerprint": self.fingerprint,
            "protocol_version": PROTOCOL_VERSION,
            "prompt_set": self.protocol.prompt_set,
            "settings": self.settings.described(),
            "exemplar": self.exemplar["sample_id"],
            "input_hash": messages_digest(by_ref),
            "frames_sha256": pixels_digest(pixels),
            "rendering": rendering,
            "scored": sample["sample_id"] in self.scored_ids,
        }


# ------------------------------------------------------------------------------------------------ renderings


def to_pil(image: np.ndarray):
    """An RGB ``uint8`` frame as a PIL image (same pixels)."""
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image))


def chat_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The harness's message list in lmms-eval's chat shape: same roles, same parts, same order."""
    out = []
    for m in messages:
        content = []
        for part in m["content"]:
            if part["type"] == "image":
                content.append({"type": "image", "url": to_pil(part["image"])})
            else:
                content.append({"type": "text", "text": part["text"]})
        out.append({"role": m["role"], "content": content})
    return out


def flat_text(messages: Sequence[Message]) -> str:
    """A single-message transcript of the list for "simple" models (images go separately, in order)."""
    lines = []
    for m in messages:
        text = " ".join(p["text"] for p in m["content"] if p["type"] == "text")
        lines.append(f"{ROLE_LABELS[m['role']]}: {text}")
    return "\n".join(lines)


def flat_images(messages: Sequence[Message]) -> list:
    """The list's frames, in order of appearance, as PIL images."""
    return [to_pil(img) for img in message_images(messages)]
