"""A procedural stand-in for BAIR's structure: coloured sprites moving on a plain background.

Each video holds 1–3 sprites (circle, square, triangle) of distinct palette colours. A sprite
moves with a random velocity that is redrawn at random times (probability ``turn_prob`` per
frame) and bounces off the walls. Frames are rendered at 4× resolution and box-downsampled,
so edges are anti-aliased. Everything is a pure function of (split seed, video index): the same
video comes out on every machine, in any order, at any batch size. This is *not* BAIR and is
never reported as BAIR; it exists so that the harness runs end to end with no downloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vdbench.protocols.datasets.base import VideoDataset, fingerprint_params

SHAPES = ("circle", "square", "triangle")
# Saturated, well-separated colours (RGB) on a dark grey background.
PALETTE = np.array([[230, 60, 50], [60, 200, 80], [70, 110, 240], [240, 210, 60],
                    [200, 80, 220], [60, 210, 220]], dtype=np.uint8)
BACKGROUND = np.array([40, 40, 40], dtype=np.uint8)
SPLIT_SEEDS = {"train": 1, "test": 2}
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Sprite:
    shape: str
    colour: int  # index into PALETTE
    radius: float  # in pixels of the output resolution
    path: np.ndarray  # [T, 2] centre (y, x) per frame, output pixels


def sprite_paths(rng: np.random.Generator, frames: int, size: int, radius: float,
                 turn_prob: float) -> np.ndarray:
    """[T, 2] centres: piecewise-constant random velocity, reflected at the walls."""
    lo, hi = radius, size - radius
    pos = rng.uniform(lo, hi, size=2)
    speed = size / 32.0
    vel = rng.uniform(-1.5, 1.5, size=2) * speed
    path = np.empty((frames, 2))
    for t in range(frames):
        path[t] = pos
        if rng.random() < turn_prob:
            vel = rng.uniform(-1.5, 1.5, size=2) * speed
        pos = pos + vel
        for axis in range(2):  # bounce: reflect the position and the velocity
            if pos[axis] < lo:
                pos[axis], vel[axis] = 2 * lo - pos[axis], -vel[axis]
            elif pos[axis] > hi:
                pos[axis], vel[axis] = 2 * hi - pos[axis], -vel[axis]
    return path


def sprite_mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float,
                r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy * dy + dx * dx <= r * r
    if shape == "square":
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    # Upward triangle inscribed in the circle of radius r: below the two slanted edges.
    return (dy <= r * 0.5) & (dy >= -r + 2 * np.abs(dx) * 0.866 * 1.15)


def make_sprites(rng: np.random.Generator, frames: int, size: int,
                 turn_prob: float) -> list[Sprite]:
    count = int(rng.integers(1, 4))
    colours = rng.choice(len(PALETTE), size=count, replace=False)
    sprites = []
    for colour in colours:
        radius = float(rng.uniform(0.1, 0.16)) * size
        sprites.append(Sprite(SHAPES[int(rng.integers(len(SHAPES)))], int(colour), radius,
                              sprite_paths(rng, frames, size, radius, turn_prob)))
    return sprites


def render(sprites: list[Sprite], frames: int, size: int) -> np.ndarray:
    """uint8 [T, size, size, 3]; later sprites are drawn over earlier ones."""
    hi = size * SUPERSAMPLE
    coords = (np.arange(hi) + 0.5) / SUPERSAMPLE
    video = np.empty((frames, size, size, 3), dtype=np.uint8)
    for t in range(frames):
        canvas = np.broadcast_to(BACKGROUND.astype(np.float32), (hi, hi, 3)).copy()
        for s in sprites:
            cy, cx = s.path[t]
            # Only the sprite's bounding box (in supersampled pixels) needs a mask.
            ys = slice(max(0, int((cy - s.radius) * SUPERSAMPLE) - 1),
                       min(hi, int((cy + s.radius) * SUPERSAMPLE) + 2))
            xs = slice(max(0, int((cx - s.radius) * SUPERSAMPLE) - 1),
                       min(hi, int((cx + s.radius) * SUPERSAMPLE) + 2))
            yy, xx = np.meshgrid(coords[ys], coords[xs], indexing="ij")
            canvas[ys, xs][sprite_mask(s.shape, yy, xx, cy, cx, s.radius)] = PALETTE[s.colour]
        small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
        video[t] = np.round(small).astype(np.uint8)
    return video


@dataclass(frozen=True)
class ShapesDataset(VideoDataset):
    """``num_videos`` deterministic videos of ``frames`` frames at ``size``×``size``."""

    split: str = "train"
    num_videos: int = 1000
    size: int = 32
    frames: int = 30
    turn_prob: float = 0.08

    def __post_init__(self) -> None:
        if self.split not in SPLIT_SEEDS:
            raise ValueError(f"unknown split {self.split!r}; expected one of {list(SPLIT_SEEDS)}")
        if self.size < 8 or self.frames < 1 or self.num_videos < 1:
            raise ValueError("size must be ≥ 8 and frames, num_videos ≥ 1")

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"shapes/{self.split}"

    def __len__(self) -> int:
        return self.num_videos

    def sprites(self, index: int) -> list[Sprite]:
        if not 0 <= index < self.num_videos:
            raise IndexError(f"video {index} out of range [0, {self.num_videos})")
        rng = np.random.default_rng([SPLIT_SEEDS[self.split], index])
        return make_sprites(rng, self.frames, self.size, self.turn_prob)

    def _read(self, index: int) -> np.ndarray:
        return render(self.sprites(index), self.frames, self.size)

    def video(self, index: int) -> np.ndarray:
        return self._read(index)

    def describe(self) -> dict:
        return {"dataset": "shapes (procedural, not BAIR)", "split": self.split,
                "videos": self.num_videos, "size": self.size, "frames": self.frames,
                "turn_prob": self.turn_prob}

    def fingerprint(self, indices: Optional[Sequence[int]] = None) -> str:
        """Made in code, read from no file: its generator's parameters (video ``i`` is a pure
        function of them and ``i``)."""
        return fingerprint_params(self.describe())


def open_shapes(split: str = "test", size: int = 32, videos: int = 256, frames: int = 30
                ) -> ShapesDataset:
    """The sprites set a protocol reads: at least 256 videos of at least 30 frames, more when the
    protocol needs them. A video is a function of its length, so the floors keep the videos of
    every protocol up to 256 clips and 30 frames identical (quick runs nest in paper runs)."""
    return ShapesDataset(split, max(videos, 256), size, frames=max(frames, 30))
