"""Readers and writers for the source dataset layouts (UBnormal, ShanghaiTech) behind one contract (``base``).

``open_source(root)`` detects the layout of a root and returns its reader.
"""

from .base import SPLITS, Box, Interval, LayoutReport, Source, SourceObject, SourceVideo, TrackRow
from .layout import detect_layout, open_source
from .shanghaitech import ShanghaiTechSource
from .ubnormal import UBnormalSource

__all__ = [
    "SPLITS",
    "Box",
    "Interval",
    "LayoutReport",
    "ShanghaiTechSource",
    "Source",
    "SourceObject",
    "SourceVideo",
    "TrackRow",
    "UBnormalSource",
    "detect_layout",
    "open_source",
]
