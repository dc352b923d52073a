"""E_t: class text embeddings S_c for {normal, abnormal} from many templated prompt sentences.

Three ways to get S_c, one module (:class:`ClassTextEmbeddings`) to hold them:
- ``from_token_embeddings``: the mean of an LVLM's own input token embeddings over every token of many templated
  sentences per class (the default when an LVLM is present; no gradient flows into the LVLM);
- ``hashed``: the same pooling over a fixed random table keyed by token text, for models without an LVLM (the
  CPU AHD): deterministic, so the same sentences always give the same S_c;
- ``learned``: trainable S_c (optionally initialised from either of the above).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import torch
from torch import nn

CLASSES = ("normal", "abnormal")

# Words that describe each state; crossed with the templates below. Kept generic: the anomaly types of the test
# split are unseen in training (UBnormal's open-set protocol), so the prompts name the state, not the event.
STATE_WORDS: dict[str, tuple[str, ...]] = {
    "normal": ("normal", "usual", "ordinary", "regular", "typical", "everyday", "expected", "common"),
    "abnormal": (
        "abnormal",
        "anomalous",
        "unusual",
        "irregular",
        "atypical",
        "strange",
        "unexpected",
        "rare",
    ),
}
OBJECT_WORDS = ("person", "pedestrian", "object", "target", "vehicle", "region", "event", "activity")
TEMPLATES = (
    "a photo of a {state} {obj}.",
    "a video frame showing a {state} {obj}.",
    "a surveillance frame with a {state} {obj}.",
    "this is a {state} {obj} in the scene.",
    "a {state} {obj} seen by a surveillance camera.",
    "there is a {state} {obj} here.",
)


def class_sentences(cls: str) -> list[str]:
    """Every templated prompt sentence of one class (``"normal"`` or ``"abnormal"``), in a fixed order."""
    if cls not in STATE_WORDS:
        raise ValueError(f"unknown class {cls!r}; expected one of {CLASSES}")
    return [t.format(state=s, obj=o) for t in TEMPLATES for s in STATE_WORDS[cls] for o in OBJECT_WORDS]


@torch.no_grad()
def pool_token_embeddings(
    embed: nn.Embedding, tokenize: Callable[[str], Sequence[int]], classes: Sequence[str] = CLASSES
) -> torch.Tensor:
    """(C, D) float32: per class, the mean input-token embedding over every token of its sentences."""
    rows = []
    for cls in classes:
        ids = [i for s in class_sentences(cls) for i in tokenize(s)]
        if not ids:
            raise ValueError(f"the tokenizer produced no tokens for the {cls!r} sentences")
        idx = torch.tensor(ids, dtype=torch.long, device=embed.weight.device)
        rows.append(embed(idx).float().mean(0))
    return torch.stack(rows).cpu()


def _word_vector(word: str, dim: int) -> torch.Tensor:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(dim, generator=gen)


def hashed_embeddings(dim: int, classes: Sequence[str] = CLASSES) -> torch.Tensor:
    """(C, D): the sentence pooling of :func:`pool_token_embeddings` over a deterministic random word table."""
    rows = []
    for cls in classes:
        words = [w.strip(".,").lower() for s in class_sentences(cls) for w in s.split()]
        rows.append(torch.stack([_word_vector(w, dim) for w in words]).mean(0))
    return torch.stack(rows)


class ClassTextEmbeddings(nn.Module):
    """Holds S_c (C, D); a buffer when frozen, a parameter when learned."""

    def __init__(self, init: torch.Tensor, *, learned: bool = False) -> None:
        super().__init__()
        init = init.detach().float().clone()
        self.learned = learned
        if learned:
            self.s_c = nn.Parameter(init)
        else:
            self.register_buffer("s_c", init)

    @property
    def dim(self) -> int:
        return int(self.s_c.shape[-1])

    def forward(self) -> torch.Tensor:
        """(C, D) S_c."""
        return self.s_c

    @classmethod
    def from_lvlm(
        cls, embed: nn.Embedding, tokenize: Callable[[str], Sequence[int]], *, learned: bool = False
    ) -> ClassTextEmbeddings:
        """S_c pooled from an LVLM's input embedding table with its tokenizer."""
        return cls(pool_token_embeddings(embed, tokenize), learned=learned)

    @classmethod
    def hashed(cls, dim: int, *, learned: bool = False) -> ClassTextEmbeddings:
        """S_c from the deterministic hashed word table (no LVLM needed)."""
        return cls(hashed_embeddings(dim), learned=learned)
