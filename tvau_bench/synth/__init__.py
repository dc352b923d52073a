"""Procedural synthetic scenes written in the UBnormal and ShanghaiTech layouts, with ground truth.

A fixed camera looks at textured grass, a road and walkways; people (with palette-coloured tops and trousers,
some carrying a backpack, bag or umbrella), bicycles, skateboarders and cars move about. Normal: walking along
the walkways with the flow, standing, cars and bicycles on the road. Abnormal: running, cycling /
skateboarding / driving on the walkway, falling and lying down, loitering, zig-zagging, walking against the
flow, jumping, fighting, and walking that turns into running (once or twice). ``generate`` writes both layouts
and a ``truth.jsonl`` per root; everything is a deterministic function of the seed and sizes.

Unlike the real UBnormal, the train split holds the same anomaly kinds as the test split, so a model trained
on the train split can learn to localise them.
"""

from .writer import PRESETS, SynthConfig, generate

__all__ = ["PRESETS", "SynthConfig", "generate"]
