"""Context consistency for the `shapes` protocol, from the generator's known palette.

Do generated frames keep the sprites of the conditioning frame? Per frame, a palette colour is
present when at least ``min_pixels`` pixels lie within ``tolerance`` (L∞) of it; its area is that
pixel count. With C the colours of the conditioning frame and G those of a generated frame,

    score = (1 / |C ∪ G|) · Σ_{c ∈ C ∩ G} min(area_C(c), area_G(c)) / max(area_C(c), area_G(c))

1 means the same sprites with the same areas (a circle, square and triangle of one radius have
different areas, so a changed shape lowers the score); new or lost colours lower it too. Real
continuations score below 1 too (sprites occlude each other and leave the frame edge never, but
overlap): compare against the score of the real clips, which the protocol reports beside it.
"""

from __future__ import annotations

import numpy as np

from vdbench.metrics.base import MeanScore
from vdbench.metrics.networks import Array, FeatureNetwork, register_network
from vdbench.metrics.registry import register_metric
from vdbench.protocols.datasets.shapes import PALETTE

TOLERANCE, MIN_PIXELS = 40, 3
NETWORK = (f"shapes palette consistency: colour areas (L∞ ≤ {TOLERANCE}, ≥ {MIN_PIXELS} "
           "pixels) of each generated frame vs the last conditioning frame")


def colour_areas(frames: np.ndarray, tolerance: int = TOLERANCE,
                 min_pixels: int = MIN_PIXELS) -> np.ndarray:
    """[..., H, W, 3] uint8 → [..., len(PALETTE)] pixel counts (0 where a colour is absent)."""
    diff = np.abs(frames[..., None, :].astype(np.int16) - PALETTE.astype(np.int16))
    near = diff.max(axis=-1) <= tolerance  # [..., H, W, P]
    areas = near.sum(axis=(-3, -2))
    return np.where(areas >= min_pixels, areas, 0)


def frame_scores(context: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """context [B, H, W, 3], frames [B, T, H, W, 3] → scores [B, T] in [0, 1]."""
    a = colour_areas(context)[:, None, :].astype(np.float64)  # [B, 1, P]
    g = colour_areas(frames).astype(np.float64)  # [B, T, P]
    both = (a > 0) & (g > 0)
    ratio = np.where(both, np.minimum(a, g) / np.maximum(np.maximum(a, g), 1), 0.0)
    union = ((a > 0) | (g > 0)).sum(axis=-1)
    return np.where(union > 0, ratio.sum(axis=-1) / np.maximum(union, 1), 1.0)


def context_consistency(real: np.ndarray, videos: np.ndarray, context_frames: int) -> list[float]:
    """Per-sample mean score of the generated frames against the last conditioning frame."""
    context = real[:, max(context_frames, 1) - 1]
    generated = videos[:, context_frames:]
    return frame_scores(context, generated).mean(axis=1).tolist()


class PixelScorer:
    """A paired scorer (vdbench.metrics.networks) computed from the pixels alone: one score per
    generated video against its real clip. No network, no weights."""

    network = ""
    preprocessing = "uint8 frames as they are"

    def __init__(self, device: str = "cpu", weights=None):
        del device, weights  # pure numpy: nothing to load
        self.weights_sha256: dict[str, str] = {}  # known: there are no weights


class ContextConsistency(PixelScorer):
    """Each generated video against its real clip's conditioning frame."""

    network = NETWORK

    def score(self, videos: np.ndarray, real: np.ndarray, context_frames: int) -> np.ndarray:
        return np.asarray(context_consistency(real, videos, context_frames), dtype=np.float64)


register_network(FeatureNetwork(
    "context_consistency", "context_consistency", "shapes protocol: sprites kept from the "
    "conditioning frame", f"{__name__}:ContextConsistency", f"{__name__}:NETWORK", paired=True))
register_metric(MeanScore(
    "context_consistency", Array("context_consistency"), "shapes protocol: mean consistency of "
    "the generated frames' sprites with the conditioning frame (and of the real clips)",
    value_range=(0.0, 1.0)))
