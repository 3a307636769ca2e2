"""Fréchet Video Distance as the reference computes it (google-research/frechet_video_distance).

Pipeline: uint8 videos [N, T, H, W, 3] → TF1 bilinear resize of every frame to 224×224 →
2·x/255 − 1 → I3D (TF-Hub i3d-kinetics-400/1) time-averaged logits [N, 400] → Gaussian
statistics in float64 → Fréchet distance (TF-GAN formula). Streams: memory does not grow with N.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import numpy as np
import torch

from metrics.errors import InputError
from metrics.frechet import GaussianStats, frechet_distance
from metrics.i3d import INPUT_SIZE, MIN_FRAMES, NUM_CLASSES
from metrics.resize import resize_bilinear_tf1

NETWORK = "i3d-kinetics-400/1 logits (time-averaged)"
PREPROCESSING = "tf1 resize_bilinear 224x224 (half_pixel_centers=False), 2x/255-1"

# Declared value ranges of float input, mapped to the reference's 0–255 scale: x ↦ a·x + b.
VALUE_RANGES = {"0-255": (1.0, 0.0), "0-1": (255.0, 0.0), "-1-1": (127.5, 127.5)}


def to_unit_range_255(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """Validate [N, T, H, W, 3] videos and return float32 on the 0–255 scale.

    uint8 is taken as 0–255. Float input must declare its ``value_range`` ('0-1', '-1-1',
    '0-255'): guessing would silently change the FVD.
    """
    x = torch.as_tensor(np.asarray(videos) if not torch.is_tensor(videos) else videos)
    if x.ndim != 5 or x.shape[-1] != 3:
        raise InputError(f"expected videos [N, T, H, W, 3], got shape {tuple(x.shape)}")
    if x.shape[1] < MIN_FRAMES:
        raise InputError(f"I3D needs at least {MIN_FRAMES} frames per video, got {x.shape[1]}")
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
    if value_range not in VALUE_RANGES:
        raise InputError(f"unknown value_range {value_range!r}; use one of {list(VALUE_RANGES)}")
    x = x.to(torch.float32)
    if not torch.isfinite(x).all():
        raise InputError("videos contain NaN or inf")
    scale, shift = VALUE_RANGES[value_range]
    x = x * scale + shift
    if x.min() < -1e-3 or x.max() > 255 + 1e-3:
        raise InputError(f"values fall outside the declared range {value_range}")
    return x


def preprocess(videos, value_range: Optional[str] = None) -> torch.Tensor:
    """[N, T, H, W, 3] → I3D input [N, 3, T, 224, 224] in [−1, 1] (reference `preprocess`)."""
    x = resize_bilinear_tf1(to_unit_range_255(videos, value_range), (INPUT_SIZE, INPUT_SIZE))
    x = 2.0 * x / 255.0 - 1.0
    # [N, T, H, W, C] → [N, C, T, H, W]: a view with channels_last_3d strides, which oneDNN's
    # convolutions prefer; no copy.
    return x.permute(0, 4, 1, 2, 3)


class I3DFeatures:
    """FeatureExtractor: uint8 videos [B, T, H, W, 3] → float32 logits [B, 400]."""

    name = "i3d"
    dim = NUM_CLASSES

    def __init__(self, model: Optional[torch.nn.Module] = None, device: str = "cpu"):
        from metrics.i3d_weights import load_i3d

        self.device = torch.device(device)
        self.model = model if model is not None else load_i3d(device=self.device)
        self.model = self.model.to(memory_format=torch.channels_last_3d)

    @torch.inference_mode()
    def __call__(self, videos, value_range: Optional[str] = None) -> np.ndarray:
        x = preprocess(videos, value_range).to(self.device)
        return self.model(x).float().cpu().numpy()


def accumulate(features: Iterable[np.ndarray], dim: int = NUM_CLASSES) -> GaussianStats:
    stats = GaussianStats(dim)
    for f in features:
        stats.update(f)
    return stats


def fvd_from_features(real: np.ndarray, generated: np.ndarray) -> float:
    return frechet_distance(GaussianStats.from_features(real), GaussianStats.from_features(generated))
