"""Cheap user generators (`--model tests.fast_generator:...`) for runner tests.

``factory``: per-sample seeded noise around the context frame, so tests of sharding and resuming
spend their time in the runner, not in a model. ``dying_factory``: the same, but the process of
rank 1 dies on its first call (a worker crash under torchrun).
"""

import os

import numpy as np


class NoiseGenerator:
    name = "noise"

    def __init__(self, resolution: int, frames: int):
        self.resolution, self.frames = resolution, frames
        self.identity = {"name": self.name, "factory": "tests.fast_generator:factory"}

    def generate(self, request):
        out = np.empty((len(request.seeds), request.frames, request.resolution,
                        request.resolution, 3), np.uint8)
        for i, seed in enumerate(request.seeds):
            rng = np.random.default_rng(seed)
            base = (request.context[i, -1].astype(np.int16) if request.context is not None
                    else np.full(out.shape[2:], 128, np.int16))
            jitter = rng.integers(-40, 41, size=out.shape[1:], dtype=np.int16)
            out[i] = np.clip(base[None] + jitter, 0, 255).astype(np.uint8)
        if request.context is not None:
            out[:, :request.context.shape[1]] = request.context
        return out


class DyingGenerator(NoiseGenerator):
    def generate(self, request):
        if os.environ.get("RANK") == "1":
            os._exit(3)
        return super().generate(request)


class HangingGenerator(NoiseGenerator):
    def generate(self, request):
        if os.environ.get("RANK") == "1":
            import time

            time.sleep(3600)
        return super().generate(request)


class CaptionedGenerator(NoiseGenerator):
    """Needs one caption and one embedding row per sample (text-to-video protocols)."""

    def generate(self, request):
        n = len(request.seeds)
        if request.captions is None or len(request.captions) != n:
            raise AssertionError(f"expected {n} captions, got {request.captions!r}")
        if request.text is None or request.text.shape[0] != n:
            raise AssertionError("expected caption embeddings")
        return super().generate(request)


def _factory(cls):
    return lambda resolution, frames, device="cpu": cls(resolution, frames)


factory = _factory(NoiseGenerator)
dying_factory = _factory(DyingGenerator)
hanging_factory = _factory(HangingGenerator)
captioned_factory = _factory(CaptionedGenerator)
