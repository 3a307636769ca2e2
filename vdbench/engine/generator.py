"""The one interface the runner drives: ``VideoGenerator.generate(request) -> uint8 videos``.

Bring your own model with ``--model pkg.module:factory``: the factory is called with keyword
arguments (``resolution``, ``frames``, ``device``) and returns an object with a ``name`` and a
``generate`` method. Seeds come from the protocol (one per sample), so a generator that draws
its noise from ``request.seeds`` gives results independent of batch size and world size.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from vdbench.metrics.errors import InputError


@dataclass(frozen=True)
class GenerationRequest:
    """Generate ``len(seeds)`` videos of ``frames`` frames at ``resolution``².

    ``context``: uint8 [B, context_frames, H, W, 3], the observed first frames (video
    prediction), or None (unconditional). The returned videos include the context frames.
    ``captions``: one caption per sample (text-to-video), or None. ``text``: float caption
    embeddings [B, L, D] or [B, D] of those captions (what the included model conditions on),
    or None; a generator that is not text-conditional ignores both.
    """

    seeds: tuple[int, ...]
    frames: int
    resolution: int
    context: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    captions: Optional[tuple[str, ...]] = None
    text: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        n = len(self.seeds)
        if self.context is not None:
            c = self.context
            if c.dtype != np.uint8 or c.ndim != 5 or c.shape[0] != n:
                raise InputError(f"context must be uint8 [{n}, T, H, W, 3], "
                                 f"got {c.dtype} {c.shape}")
        if self.captions is not None and (len(self.captions) != n or
                                          not all(isinstance(c, str) for c in self.captions)):
            raise InputError(f"captions must be {n} strings (one per seed), got "
                             f"{len(self.captions)} items")
        t = self.text
        if t is not None and (not isinstance(t, np.ndarray) or t.dtype.kind != "f"
                              or t.ndim not in (2, 3) or t.shape[0] != n):
            raise InputError(f"text must be float caption embeddings [{n}, L, D] or [{n}, D], "
                             f"got {getattr(t, 'dtype', type(t).__name__)} "
                             f"{getattr(t, 'shape', '')}")


@runtime_checkable
class VideoGenerator(Protocol):
    name: str

    def generate(self, request: GenerationRequest) -> np.ndarray:
        """uint8 [len(request.seeds), request.frames, resolution, resolution, 3]."""
        ...


def sample_seed(protocol_seed: int, clip: int, sample: int) -> int:
    """The seed of sample ``sample`` of clip ``clip``: a pure function of the three indices."""
    state = np.random.SeedSequence([protocol_seed, clip, sample]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1  # 62-bit, non-negative


def check_output(videos, request: GenerationRequest, name: str) -> np.ndarray:
    expect = (len(request.seeds), request.frames, request.resolution, request.resolution, 3)
    videos = np.asarray(videos)
    if videos.shape != expect or videos.dtype != np.uint8:
        raise InputError(f"generator {name!r} returned {videos.dtype} {videos.shape}, "
                         f"expected uint8 {expect}")
    return videos


def load_factory(spec: str, **kwargs) -> VideoGenerator:
    """``pkg.module:factory`` → factory(**kwargs); the current folder is importable."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"--model {spec!r} must look like package.module:factory")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise InputError(f"--model {spec!r}: cannot load ({err})") from err
    generator = factory(**kwargs)
    if not isinstance(generator, VideoGenerator):
        raise InputError(f"--model {spec!r}: the factory returned {type(generator).__name__}, "
                         "which lacks `name` and `generate(request)`")
    return generator


class UserModel:
    """A user's generator (``--model``) as the runner drives it: its identity (what it reports,
    else the factory that made it) and, for the record, what it reports about its sampling."""

    def __init__(self, generator: VideoGenerator, spec: str):
        self.generator, self.name = generator, generator.name
        self.identity = getattr(generator, "identity", {"name": generator.name, "factory": spec})
        self.resolution = getattr(generator, "resolution", None)

    def generate(self, request: GenerationRequest) -> np.ndarray:
        return self.generator.generate(request)

    def record(self) -> dict:
        from vdbench.engine.settings import generator_report

        return generator_report(self.generator)
