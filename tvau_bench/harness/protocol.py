"""The benchmark protocol: its version, its settings, the one-shot exemplar, and the fingerprint of a run.

Two runs are comparable exactly when their fingerprints are equal: the fingerprint hashes the dataset's content
identity (``BenchmarkData.identity``), the prompts, every sample's frame indices (with the rest of the sample
records), the resolution cap, the exemplar, the number of shots, the history mode and the generation settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import sha256_bytes, sha256_json
from ..errors import TvauError
from .frames import DEFAULT_MAX_SIDE
from .messages import HISTORY_MODES, turn_kinds
from .prompts import DEFAULT_PROMPT_SET, TURN_KINDS, PromptSet, load_prompt_set

PROTOCOL_VERSION = "1"


@dataclass(frozen=True)
class Protocol:
    """Everything that decides what a model is shown and how it may answer."""

    split: str = "test"
    shots: int = 1
    history: str = "own"
    max_side: int = DEFAULT_MAX_SIDE
    exemplar_seed: int = 0
    prompt_set: str = DEFAULT_PROMPT_SET
    generation: dict[str, Any] = field(default_factory=dict)
    include_unverified: bool = False  # also score samples whose target failed verification

    def __post_init__(self) -> None:
        if self.shots not in (0, 1):
            raise TvauError(f"shots must be 0 or 1, not {self.shots}", field="shots")
        if self.history not in HISTORY_MODES:
            raise TvauError(f"history must be one of {HISTORY_MODES}, not {self.history!r}", field="history")
        if not 32 <= self.max_side <= 4096:
            raise TvauError(f"max_side must be in 32..4096, not {self.max_side}", field="max_side")

    @property
    def prompts(self) -> PromptSet:
        return load_prompt_set(self.prompt_set)

    def as_dict(self) -> dict[str, Any]:
        extra = {"include_unverified": True} if self.include_unverified else {}  # default runs: unchanged
        return {
            "protocol_version": PROTOCOL_VERSION,
            "split": self.split,
            "shots": self.shots,
            "history": self.history,
            "max_side": self.max_side,
            "exemplar_seed": self.exemplar_seed,
            "prompt_set": self.prompt_set,
            "generation": dict(sorted(self.generation.items())),
            **extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, path: str | Path | None = None) -> Protocol:
        """The protocol :meth:`as_dict` recorded (a run's ``run.json``); ``path`` names that file in errors.

        ``protocol_version`` is not read here: which versions are accepted is the caller's decision.
        """
        try:
            return cls(
                split=d["split"],
                shots=d["shots"],
                history=d["history"],
                max_side=d["max_side"],
                exemplar_seed=d["exemplar_seed"],
                prompt_set=d["prompt_set"],
                generation=d["generation"],
                include_unverified=d.get("include_unverified", False),
            )
        except KeyError as exc:
            raise TvauError(f"protocol lacks {exc.args[0]!r}", path=path, field="protocol") from None


def choose_exemplar(train: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The one-shot exemplar: a verified abnormal train sample with its full dialogue, picked by ``seed``.

    The pick hashes the seed with the sorted candidate ids (no RNG whose algorithm could change between
    Python versions), so every model and machine gets the same exemplar. A sample whose target failed
    verification is never shown as the worked example: its gold answers may be wrong.
    """
    candidates = sorted(
        (
            s
            for s in train
            if is_verified(s)
            and turn_kinds(s) == list(TURN_KINDS)
            and {d["kind"] for d in s["dialogue"]} >= set(TURN_KINDS)
        ),
        key=lambda s: s["sample_id"],
    )
    if not candidates:
        raise TvauError(
            "no verified abnormal sample with a full dialogue to use as the one-shot exemplar",
            fix="use --shots 0, or a dataset with abnormal train samples",
        )
    digest = sha256_bytes(f"{seed}|{'|'.join(s['sample_id'] for s in candidates)}".encode())
    return candidates[int(digest, 16) % len(candidates)]


EXEMPLAR_POOLS = ("train", "validation")


def is_verified(sample: dict[str, Any]) -> bool:
    """Whether a sample's target passed verification (datasets without the field: every sample did)."""
    return sample.get("verified", True) is not False


def evaluation_set(
    samples_by_split: dict[str, list[dict[str, Any]]],
    split: str,
    shots: int,
    seed: int,
    *,
    include_unverified: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The samples a run scores, and its one-shot exemplar (``None`` at zero shots).

    Samples whose target failed verification (``verified`` false) are left out unless ``include_unverified``.

    The exemplar comes from the train split, else validation. A source whose training data is normal-only
    (ShanghaiTech) has no abnormal train clip: the exemplar is then drawn from the evaluated split itself and
    every sample of its video leaves the scored set, identically for every model (both enter the fingerprint).
    """
    samples = list(samples_by_split.get(split) or [])
    if not samples:
        have = sorted(k for k, v in samples_by_split.items() if v)
        raise TvauError(f"no samples in split {split!r}", fix=f"use one of {have}")
    if not include_unverified:
        samples = [s for s in samples if is_verified(s)]
    if not shots:
        return samples, None
    for pool in (*EXEMPLAR_POOLS, split):
        try:
            exemplar = choose_exemplar(samples_by_split.get(pool) or [], seed)
        except TvauError:
            continue
        if pool == split:
            samples = [s for s in samples if s["video_id"] != exemplar["video_id"]]
        return samples, exemplar
    return samples, choose_exemplar([], seed)  # raises the no-exemplar error


def fingerprint(
    protocol: Protocol, samples: Sequence[dict[str, Any]], exemplar: dict[str, Any] | None, dataset: str
) -> str:
    """SHA-256 of the dataset identity, the protocol settings, the prompts, the split's samples and the exemplar.

    ``dataset`` is ``BenchmarkData.identity``: a dataset changed in any shard or in its card fingerprints anew.
    """
    return sha256_json(
        {
            "dataset": dataset,
            "protocol": protocol.as_dict(),
            "prompts": protocol.prompts.as_dict(),
            "samples": sha256_json(sorted(samples, key=lambda s: s["sample_id"])),
            "exemplar": exemplar if protocol.shots else None,
        }
    )
