"""The one interface every model adapter implements: a message list with images in, text out."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import TvauError

if TYPE_CHECKING:
    from ..dataset import BenchmarkData
    from ..messages import Message
    from ..model_config import ModelConfig


@dataclass(frozen=True)
class SampleContext:
    """What an offline baseline may look at besides the messages; model adapters ignore it.

    ``kind`` is the turn being asked (``yes_no``, ``target`` or ``trajectory``); ``source_root`` is the
    ``--video-root`` (``None`` when not given).
    """

    sample: dict[str, Any]
    video: dict[str, Any] | None
    source_root: Path | None
    kind: str


class Adapter:
    """Base class: subclasses set ``needs_images`` and implement :meth:`generate`.

    Constructed as ``Adapter(config, **config.adapter_args)``; unknown arguments are a config error.
    """

    needs_images: ClassVar[bool] = True
    max_concurrency: int = 1

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.generation = dict(config.generation)
        # The run's one-shot exemplar sample (None at zero shots), set by the runner before prepare().
        self.exemplar: dict[str, Any] | None = None

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        """Called once before the first sample of ``split`` (offline baselines read the train split here)."""

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        """The model's answer to the last user message of ``messages``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Backend details recorded in results.json (library versions, server model name)."""
        return {}

    def close(self) -> None:
        """Release servers, sessions, GPU memory."""


def build_adapter(cls: type[Adapter], config: ModelConfig, **overrides: Any) -> Adapter:
    """Instantiate ``cls`` with the config's ``adapter_args`` (plus ``overrides``), naming unknown arguments."""
    args = {**config.adapter_args, **overrides}
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        allowed = [n for n in params if n not in ("self", "config")]
        unknown = sorted(set(args) - set(allowed))
        if unknown:
            raise TvauError(
                f"adapter {config.adapter!r} does not take {unknown}",
                path=config.path,
                field="adapter_args",
                fix=f"allowed: {allowed}",
            )
    try:
        return cls(config, **args)
    except TypeError as exc:
        raise TvauError(str(exc), path=config.path, field="adapter_args") from None
