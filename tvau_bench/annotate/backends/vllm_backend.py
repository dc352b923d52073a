"""The ``vllm`` backend: offline batched chat on a local GPU (:class:`tvau_bench.vlm.OfflineVLM`; the ``vllm``
extra, import-guarded).

Requests are sent as the same chat messages the ``openai`` backend posts (base64 JPEG ``image_url`` parts), with
decoding constrained to the answer's JSON Schema. Invalid answers are re-asked like the ``openai`` backend
does; a request that still fails comes back as an error response. The engine is loaded on the first batch, so
a backend that has not answered yet pickles (a distributed run builds one engine per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...vlm.offline import OfflineVLM, import_vllm
from ..recipe import BackendConfig
from . import chat
from .base import Backend, Request, Response

_FIX = "pip install 'tvau-bench[vllm]' on a GPU machine, or use the openai backend against `vllm serve`"


class VLLMBackend(Backend):
    """Offline vLLM: one engine per process, batches of chats per call."""

    name = "vllm"

    def __init__(self, cfg: BackendConfig) -> None:
        import_vllm("vllm backend", fix=_FIX, field="backend.kind")  # fail at set-up, not at the first batch
        self.cfg = cfg
        self._engine: OfflineVLM | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_engine": None}

    def engine(self) -> OfflineVLM:
        """The loaded engine (loaded on first use)."""
        if self._engine is None:
            # "version" pins the vLLM of a served model (provenance), it is no engine argument
            args = {k: v for k, v in dict(self.cfg.vllm).items() if k != "version"}
            self._engine = OfflineVLM(
                self.cfg.model,
                revision=self.cfg.revision,
                seed=self.cfg.seed,
                engine_args=args,
                who="vllm backend",
                fix=_FIX,
                field="backend.vllm",
            )
        return self._engine

    def identity(self) -> dict:
        return chat.generation_identity("vllm", self.cfg)

    def provenance(self) -> dict:
        vllm = import_vllm("vllm backend", fix=_FIX)
        return chat.provenance("vllm", self.cfg, getattr(vllm, "__version__", None))

    def answer_many(
        self, requests: Sequence[Request], on_done: Callable[[int, Response], None] | None = None
    ) -> list[Response]:
        if not requests:
            return []
        c = self.cfg
        engine = self.engine()
        convs = [chat.messages_for(r) for r in requests]
        out: list[Response | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for reask in range(c.max_reasks + 1):
            if not pending:
                break
            params = [engine.sampling_params(**chat.sampling(c), schema=requests[i].schema) for i in pending]
            results = engine.chat([convs[i] for i in pending], params)
            still = []
            for i, res in zip(pending, results, strict=True):
                usage = {"prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens}
                answer, why = chat.checked_answer(res.text, requests[i].schema)
                if why is None:
                    out[i] = Response(answer, raw=res.text, usage=usage, attempts=reask + 1)
                    continue
                if reask == c.max_reasks:
                    out[i] = Response(
                        None, raw=res.text, error=f"invalid answer after {reask} re-asks: {why}", usage=usage
                    )
                    continue
                convs[i] = chat.reask_messages(convs[i], res.text, why)
                still.append(i)
            pending = still
        final = [r if r is not None else Response(None, error="not answered") for r in out]
        if on_done is not None:
            for i, r in enumerate(final):
                on_done(i, r)
        return final

    def close(self) -> None:
        self._engine = None
