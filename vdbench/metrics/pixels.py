"""Validated videos on a network's pixel scale: uint8 as it is, float input by declared range.

Float input must declare its value range ('0-1', '-1-1', '0-255'): guessing would silently change
every metric. Each network maps a declared range to its own pixel scale, x ↦ a·x + b.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from vdbench.metrics.errors import InputError

# 0–255 pixels: what the FVD reference and the Inception graph are given.
RANGES_255 = {"0-255": (1.0, 0.0), "0-1": (255.0, 0.0), "-1-1": (127.5, 127.5)}
BOUNDS = {"0-255": (0.0, 255.0), "0-1": (0.0, 1.0), "-1-1": (-1.0, 1.0)}
TOLERANCE_255 = 1e-3  # on the 0–255 scale


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in this machine's byte order (torch refuses big-endian arrays); same values."""
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def to_pixels(videos, value_range: Optional[str] = None, *, min_frames: int = 1,
              exact_frames: Optional[int] = None, network: str = "the network",
              ranges: dict = RANGES_255) -> torch.Tensor:
    """Validate [N, T, H, W, 3] videos and return float32 pixels (uint8 kept as 0–255)."""
    x = torch.as_tensor(_native(np.asarray(videos)) if not torch.is_tensor(videos) else videos)
    if x.ndim != 5 or x.shape[-1] != 3:
        raise InputError(f"expected videos [N, T, H, W, 3], got shape {tuple(x.shape)}")
    if exact_frames is not None and x.shape[1] != exact_frames:
        raise InputError(f"{network} takes exactly {exact_frames} frames per video, got "
                         f"{x.shape[1]} (cut clips with --frames {exact_frames})")
    if x.shape[1] < min_frames:
        raise InputError(
            f"{network} needs at least {min_frames} frames per video, got {x.shape[1]}")
    if x.dtype == torch.uint8:
        if value_range not in (None, "0-255"):
            raise InputError(f"uint8 videos are 0-255, but value_range={value_range!r} was given")
        return x.to(torch.float32)
    if not torch.is_floating_point(x):
        raise InputError(f"expected uint8 or float videos, got dtype {x.dtype}")
    if value_range is None:
        raise InputError(
            f"float videos ({x.dtype}) need an explicit value_range ('0-1', '-1-1' or '0-255')"
        )
    if value_range not in ranges:
        raise InputError(f"unknown value_range {value_range!r}; use one of {list(ranges)}")
    x = x.to(torch.float32)
    if not torch.isfinite(x).all():
        raise InputError("videos contain NaN or inf")
    lo, hi = BOUNDS[value_range]
    tol = TOLERANCE_255 * (hi - lo) / 255.0
    if x.min() < lo - tol or x.max() > hi + tol:
        raise InputError(f"values fall outside the declared range {value_range}")
    scale, shift = ranges[value_range]
    return x * scale + shift
