"""Where weights and statistics live: $VDBENCH_CACHE, else the platform's user cache dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    root = os.environ.get("VDBENCH_CACHE") or platformdirs.user_cache_dir("vdbench")
    return Path(root).expanduser()


def weights_dir() -> Path:
    return cache_dir() / "weights"


def downloads_dir() -> Path:
    return cache_dir() / "downloads"
