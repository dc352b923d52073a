"""The ``vllm`` backend: offline batched ``LLM.chat`` on a local GPU (the ``vllm`` extra; import-guarded).

Requests are sent as the same chat messages the ``openai`` backend posts (base64 JPEG ``image_url`` parts), with
structured decoding constrained to the answer's JSON Schema. Invalid answers are re-asked like the ``openai``
backend does; a request that still fails comes back as an error response.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...errors import TvauError
from ..recipe import BackendConfig
from .base import Backend, Request, Response
from .chat import checked_answer, generation_identity, messages_for, reask_messages


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise TvauError(
            "the vllm backend needs the vllm package (GPU)",
            field="backend.kind",
            fix="pip install 'tvau-bench[vllm]' on a GPU machine, or use the openai backend against `vllm serve`",
        ) from None
    return vllm


def _sampling_params(vllm, cfg: BackendConfig, schema: dict):
    """SamplingParams with JSON-schema constrained decoding, across vLLM API generations."""
    common = {
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "max_tokens": cfg.max_tokens,
        "seed": cfg.seed,
    }
    sp = vllm.SamplingParams
    try:  # vLLM >= 0.10.2
        from vllm.sampling_params import StructuredOutputsParams

        return sp(**common, structured_outputs=StructuredOutputsParams(json=schema))
    except (ImportError, TypeError):
        from vllm.sampling_params import GuidedDecodingParams

        return sp(**common, guided_decoding=GuidedDecodingParams(json=schema))


class VLLMBackend(Backend):
    """Offline vLLM: one ``LLM`` per process, batches of chats per call."""

    name = "vllm"

    def __init__(self, cfg: BackendConfig) -> None:
        self._vllm = _import_vllm()
        self.cfg = cfg
        args = {"model": cfg.model, "revision": cfg.revision, "seed": cfg.seed, **dict(cfg.vllm)}
        args.pop("version", None)
        self._llm = self._vllm.LLM(**args)

    def identity(self) -> dict:
        return generation_identity("vllm", self.cfg)

    def provenance(self) -> dict:
        return {
            "annotator": "vllm",
            "model_id": self.cfg.model,
            "model_revision": self.cfg.revision,
            "vllm_version": getattr(self._vllm, "__version__", None),
        }

    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        convs = [messages_for(r) for r in requests]
        out: list[Response | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for reask in range(self.cfg.max_reasks + 1):
            if not pending:
                break
            params = [_sampling_params(self._vllm, self.cfg, requests[i].schema) for i in pending]
            results = self._llm.chat([convs[i] for i in pending], sampling_params=params, use_tqdm=False)
            still = []
            for i, res in zip(pending, results, strict=True):
                text = res.outputs[0].text if res.outputs else None
                usage = {
                    "prompt_tokens": len(res.prompt_token_ids or []),
                    "completion_tokens": len(res.outputs[0].token_ids) if res.outputs else 0,
                }
                answer, why = checked_answer(text, requests[i].schema)
                if why is None:
                    out[i] = Response(answer, raw=text, usage=usage, attempts=reask + 1)
                    continue
                if reask == self.cfg.max_reasks:
                    out[i] = Response(
                        None, raw=text, error=f"invalid answer after {reask} re-asks: {why}", usage=usage
                    )
                    continue
                convs[i] = reask_messages(convs[i], text, why)
                still.append(i)
            pending = still
        final = [r if r is not None else Response(None, error="not answered") for r in out]
        if on_done is not None:
            for i, r in enumerate(final):
                on_done(i, r)
        return final

    def close(self) -> None:
        self._llm = None
