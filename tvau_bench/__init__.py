"""tvau-bench: fine-grained video anomaly understanding (T-VAU) dataset construction and benchmark."""

__version__ = "0.1.0"

# Every package that provides harness adapters registers them on import (names and import paths only, no
# torch): importing them here makes the registry complete whatever a caller imports first.
from . import models as _model_adapters  # noqa: F401
from .harness.adapters import registry as _harness_adapters  # noqa: F401
