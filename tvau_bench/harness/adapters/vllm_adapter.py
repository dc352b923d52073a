"""Offline vLLM (:class:`tvau_bench.vlm.OfflineVLM`) on a local GPU; optional: needs the ``vllm`` extra.

The messages are sent in the same OpenAI chat format (PNG data URLs) as the ``openai`` adapter, so a model
scores the same whether it is served (``vllm serve`` + ``openai``) or loaded here. Requests run one at a time
(``LLM`` is not thread-safe); for throughput use ``vllm serve`` with the ``openai`` adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import TvauError
from ...vlm.offline import OfflineVLM
from ..dataset import BenchmarkData
from ..messages import Message, message_images
from ..model_config import ModelConfig
from .base import Adapter, SampleContext
from .openai_adapter import to_openai_messages


class VLLMAdapter(Adapter):
    """``vllm.LLM`` with greedy (or seeded) sampling; ``engine_args`` go to ``LLM(...)`` unchanged."""

    needs_images = True

    def __init__(
        self,
        config: ModelConfig,
        model: str | None = None,
        chat_template: str | None = None,
        engine_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(config)
        self.model = model or config.hf_id
        if not self.model:
            raise TvauError("the vllm adapter needs `model` or `hf_id`", path=config.path)
        self.chat_template = chat_template
        self.engine_args = dict(engine_args or {})
        self.llm: Any = None
        self._params: Any = None

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        # vLLM reserves memory for the most images a prompt may hold: exemplar frames + query frames.
        frames = [len(x["frame_indices"]) for sp in (split, "train") for x in data.samples.get(sp, [])]
        images = 2 * max(frames, default=8)
        gen = self.generation
        self.llm = OfflineVLM(
            self.model,
            revision=self.config.revision,
            seed=gen["seed"],
            engine_args={"limit_mm_per_prompt": {"image": images}, **self.engine_args},
            who="vllm adapter",
            fix="pip install 'tvau-bench[vllm]' on a GPU machine, or serve the "
            "model with `vllm serve` and use the openai adapter",
            path=self.config.path,
            field="adapter_args.engine_args",
        )
        self._params = self.llm.sampling_params(
            temperature=gen["temperature"],
            top_p=gen["top_p"],
            max_tokens=gen["max_new_tokens"],
            seed=gen["seed"],
        )

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        if self.llm is None:
            raise TvauError("prepare() was not called")
        if any(img is None for img in message_images(messages)):
            raise TvauError("frames were not decoded", fix="pass --video-root")
        (out,) = self.llm.chat([to_openai_messages(messages)], self._params, chat_template=self.chat_template)
        return out.text or ""

    def describe(self) -> dict[str, Any]:
        if self.llm is None:
            return {"model": self.model}
        return {"vllm": self.llm.version, "model": self.model}

    def close(self) -> None:
        self.llm = None
