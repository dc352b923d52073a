"""The one interface every model adapter implements: a message list with images in, text out."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..._io import sha256_json
from ...errors import TvauError

if TYPE_CHECKING:
    from ..dataset import BenchmarkData
    from ..messages import Message
    from ..model_config import ModelConfig


# What every adapter may know of a sample and of its video besides the messages: which clip it is and the
# video's public metadata. The label, target and dialogue (the answers) and the video's annotated targets are
# not among them; only oracles (``Adapter.is_oracle``) see the full records and the source.
PUBLIC_SAMPLE_KEYS = ("sample_id", "video_id", "split", "start_frame", "end_frame", "frame_indices")
PUBLIC_VIDEO_KEYS = ("video_id", "source", "split", "scene", "num_frames", "fps", "width", "height")


def public_sample(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample record without its answers (label, target, dialogue, verification)."""
    return {k: sample[k] for k in PUBLIC_SAMPLE_KEYS if k in sample}


def public_video(video: dict[str, Any] | None) -> dict[str, Any] | None:
    """The video record's public metadata (no abnormal intervals, no targets)."""
    return None if video is None else {k: video[k] for k in PUBLIC_VIDEO_KEYS if k in video}


@dataclass(frozen=True)
class SampleContext:
    """What an adapter may look at besides the messages.

    ``kind`` is the turn being asked (``yes_no``, ``target`` or ``trajectory``). For a non-oracle adapter
    ``sample`` and ``video`` hold only :data:`PUBLIC_SAMPLE_KEYS` / :data:`PUBLIC_VIDEO_KEYS` and
    ``source_root`` is ``None``; an oracle gets the full records and the ``--video-root``.
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
    # An oracle reads the source (masks, full frames) or the ground truth: a ceiling, never ranked as a model.
    is_oracle: ClassVar[bool] = False
    max_concurrency: int = 1

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.generation = dict(config.generation)
        # The run's one-shot exemplar sample (None at zero shots), set by the runner before prepare().
        self.exemplar: dict[str, Any] | None = None

    def prepare(self, data: BenchmarkData, *, split: str, source_root: Path | None = None) -> None:
        """Called once before the first sample of ``split`` (offline baselines read the train split here).

        A non-oracle gets ``data`` with the answers of ``split`` removed (:func:`adapter_view`) and no
        ``source_root``.
        """

    def generate(self, messages: Sequence[Message], ctx: SampleContext) -> str:
        """The model's answer to the last user message of ``messages``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Backend details recorded in results.json (library versions, server model name)."""
        return {}

    def answer_settings(self) -> dict[str, Any]:
        """Fixed settings outside ``adapter_args`` that decide the answers (e.g. a detection rule); they enter
        the run's model hash, so a run folder never mixes answers made under different ones."""
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
    needed = [
        n
        for n, p in params.items()
        if n not in ("self", "config")
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and n not in args
    ]
    if needed:  # said here, in the config's and the command line's words, not as a Python signature
        raise TvauError(
            f"adapter {config.adapter!r} needs {', '.join(needed)}",
            path=config.path,
            field="adapter_args",
            fix=f"set {needed[0]} under adapter_args in the model config, or pass --adapter-arg {needed[0]}=...",
        )
    try:
        return cls(config, **args)
    except TypeError as exc:
        raise TvauError(str(exc), path=config.path, field="adapter_args") from None


def model_hash(config: ModelConfig, adapter: Adapter) -> str:
    """The run's model identity: the config's hash, with the adapter's :meth:`~Adapter.answer_settings`."""
    settings = adapter.answer_settings()
    return sha256_json({"config": config.hash(), **settings}) if settings else config.hash()


def adapter_view(adapter: Adapter, data: BenchmarkData, split: str) -> BenchmarkData:
    """The dataset as ``adapter`` may see it: all of it for an oracle; otherwise the evaluated split's samples
    and videos reduced to their public fields (other splits are training data and stay whole)."""
    if adapter.is_oracle:
        return data
    shown = {s["video_id"] for s in data.samples.get(split) or []}
    samples = {k: [public_sample(s) for s in v] if k == split else v for k, v in data.samples.items()}
    videos = {k: public_video(v) if k in shown else v for k, v in data.videos.items()}
    return replace(data, samples=samples, videos=videos, _by_id={})


def sample_context(
    adapter: Adapter,
    sample: dict[str, Any],
    video: dict[str, Any] | None,
    source_root: Path | None,
    kind: str,
) -> SampleContext:
    """The context of one turn: the full records for an oracle, the public ones otherwise."""
    if adapter.is_oracle:
        return SampleContext(sample, video, source_root, kind)
    return SampleContext(public_sample(sample), public_video(video), None, kind)
