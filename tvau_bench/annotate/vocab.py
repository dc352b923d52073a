"""The closed vocabularies annotators answer in, and the JSON Schemas of their answers.

Enumerations keep VLM answers comparable across frames (so votes mean something) and let a vLLM server
constrain decoding. UBnormal's class names are included (its pickle spells "motocycle", normalised here).
"""

from __future__ import annotations

from .colours import COLOUR_NAMES
from .motion import DIRECTION_VALUES, SIDES, SPEEDS

CATEGORIES = (
    "person",
    "bicycle",
    "motorcycle",
    "skateboard",
    "car",
    "van",
    "truck",
    "bus",
    "ambulance",
    "policecar",
    "animal",
    "smoke",
    "fire",
    "other",
)
_ALIASES = {
    "motocycle": "motorcycle",
    "police car": "policecar",
    "police_car": "policecar",
    "pedestrian": "person",
}
POSITIONS = (
    "top-left",
    "top",
    "top-right",
    "left",
    "centre",
    "right",
    "bottom-left",
    "bottom",
    "bottom-right",
)
CARRIED = (
    "backpack",
    "bag",
    "handbag",
    "suitcase",
    "umbrella",
    "box",
    "phone",
    "bottle",
    "stick",
    "ball",
    "other",
)
PERSON_LIKE = ("person", "bicycle", "motorcycle", "skateboard")  # a person is visible: top/bottom apply


def normalise_category(name: str | None) -> str:
    """A source or model category name mapped into :data:`CATEGORIES` ("other" when unknown)."""
    if not name:
        return "other"
    n = name.strip().lower()
    n = _ALIASES.get(n, n)
    return n if n in CATEGORIES else "other"


def _nullable(values: tuple[str, ...]) -> dict:
    return {"enum": [*values, None]}


def _appearance_props() -> dict:
    return {
        "category": {"enum": list(CATEGORIES)},
        "top_colour": _nullable(COLOUR_NAMES),
        "bottom_colour": _nullable(COLOUR_NAMES),
        "body_colour": _nullable(COLOUR_NAMES),
        "upper_clothing": {"type": ["string", "null"], "maxLength": 40},
        "lower_clothing": {"type": ["string", "null"], "maxLength": 40},
        "carried_objects": {"type": "array", "items": {"enum": list(CARRIED)}, "maxItems": 4},
        "action": {"type": "string", "minLength": 1, "maxLength": 60},
    }


def _obj(props: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


STAGE1_SCHEMA = _obj(
    {
        "targets": {
            "type": "array",
            "maxItems": 64,
            "items": _obj(
                {"id": {"type": "integer"}, **_appearance_props(), "position": {"enum": list(POSITIONS)}}
            ),
        }
    }
)

MOTION_PROPS = {
    "direction": {"enum": list(DIRECTION_VALUES)},
    "speed": {"enum": list(SPEEDS)},
    "enter_side": {"enum": list(SIDES)},
    "exit_side": {"enum": list(SIDES)},
    "stops": {"type": "integer", "minimum": 0, "maximum": 20},
    "turns": {"type": "integer", "minimum": 0, "maximum": 20},
}

STAGE2_SCHEMA = _obj({**_appearance_props(), "motion": _obj(dict(MOTION_PROPS))})


def position_of(x: float, y: float, width: int, height: int) -> str:
    """3×3 grid cell name of a point."""
    col = min(2, max(0, int(3 * x / max(width, 1))))
    row = min(2, max(0, int(3 * y / max(height, 1))))
    return POSITIONS[row * 3 + col]
