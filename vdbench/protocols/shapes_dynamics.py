"""Sprite dynamics for the shapes protocols, from the generator's known motion rules.

Context consistency (shapes_consistency.py) asks whether the observed sprites are still there;
a generator that repeats the observed frame keeps them perfectly and scores 0.99, above real
continuations. This score asks whether they move as the sprites' generator moves them
(protocols/datasets/shapes.py): each sprite keeps a velocity of at most ``V_MAX`` pixels per
frame per axis (at 32×32; the speed scales with the resolution), redrawn at random times, and
bounces off the walls. A sprite's position is the centroid of its colour's coverage (each
pixel's fraction of the palette colour over the background, so positions are sub-pixel).

For each sprite colour of the last conditioning frame and each generated frame t (the step
from frame t − 1), the step is *plausible* when the sprite is found in both frames and

- it moved: speed ≥ ``V_MIN`` (a real sprite stands still with probability ≈ 2%);
- it did not jump: |Δ| ≤ ``V_MAX`` + ``POSITION_TOLERANCE`` per axis;
- it kept its velocity: |Δ_t − Δ_{t−1}| ≤ ``ACCELERATION_TOLERANCE`` per axis (not checked on
  the first step, which has no previous one). Turns, bounces and occlusions break this for
  real sprites too, which is why real continuations score below 1.

score = plausible steps / (sprites × generated frames); 1 where the conditioning frame shows no
sprite. Repeating the observed frame scores 0 (nothing moves); sprites drawn afresh score low
(the observed ones are gone, or jump on the first step); compare with the real clips' score,
which the protocol reports beside it.
"""

from __future__ import annotations

import numpy as np

from vdbench.metrics.base import MeanScore
from vdbench.metrics.networks import Array, FeatureNetwork, register_network
from vdbench.metrics.registry import register_metric
from vdbench.protocols.datasets.shapes import BACKGROUND, PALETTE
from vdbench.protocols.shapes_consistency import PixelScorer

# Pixels per frame at 32×32. The generator draws each velocity component uniformly in
# [-1.5, 1.5] (datasets/shapes.py, sprite_paths); the tolerances cover the centroid's error on
# anti-aliased, sometimes occluded sprites (measured on the test clips: median 0.1 px).
V_MAX, V_MIN = 1.5, 0.25
POSITION_TOLERANCE, ACCELERATION_TOLERANCE = 0.5, 1.0
COLOUR_TOLERANCE, MIN_AREA = 30.0, 4.0
NETWORK = (f"shapes sprite dynamics: coverage centroids of the conditioning frame's palette "
           f"colours (residual ≤ {COLOUR_TOLERANCE:g}, area ≥ {MIN_AREA:g} px); steps within "
           f"[{V_MIN:g}, {V_MAX:g} + {POSITION_TOLERANCE:g}] px/frame per 32 px, velocity "
           f"change ≤ {ACCELERATION_TOLERANCE:g} px")


def coverage(frames: np.ndarray, tolerance: float = COLOUR_TOLERANCE) -> np.ndarray:
    """uint8 [..., H, W, 3] → [..., H, W, P]: each pixel's fraction α of palette colour p over
    the background (pixel = α·p + (1 − α)·background, as the renderer's box filter blends an
    edge), 0 where the pixel is off that line by more than ``tolerance`` (L∞)."""
    bg = BACKGROUND.astype(np.float64)
    pixel = frames.astype(np.float64)[..., None, :] - bg  # [..., H, W, 1, 3]
    colour = PALETTE.astype(np.float64) - bg  # [P, 3]
    alpha = np.clip((pixel * colour).sum(-1) / (colour * colour).sum(-1), 0.0, 1.0)
    residual = np.abs(pixel - alpha[..., None] * colour).max(-1)
    return np.where((residual <= tolerance) & (alpha > 0.05), alpha, 0.0)


def centroids(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [..., H, W, 3] → (centres [..., P, 2] as (y, x) in pixels, found [..., P]: the
    colour covers at least ``MIN_AREA`` pixels)."""
    weight = coverage(frames)
    area = weight.sum(axis=(-3, -2))
    height, width = frames.shape[-3:-1]
    yy = (np.arange(height) + 0.5)[:, None, None]
    xx = (np.arange(width) + 0.5)[None, :, None]
    safe = np.maximum(area, 1e-9)
    centre = np.stack([(weight * yy).sum(axis=(-3, -2)) / safe,
                       (weight * xx).sum(axis=(-3, -2)) / safe], axis=-1)
    return centre, area >= MIN_AREA


def observed_and_generated(videos: np.ndarray, real: np.ndarray,
                           context_frames: int) -> np.ndarray:
    """[B, 1 + G, H, W, 3]: the real clip's last conditioning frame, then the G generated
    frames (unconditional: the video's own first frame, then the others)."""
    if context_frames == 0:
        return videos
    return np.concatenate([real[:, context_frames - 1:context_frames],
                           videos[:, context_frames:]], axis=1)


def plausible_steps(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """frames uint8 [B, 1 + G, H, W, 3] (the observed frame first) → (plausible [B, G, P],
    observed [B, P]): per palette colour, whether each step follows the sprites' dynamics (see
    the module docstring), and whether the colour is a sprite of the observed frame."""
    track, found = centroids(frames)  # [B, 1 + G, P, 2], [B, 1 + G, P]
    scale = frames.shape[-2] / 32.0
    step = np.diff(track, axis=1)  # [B, G, P, 2]
    both = found[:, 1:] & found[:, :-1]
    moved = np.linalg.norm(step, axis=-1) >= V_MIN * scale
    bounded = (np.abs(step) <= (V_MAX + POSITION_TOLERANCE) * scale).all(axis=-1)
    change = np.abs(np.diff(step, axis=1)).max(axis=-1)  # [B, G - 1, P]
    # the first step has no previous one; later ones need the previous step measured too
    steady = np.concatenate([np.ones_like(both[:, :1]),
                             (change <= ACCELERATION_TOLERANCE * scale) & both[:, :-1]], axis=1)
    return both & moved & bounded & steady, found[:, 0]


def sprite_dynamics(videos: np.ndarray, real: np.ndarray, context_frames: int) -> np.ndarray:
    """Per-video fraction of plausible steps of the observed sprites, float64 [B]."""
    plausible, observed = plausible_steps(observed_and_generated(videos, real, context_frames))
    counted = plausible & observed[:, None, :]
    total = observed.sum(axis=-1) * plausible.shape[1]
    return np.where(total > 0, counted.sum(axis=(1, 2)) / np.maximum(total, 1), 1.0)


class SpriteDynamics(PixelScorer):
    """One score per generated video, its steps starting at its real clip's last conditioning
    frame."""

    network = NETWORK

    def score(self, videos: np.ndarray, real: np.ndarray, context_frames: int) -> np.ndarray:
        return sprite_dynamics(np.asarray(videos), np.asarray(real), context_frames)


register_network(FeatureNetwork(
    "sprite_dynamics", "sprite_dynamics", "shapes protocol: the observed sprites move as the "
    "sprite generator moves them", f"{__name__}:SpriteDynamics", f"{__name__}:NETWORK",
    paired=True))
register_metric(MeanScore(
    "sprite_dynamics", Array("sprite_dynamics"), "shapes protocol: mean fraction of the "
    "observed sprites' steps that follow the sprites' dynamics (and of the real clips)",
    value_range=(0.0, 1.0)))
