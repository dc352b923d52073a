"""Sentences from voted attributes: the appearance text of a target and its action (pure, deterministic)."""

from __future__ import annotations

_GARMENT_DEFAULT = ("top", "trousers")
_VEHICLES = {"car", "van", "truck", "bus", "ambulance", "policecar"}
_NOUN = {"policecar": "police car", "other": "object"}


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def garment(colour: str | None, garment: str | None, default: str) -> str | None:
    if not colour and not garment:
        return None
    g = (garment or default).strip().lower()
    if colour and colour not in g.split():
        g = f"{colour} {g}"
    return g


def _clothes(colours: dict, upper: str | None, lower: str | None) -> str:
    top = garment(colours.get("top"), upper, _GARMENT_DEFAULT[0])
    bottom = garment(colours.get("bottom"), lower, _GARMENT_DEFAULT[1])
    parts = []
    if top:
        parts.append(_a(top) if not top.endswith("s") else top)
    if bottom:
        parts.append(bottom if bottom.endswith("s") else _a(bottom))
    return " and ".join(parts)


def appearance_sentence(
    category: str,
    colours: dict,
    upper: str | None = None,
    lower: str | None = None,
    carried: tuple[str, ...] = (),
) -> str:
    """E.g. "A person in a red top and blue trousers, carrying a backpack." or "A white car."."""
    clothes = _clothes(colours, upper, lower)
    body = colours.get("body")
    if category == "person":
        text = "A person" + (f" in {clothes}" if clothes else "")
    elif category in ("bicycle", "motorcycle"):
        rider = "cyclist" if category == "bicycle" else "motorcyclist"
        vehicle = f"{body} {category}" if body else category
        text = f"A {rider}" + (f" in {clothes}" if clothes else "") + f" riding {_a(vehicle)}"
    elif category == "skateboard":
        board = f"{body} skateboard" if body else "skateboard"
        text = "A skateboarder" + (f" in {clothes}" if clothes else "") + f" on {_a(board)}"
    else:
        noun = _NOUN.get(category, category)
        text = _a(f"{body} {noun}" if body else noun)
        text = text[0].upper() + text[1:]
    if carried:
        items = [_a(c) for c in carried]
        text += ", carrying " + (items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1])
    return text + "."


def action_sentence(actions: list[str]) -> str:
    """E.g. ["walking", "running"] → "It is walking, then running."."""
    acts = [a for i, a in enumerate(actions) if a and (i == 0 or a != actions[i - 1])]
    if not acts:
        return ""
    return "It is " + ", then ".join(acts) + "."
