"""The versioned prompt set of the benchmark: one set, shipped in the package, identical for every model.

The prompt text is part of the protocol fingerprint: editing a prompt means a new file and a new version,
never an edit in place (old runs stay comparable with each other, and new runs are kept apart from them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import TvauError

DEFAULT_PROMPT_SET = "dialogue-v1"
TURN_KINDS = ("yes_no", "target", "trajectory")


@dataclass(frozen=True)
class PromptSet:
    """The texts a model is shown: the clip introduction (with ``{n}`` frames) and one question per turn."""

    version: str
    clip_intro: str
    questions: dict[str, str]

    def intro(self, num_frames: int) -> str:
        """The clip introduction for ``num_frames`` frames."""
        return self.clip_intro.format(n=num_frames)

    def question(self, kind: str) -> str:
        """The question of turn ``kind`` (``yes_no``, ``target`` or ``trajectory``)."""
        return self.questions[kind]

    def as_dict(self) -> dict[str, Any]:
        """JSON form (hashed into the protocol fingerprint)."""
        return {"version": self.version, "clip_intro": self.clip_intro, "questions": dict(self.questions)}


@cache
def load_prompt_set(version: str = DEFAULT_PROMPT_SET) -> PromptSet:
    """The shipped prompt set ``version`` (a file ``tvau_bench/prompts/{version}.json``)."""
    if not version.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise TvauError(f"invalid prompt set name {version!r}", fix=f"use e.g. {DEFAULT_PROMPT_SET!r}")
    try:
        text = resources.files("tvau_bench.prompts").joinpath(f"{version}.json").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        raise TvauError(
            f"unknown prompt set {version!r}", fix=f"use one of {available_prompt_sets()}"
        ) from None
    return parse_prompt_set(json.loads(text), where=f"tvau_bench/prompts/{version}.json")


def available_prompt_sets() -> list[str]:
    """Names of the shipped prompt sets."""
    folder = resources.files("tvau_bench.prompts")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def parse_prompt_set(obj: Any, *, where: str = "<prompt set>") -> PromptSet:
    """Check and build a :class:`PromptSet` from its JSON form."""
    if not isinstance(obj, dict):
        raise TvauError("a prompt set must be a JSON object", path=where)
    questions = obj.get("questions")
    if not isinstance(questions, dict) or set(questions) != set(TURN_KINDS):
        raise TvauError(
            f"questions must have exactly the keys {list(TURN_KINDS)}", path=where, field="questions"
        )
    for key in ("version", "clip_intro"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise TvauError("must be a non-empty string", path=where, field=key)
    if not all(isinstance(q, str) and q for q in questions.values()):
        raise TvauError("every question must be a non-empty string", path=where, field="questions")
    return PromptSet(obj["version"], obj["clip_intro"], {k: questions[k] for k in TURN_KINDS})
