"""The one offline vLLM engine (``vllm.LLM`` on a local GPU; the ``vllm`` extra, imported only when used).

Conversations are the OpenAI chat messages the HTTP client posts, so a model answers the same whether it is
served (``vllm serve``) or loaded here. Sampling is free text or constrained to a JSON Schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import TvauError

# Set from the config's own fields, never from the free-form engine arguments.
RESERVED_ENGINE_ARGS = ("model", "revision", "seed")


def import_vllm(who: str, *, fix: str, path: str | None = None, field: str | None = None) -> Any:
    """The ``vllm`` module, or a :class:`TvauError` saying that ``who`` needs it and how to get it."""
    try:
        import vllm
    except ImportError:
        raise TvauError(f"the {who} needs vLLM (a GPU package)", path=path, field=field, fix=fix) from None
    return vllm


@dataclass(frozen=True)
class Generation:
    """One conversation's answer: the text and its token counts."""

    text: str | None
    prompt_tokens: int
    completion_tokens: int


class OfflineVLM:
    """``vllm.LLM(model=..., revision=..., seed=..., **engine_args)`` with chat and sampling helpers.

    ``who``, ``fix``, ``path`` and ``field`` name the caller in errors (a missing vLLM, a reserved engine
    argument given in ``engine_args``).
    """

    def __init__(
        self,
        model: str,
        *,
        revision: str | None,
        seed: int,
        engine_args: dict[str, Any],
        who: str,
        fix: str,
        path: str | None = None,
        field: str | None = None,
    ) -> None:
        clash = sorted(set(engine_args) & set(RESERVED_ENGINE_ARGS))
        if clash:
            raise TvauError(
                f"engine arguments may not set {clash}",
                path=path,
                field=field,
                fix="set the model, revision and seed in their own fields",
            )
        self.vllm = import_vllm(who, fix=fix, path=path)
        self.llm = self.vllm.LLM(model=model, revision=revision, seed=seed, **engine_args)

    @property
    def version(self) -> str | None:
        return getattr(self.vllm, "__version__", None)

    def sampling_params(
        self, *, temperature: float, top_p: float, max_tokens: int, seed: int, schema: dict | None = None
    ) -> Any:
        """``SamplingParams``; with ``schema``, decoding is constrained to it (across vLLM API generations)."""
        common = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "seed": seed}
        sp = self.vllm.SamplingParams
        if schema is None:
            return sp(**common)
        try:  # vLLM >= 0.10.2
            from vllm.sampling_params import StructuredOutputsParams

            return sp(**common, structured_outputs=StructuredOutputsParams(json=schema))
        except (ImportError, TypeError):
            from vllm.sampling_params import GuidedDecodingParams

            return sp(**common, guided_decoding=GuidedDecodingParams(json=schema))

    def chat(self, conversations: Sequence[list[dict]], params: Any, **kwargs: Any) -> list[Generation]:
        """Answer every conversation in one batch (``params``: one ``SamplingParams`` or one per conversation)."""
        results = self.llm.chat(list(conversations), params, use_tqdm=False, **kwargs)
        out = []
        for res in results:
            first = res.outputs[0] if res.outputs else None
            out.append(
                Generation(
                    text=None if first is None else first.text,
                    prompt_tokens=len(getattr(res, "prompt_token_ids", None) or []),
                    completion_tokens=len(getattr(first, "token_ids", None) or []),
                )
            )
        return out
