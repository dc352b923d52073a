"""Stage 3: cross-modal consistency verification.

Appearance: a weighted vote per attribute over the stage-1 frame answers and the stage-2 answer; answers that
disagree with the winner are outliers (recorded). Motion: the motion the annotator claimed (stage 2) against the
features measured on the masks of every frame (:func:`..motion.compare`). The consistency score is the mean of
the appearance agreement and, where a claim exists, the motion agreement. Below ``accept`` a target is re-asked
once with the evidence; it is then verified, flagged (kept, ``verified`` false) or quarantined.
"""

from __future__ import annotations

from .asker import Asker
from .backends.base import Request
from .motion import compare
from .recipe import Recipe
from .stage2 import observation
from .state import Target, Verdict, VideoState
from .timelines import Observation, vote


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


def run(recipe: Recipe, asker: Asker, state: VideoState) -> None:
    """Assess every target; re-ask (once, with the evidence) each stage-2 answer below ``accept``."""
    reasks: list[tuple[Target, Request]] = []
    for t in state.targets.values():
        _assess(t, recipe)
        if recipe.stage3.reask and t.answered_s2 and t.verdict.consistency < recipe.stage3.accept:
            measured = t.measured.features()
            text = evidence_text(t.verdict, t.s2.answer["motion"], measured, observation(t.s2))
            reasks.append((t, reask_request(recipe, t.s2_request, text, measured)))
    state.counts.add("stage3_reasked", len(reasks))
    for (t, req), resp in zip(reasks, asker.ask([r for _, r in reasks]), strict=True):
        if resp.ok:
            t.s2 = resp
            _assess(t, recipe)
        else:
            state.quarantine.failed(req, resp, "stage3", "re-ask failed")


def settle(recipe: Recipe, state: VideoState, t: Target) -> None:
    """Set the target's final status, and record its appearance outliers (and the target itself, unless it is
    verified) in the quarantine. An abnormal target without a stage-2 answer, or a target nobody described, is
    quarantined."""
    t.status = status(t.verdict.consistency, recipe)
    if t.obj.is_abnormal and not t.answered_s2:
        t.status = "quarantined"
    if not t.obs and not t.answered_s2:
        t.status = "quarantined"
        t.reasons.append("no annotator answer")
    state.counts.add(f"stage3_{t.status}")
    state.counts.consistency.append(t.verdict.consistency)
    for o in t.verdict.outliers:
        state.quarantine.add(t.item, "stage3", "appearance outlier", o)
    if t.status != "verified":
        state.quarantine.add(t.item, "stage3", f"target {t.status}", _verdict_evidence(t))


def _assess(t: Target, recipe: Recipe) -> None:
    """Vote over the stage-1 observations and the stage-2 answer (weighted), and check its motion claim."""
    obs = list(t.obs)
    weights = [1] * len(obs)
    claimed = None
    s2obs = observation(t.s2) if t.s2 is not None else None
    if s2obs is not None:
        obs.append(s2obs)
        weights.append(recipe.stage3.stage2_weight)
        claimed = t.s2.answer["motion"]
    t.verdict = assess(obs, weights, claimed, t.measured.features())


def _verdict_evidence(t: Target) -> dict:
    v = t.verdict
    return {
        "consistency": v.consistency,
        "appearance_agreement": round(v.appearance, 4),
        "motion_agreement": None if v.motion is None else round(v.motion, 4),
        "motion_scores": v.motion_scores,
        "measured_motion": t.measured.features(),
        "claimed_motion": t.s2.answer["motion"] if t.answered_s2 else None,
        "reasons": t.reasons,
    }


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
