"""tvau-bench: fine-grained video anomaly understanding (T-VAU) dataset construction and benchmark."""

__version__ = "0.1.0"
