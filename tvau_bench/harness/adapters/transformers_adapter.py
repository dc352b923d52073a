"""A local Hugging Face vision-language model (``AutoModelForImageTextToText``) with its own processor and
chat template (needed for Idefics2, which vLLM does not serve).

The harness message list maps one to one onto the processor's chat format: image parts become
``{"type": "image"}`` placeholders, filled in order with the decoded frames. Remote code is never run unless
the config sets ``trust_remote_code: true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import TvauError
from ..messages import Message, message_images
from ..model_config import ModelConfig
from .base import Adapter, SampleContext


def to_hf_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Harness messages in the transformers chat-template format (images as placeholders, in order)."""
    out = []
    for m in messages:
        parts = [
            {"type": "image"} if p["type"] == "image" else {"type": "text", "text": p["text"]}
            for p in m["content"]
        ]
        out.append({"role": m["role"], "content": parts})
    return out


class TransformersAdapter(Adapter):
    """Greedy (or seeded sampling) generation with a local model path or Hub id."""

    needs_images = True

    def __init__(
        self,
        config: ModelConfig,
        model_path: str | None = None,
        device: str = "cpu",
        dtype: str = "auto",
        trust_remote_code: bool = False,
        processor_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(config)
        self.model_path = model_path or config.hf_id
        if not self.model_path:
            raise TvauError("the transformers adapter needs `model_path` or `hf_id`", path=config.path)
        self.device = device
        self.dtype = dtype
        self.trust_remote_code = bool(trust_remote_code)
        self.processor_kwargs = dict(processor_kwargs or {})
        self.model: Any = None
        self.processor: Any = None

    def load(self) -> None:
        """Load the processor and the model (once)."""
        if self.model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as exc:
            raise TvauError(
                f"the transformers adapter needs {exc.name}", fix="pip install 'tvau-bench[torch]'"
            ) from None
        revision = None if self.model_path != self.config.hf_id else self.config.revision
        common = {"revision": revision, "trust_remote_code": self.trust_remote_code}
        try:
            self.processor = AutoProcessor.from_pretrained(self.model_path, **common, **self.processor_kwargs)
            dtype = self.dtype if self.dtype == "auto" else getattr(torch, self.dtype)
            self.model = AutoModelForImageTextToText.from_pretrained(self.model_path, dtype=dtype, **common)
        except (OSError, ValueError, AttributeError, ImportError) as exc:
            raise TvauError(
                f"cannot load model or processor: {type(exc).__name__}: {exc}",
                path=self.model_path,
                fix="check the path/hf_id and revision; image processors of some models need torchvision installed",
            ) from None
        self.model.to(self.device).eval()

    def prepare(self, data, *, split, source_root=None) -> None:
        self.load()

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        import torch
        from PIL import Image

        self.load()
        images = message_images(messages)
        if any(img is None for img in images):
            raise TvauError("frames were not decoded", fix="pass --video-root")
        text = self.processor.apply_chat_template(
            to_hf_messages(messages), add_generation_prompt=True, tokenize=False
        )
        pil = [Image.fromarray(img) for img in images]
        inputs = self.processor(text=[text], images=pil or None, return_tensors="pt").to(self.device)
        gen = self.generation
        sample = gen["temperature"] > 0
        kwargs: dict[str, Any] = {"max_new_tokens": gen["max_new_tokens"], "do_sample": sample}
        if sample:
            kwargs.update(temperature=gen["temperature"], top_p=gen["top_p"])
            torch.manual_seed(gen["seed"])
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        new = out[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new, skip_special_tokens=True)[0].strip()

    def describe(self) -> dict[str, Any]:
        import transformers

        return {
            "transformers": transformers.__version__,
            "model_path": str(self.model_path),
            "device": self.device,
        }

    def close(self) -> None:
        self.model = None
        self.processor = None
