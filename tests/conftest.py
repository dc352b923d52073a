"""Shared test setup: quiet progress bars; session-wide synthetic sources are built once per worker."""

import os

os.environ.setdefault("TVAU_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
