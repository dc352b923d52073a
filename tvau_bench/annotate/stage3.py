"""Stage 3: cross-modal consistency verification.

Appearance: a weighted vote per attribute over the stage-1 frame answers and the stage-2 answer; answers that
disagree with the winner are outliers (recorded). Motion: the motion the annotator claimed (stage 2) against the
features measured on the masks of every frame (:func:`..motion.compare`). The consistency score is the mean of
the appearance agreement and, where a claim exists, the motion agreement. Below ``accept`` a target is re-asked
once with the evidence; it is then verified, flagged (kept, ``verified`` false) or quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .backends.base import Request
from .motion import compare
from .recipe import Recipe
from .timelines import Observation, vote


@dataclass
class Verdict:
    winners: dict
    appearance: float
    outliers: list = field(default_factory=list)
    motion_scores: dict | None = None
    consistency: float = 0.0

    @property
    def motion(self) -> float | None:
        if self.motion_scores is None:
            return None
        return sum(self.motion_scores.values()) / len(self.motion_scores)


def assess(
    observations: list[Observation], weights: list[int], claimed: dict | None, measured: dict
) -> Verdict:
    """Vote on appearance, compare the claimed motion (if any) with the measured one, and score."""
    winners, agreement, outliers = vote(observations, weights)
    scores = compare(claimed, measured) if claimed is not None else None
    v = Verdict(winners, agreement, outliers, scores)
    parts = [agreement] + ([v.motion] if v.motion is not None else [])
    v.consistency = round(min(1.0, max(0.0, sum(parts) / len(parts))), 4)
    return v


def status(consistency: float, recipe: Recipe) -> str:
    """ "verified" | "flagged" | "quarantined" for a final consistency score."""
    if consistency >= recipe.stage3.accept:
        return "verified"
    if consistency >= recipe.stage3.quarantine:
        return "flagged"
    return "quarantined"


_ATTR_FIELD = {"category": "category", "top": "top_colour", "bottom": "bottom_colour", "body": "body_colour"}


def evidence_text(
    verdict: Verdict, claimed: dict | None, measured: dict, stage2_obs: Observation | None
) -> str:
    """The disagreements in words, for the re-ask prompt."""
    lines = []
    if verdict.motion_scores is not None and claimed is not None:
        for key, score in verdict.motion_scores.items():
            if score < 1.0:
                lines.append(
                    f"- motion {key}: you said {claimed.get(key)!r}; the masks show {measured[key]!r}"
                )
    if stage2_obs is not None:
        for attr, win in verdict.winners.items():
            mine = getattr(stage2_obs, attr)
            if win is not None and mine != win:
                lines.append(
                    f"- {_ATTR_FIELD[attr]}: you said {mine!r}; most frame-level answers say {win!r}"
                )
    return "\n".join(lines) or "- the answers disagree across frames"


def reask_request(recipe: Recipe, stage2: Request, evidence: str, measured: dict) -> Request:
    """The stage-2 request asked again with the evidence (same images; the geometry attached for geometric)."""
    ev = stage2.evidence
    if ev is not None:
        ev = type(ev)(**{**ev.__dict__, "measured": dict(measured)})
    prompt = recipe.prompts["reask"].format(stage2=stage2.prompt, evidence=evidence)
    return Request(
        kind="reask",
        item=stage2.item,
        system=stage2.system,
        prompt=prompt.strip(),
        images=stage2.images,
        schema=stage2.schema,
        evidence=ev,
    )
