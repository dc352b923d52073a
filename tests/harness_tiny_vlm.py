"""A tiny randomly initialised Qwen2.5-VL saved as a local model folder, built in code (no downloads).

transformers 5 cannot construct ``Qwen2_5_VLProcessor`` without torchvision (its video processor base class
needs it, and the processor checks every sub-processor, even an absent one). The benchmark only sends
images, so :class:`TinyQwenImageProcessor` is the same processor without the video part: same image-token
expansion, same chat-template handling, registered with ``AutoProcessor`` so the adapter loads it from the
folder exactly as it loads a real checkpoint's processor.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _processor_class():
    from transformers import Qwen2_5_VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class TinyQwenImageProcessor(Qwen2_5_VLProcessor):
        """``Qwen2_5_VLProcessor`` for images only (no video processor, hence no torchvision)."""

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = "<|image_pad|>"
            self.video_token = "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return TinyQwenImageProcessor


def register() -> type:
    """Register the image-only processor with ``AutoProcessor`` (idempotent); returns the class."""
    from transformers import AutoProcessor, Qwen2_5_VLConfig

    cls = _processor_class()
    AutoProcessor.register(Qwen2_5_VLConfig, cls, exist_ok=True)
    return cls


def build_tiny_vlm(folder: Path, texts: list[str]) -> Path:
    """Save a tiny random Qwen2.5-VL model with its processor (tokenizer covering ``texts``) to ``folder``."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from tvau_bench.models.tiny import build_tokenizer, tiny_qwen_config

    cls = register()
    tokenizer = build_tokenizer(texts)
    image_processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56)
    processor = cls(image_processor=image_processor, tokenizer=tokenizer, chat_template=TEMPLATE)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(tiny_qwen_config(tokenizer)).eval()
    processor.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
