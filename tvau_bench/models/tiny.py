"""Tiny randomly initialised Qwen2.5-VL models and an in-code tokenizer (tests, CPU smoke runs, GPU shape checks).

No downloads: the tokenizer is a word-level ``tokenizers`` model over a given word list plus the special tokens
Qwen2.5-VL's chat format uses and the anomaly placeholder, wrapped as a ``PreTrainedTokenizerFast``. A real
checkpoint brings its own tokenizer (``AutoTokenizer``); :func:`ensure_anomaly_token` adds the placeholder to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .rae import ANOMALY_TOKEN

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    ANOMALY_TOKEN,
    "[UNK]",
)

BASE_WORDS = [
    "you",
    "are",
    "a",
    "helpful",
    "assistant",
    ".",
    "is",
    "there",
    "an",
    "anomaly",
    "in",
    "this",
    "video",
    "?",
    "answer",
    "yes",
    "or",
    "no",
    "yes",
    "no",
    "the",
    "describe",
    "appearance",
    "of",
    "anomalous",
    "target",
    "its",
    "motion",
    "trajectory",
    "anomaly",
    "evidence",
    ":",
    "person",
    "car",
    "bicycle",
    "wearing",
    "red",
    "blue",
    "green",
    "white",
    "black",
    "grey",
    "yellow",
    "top",
    "bottom",
    "shirt",
    "shorts",
    "trousers",
    "carrying",
    "bag",
    "umbrella",
    "enters",
    "from",
    "left",
    "right",
    "top",
    "bottom",
    "moves",
    "toward",
    "upper",
    "lower",
    "corner",
    "exits",
    "stops",
    "turns",
    "walks",
    "runs",
    ",",
    "and",
    "then",
]


def words_of(texts: Iterable[str]) -> list[str]:
    """The word-level tokens (words and punctuation) of some texts, in first-seen order."""
    seen: dict[str, None] = {}
    for t in texts:
        for w in re.findall(r"\w+|[^\w\s]", t.lower()):
            seen.setdefault(w, None)
    return list(seen)


def build_tokenizer(extra_texts: Iterable[str] = ()) -> Any:
    """A word-level fast tokenizer (lower-cased) over :data:`BASE_WORDS` + the words of ``extra_texts``."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in (*SPECIAL_TOKENS, *BASE_WORDS, *words_of(extra_texts)):
        vocab.setdefault(tok, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.add_tokens(list(SPECIAL_TOKENS[:-1]), special_tokens=True)
    return fast


def ensure_anomaly_token(tokenizer: Any) -> int:
    """Add ``<|anomaly_prompt_pad|>`` as a special token when missing; its id."""
    if ANOMALY_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([ANOMALY_TOKEN], special_tokens=True)
    return int(tokenizer.convert_tokens_to_ids(ANOMALY_TOKEN))


def tiny_qwen_config(tokenizer: Any, **overrides: Any) -> Any:
    """A Qwen2.5-VL config small enough for CPU tests, with its special ids taken from ``tokenizer``."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: int(tokenizer.convert_tokens_to_ids(t)) for t in SPECIAL_TOKENS}
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision = {
        "depth": 4,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 56,  # 2x2 merged tokens per window: several windows even on small frames
        "out_hidden_size": 64,
        "fullatt_block_indexes": [1, 3],
    }
    text.update(overrides.pop("text", {}))
    vision.update(overrides.pop("vision", {}))
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        **overrides,
    )


def qwen7b_config(tokenizer: Any) -> Any:
    """The Qwen2.5-VL-7B-Instruct shapes (random weights), with special ids from ``tokenizer``."""
    return tiny_qwen_config(
        tokenizer,
        text={
            "vocab_size": max(152064, len(tokenizer)),
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "max_position_embeddings": 128000,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": [16, 24, 24],
            },
        },
        vision={
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "window_size": 112,
            "out_hidden_size": 3584,
            "fullatt_block_indexes": [7, 15, 23, 31],
        },
    )


def build_tiny_qwen(tokenizer: Any, *, seed: int = 0, head_std: float = 0.3, **overrides: Any) -> Any:
    """A tiny random ``Qwen2_5_VLForConditionalGeneration`` (eval mode) for ``tokenizer``.

    The output head is drawn at a trained model's logit scale (std ``head_std`` instead of the init's 0.02): with
    the head frozen under LoRA, the default init would cap how confident any fine-tuning can make the model.
    """
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(tiny_qwen_config(tokenizer, **overrides))
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, head_std)
    return model.eval()


def save_tiny_lvlm(folder: str | Path, texts: Iterable[str], *, seed: int = 0) -> Path:
    """Save a tiny random Qwen2.5-VL and its tokenizer (vocabulary from ``texts``) to ``folder``
    (``save_pretrained`` layout, what ``--lvlm`` reads); returns the folder."""
    folder = Path(folder)
    tok = build_tokenizer(texts)
    build_tiny_qwen(tok, seed=seed).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
