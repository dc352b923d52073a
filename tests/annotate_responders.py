"""Deterministic scripted VLM answers for the annotation pipeline's prompts (used with the loopback server)."""

from __future__ import annotations

import ast
import hashlib
import re

from loopback_openai import user_text

_IDS = re.compile(r"numbered: ([0-9, ]+)\.")
_EVIDENCE = re.compile(r"^- motion (\w+): you said .*?; the masks show (.+)$", re.M)
_COLOURS = ("red", "green", "blue", "yellow", "white", "black", "grey", "orange")


def _pick(text: str, salt: str, options: tuple[str, ...]) -> str:
    h = int(hashlib.sha256((salt + text).encode()).hexdigest(), 16)
    return options[h % len(options)]


def pipeline_responder(body: dict) -> dict:
    """A stand-in VLM: stage 1 describes every numbered target; stage 2 / re-asks describe the one target.

    Answers depend only on the prompt text, so they do not depend on arrival order.
    """
    text = user_text(body)
    m = _IDS.search(text)
    if m:  # stage 1
        ids = [int(x) for x in m.group(1).replace(" ", "").split(",") if x]
        return {
            "targets": [
                {
                    "id": i,
                    "category": "person",
                    "top_colour": _pick(f"{i}", "top", _COLOURS),
                    "bottom_colour": _pick(f"{i}", "bottom", _COLOURS),
                    "body_colour": None,
                    "upper_clothing": "jacket",
                    "lower_clothing": "jeans",
                    "carried_objects": [],
                    "position": "centre",
                    "action": "walking",
                }
                for i in ids
            ]
        }
    reask = "A check of your earlier answer" in text
    # First answer: a motion claim that is usually wrong (so stage 3 disagrees); when re-asked with the
    # evidence, this stand-in adopts what the masks show, as a careful VLM would.
    motion = {
        "direction": _pick(text, "dir", ("left", "right", "up", "down")),
        "speed": "moderate",
        "enter_side": "top",
        "exit_side": "bottom",
        "stops": 2,
        "turns": 0,
    }
    if reask:
        for key, value in _EVIDENCE.findall(text):
            motion[key] = ast.literal_eval(value)
    return {
        "category": "person",
        "top_colour": "red",
        "bottom_colour": "blue",
        "body_colour": None,
        "upper_clothing": "jacket",
        "lower_clothing": "jeans",
        "carried_objects": ["backpack"],
        "action": "running" if not reask else "running fast",
        "motion": motion,
    }
