"""Hub packaging: Parquet export with a dataset card, validation, publishing, and a checked ``load``."""

from .load import load

__all__ = ["load"]
