"""Readers and writers for the source dataset layouts (UBnormal, ShanghaiTech) behind one contract (``base``).

``open_source(root)`` detects the layout of a root and returns its reader; ``registry.SOURCES`` lists the
sources (one :class:`SourceSpec` per source module).
"""

from .base import SPLITS, Box, Interval, LayoutReport, Source, SourceObject, SourceSpec, SourceVideo, TrackRow
from .layout import detect_layout, open_source
from .registry import SOURCES
from .shanghaitech import ShanghaiTechSource
from .ubnormal import UBnormalSource

__all__ = [
    "SOURCES",
    "SPLITS",
    "Box",
    "Interval",
    "LayoutReport",
    "ShanghaiTechSource",
    "Source",
    "SourceObject",
    "SourceSpec",
    "SourceVideo",
    "TrackRow",
    "UBnormalSource",
    "detect_layout",
    "open_source",
]
