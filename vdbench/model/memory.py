"""Training memory per device: exact parameter-sized terms, measured and extrapolated activations.

Parameter-sized terms come from the preset's exact parameter count (the network built on the meta
device, no memory): fp32 weights, fp32 gradients, AdamW's two fp32 moments and the fp32 EMA copy.
Mixed precision keeps all four in fp32 (bf16 autocast casts weights on the fly).

Activation memory is measured: one training step (the loss of :func:`diffusion_loss` and its
backward) runs under :class:`LiveBytes`, which sees every tensor storage an operator allocates and
when it is freed, and reports the peak of the live bytes. Parameters and their gradients are left
out (gradients are freed as soon as they are accumulated), so what remains is what autograd saves
plus the workspace of the step. The step runs on fake tensors (``FakeTensorMode``: shapes, dtypes
and the CPU kernels' choices, no memory), so even the billion-parameter presets cost nothing; a
test checks it against the same step on real CPU tensors.

Extrapolation model (measured on small shapes: batch 1–2, few frames, low resolution):
``A(B, T, S) = B·(a·T·S + b·T²·S + d·T) + c`` with S = H·W the frame area. Every U-Net activation
is one feature map per frame, linear in B·T·S; temporal attention also saves its relative-position
logits ``[B·S, heads, T, T]`` (quadratic in the attended length T); spatial attention runs through
the fused scaled-dot-product kernel, which saves no S×S matrix; per-frame vectors (the
conditioning embedding added in every residual block, GroupNorm statistics) are linear in B·T.
``c`` is what does not grow with the batch (e.g. autocast's bf16 copies of the weights).
"""

from __future__ import annotations

import contextlib
import math
import weakref
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from vdbench.model.configs import ModelConfig
from vdbench.model.diffusion import diffusion_loss
from vdbench.model.registry import SHARD_MODES, TRAIN_PRECISIONS
from vdbench.model.unet3d import Stage, UNet3D, build_on_meta, count_parameters

GIB = 2**30


class LiveBytes(TorchDispatchMode):
    """Peak bytes of the tensor storages that operators allocate while the mode is active.

    A storage is counted once (views share it) from the operator that returns it until Python
    drops its last reference. Works the same for real and fake tensors (it reads sizes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def _track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        key = storage._cdata  # the C++ storage: the same for every view and Python wrapper
        if key in self.live:
            return
        self.live[key] = storage.nbytes()
        self.current += self.live[key]
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._release, key)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            if isinstance(item, torch.Tensor):
                self._track(item)
        return out


@contextlib.contextmanager
def checkpointed_stages(net: UNet3D) -> Iterator[None]:
    """Activation checkpointing per U-Net stage (residual block + its attention blocks): only
    each stage's input is kept; its inside is recomputed in the backward pass."""
    from torch.utils.checkpoint import checkpoint

    stages = [m for m in net.modules() if isinstance(m, Stage)]
    for stage in stages:
        inner = stage.forward
        stage.forward = (lambda *a, inner=inner: checkpoint(  # type: ignore[method-assign]
            inner, *a, use_reentrant=False))
    try:
        yield
    finally:
        for stage in stages:
            del stage.forward




def _step(net: UNet3D, config: ModelConfig, batch: int, frames: int, size: tuple[int, int],
          precision: str) -> None:
    """One training loss and its backward (joint image-video mask when the preset trains so)."""
    x = torch.zeros(batch, config.video.channels, frames, *size)
    # Only whether the mask exists matters for memory, not which frames are images.
    mask = torch.arange(frames) == frames - 1 if config.train.image_frames else None
    generator = torch.Generator().manual_seed(0)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with autocast:
        # The caption (text presets) is left out: its pooling costs B·L·D, negligible here.
        loss = diffusion_loss(net, x, config.diffusion, frame_is_image=mask,
                              generator=generator)
    loss.backward()


def measure_activations(config: ModelConfig, batch: int, frames: int, height: int, width: int,
                        *, precision: str = "fp32", checkpoint: bool = False,
                        fake: bool = True) -> int:
    """Peak activation bytes of one training step of ``config``'s network on ``batch`` clips of
    ``frames`` × ``height`` × ``width`` (``fake``: fake tensors; else real CPU tensors)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    modes = FakeTensorMode(allow_non_fake_inputs=True) if fake else contextlib.nullcontext()
    with torch.random.fork_rng(devices=[]):
        net = build_on_meta(config) if fake else UNet3D(config)
    with torch.random.fork_rng(devices=[]), modes:
        if fake:
            net = net.to_empty(device="cpu")  # under FakeTensorMode: fake weights, no memory
        for p in net.parameters():  # gradients are the planner's own term: drop them at once
            p.register_post_accumulate_grad_hook(lambda p: setattr(p, "grad", None))
        tracker = LiveBytes()
        with checkpointed_stages(net) if checkpoint else contextlib.nullcontext(), tracker:
            _step(net, config, batch, frames, (height, width), precision)
    return tracker.peak


@dataclass(frozen=True)
class ActivationModel:
    """``A(B, T, H, W) = B·(a·T·S + b·T²·S + d·T) + c`` bytes with S = H·W, fitted to
    small-shape measurements."""

    a: float
    b: float
    d: float
    c: float
    points: tuple[tuple[int, int, int, int, int], ...]  # (B, T, H, W, measured bytes)

    def bytes(self, batch: int, frames: int, height: int, width: int) -> float:
        return float(np.dot([self.a, self.b, self.d, self.c],
                            _basis(batch, frames, height * width)))


def train_frames(config: ModelConfig) -> int:
    """Frames per training example: the clip plus the independent images of joint training."""
    return config.video.frames + config.train.image_frames


def small_shapes(config: ModelConfig, checkpoint: bool = False) -> list[tuple[int, int, int, int]]:
    """(B, T, H, W) to measure: batch 1 and 2, half and all of the training frames, a quarter
    and half of the resolution (the lowest U-Net level keeps at least one pixel).

    With checkpointing the peak is one stage's recomputation on top of the stage inputs, and
    which stage that is changes between low and full resolution: measured there at half and
    full resolution instead (still batch 1–2)."""
    factor = 2 ** (len(config.unet.channel_mults) - 1)
    v = config.video

    def part(size: int, div: int) -> int:
        return max(factor, size // div // factor * factor)

    frames = train_frames(config)
    t1, t2 = max(1, frames // 2), frames
    divisors = (2, 1) if checkpoint else (4, 2)
    (h0, w0), (h1, w1) = [(part(v.height, d), part(v.width, d)) for d in divisors]
    return [(1, t1, h0, w0), (1, t2, h0, w0), (2, t1, h0, w0), (1, t1, h1, w1), (1, t2, h1, w1)]


def fit_activations(config: ModelConfig, *, precision: str = "fp32", checkpoint: bool = False,
                    fake: bool = True) -> ActivationModel:
    """Measure on :func:`small_shapes` and fit the model by least squares."""
    points = []
    for b, t, h, w in small_shapes(config, checkpoint):
        points.append((b, t, h, w, measure_activations(
            config, b, t, h, w, precision=precision, checkpoint=checkpoint, fake=fake)))
    design = np.array([_basis(b, t, h * w) for b, t, h, w, _ in points])
    target = np.array([p[-1] for p in points], dtype=float)
    (a, b, d, c), *_ = np.linalg.lstsq(design, target, rcond=None)
    return ActivationModel(float(a), float(b), float(d), float(c), tuple(points))


def _basis(batch: int, frames: int, area: int) -> list[float]:
    return [batch * frames * area, batch * frames**2 * area, batch * frames, 1.0]


@dataclass(frozen=True)
class ParallelSetup:
    """How training is spread: devices, per-device micro-batch, precision, sharding."""

    gpus: int
    micro_batch: int
    precision: str = "fp32"
    shard: str = "none"  # none: replicate; grad: ZeRO-2; full: FSDP full sharding
    checkpoint_activations: bool = False

    def __post_init__(self) -> None:
        if self.precision not in TRAIN_PRECISIONS or self.shard not in SHARD_MODES:
            raise ValueError(f"precision must be one of {TRAIN_PRECISIONS} and shard one of "
                             f"{SHARD_MODES}, got {self.precision!r}, {self.shard!r}")
        if self.gpus < 1 or self.micro_batch < 1:
            raise ValueError("gpus and micro_batch must be >= 1")


def largest_unit(config: ModelConfig) -> int:
    """Parameters of the largest U-Net stage: what full sharding gathers at once."""
    net = build_on_meta(config)
    return max(count_parameters(m) for m in net.modules() if isinstance(m, Stage))


def state_bytes(params: int, unit: int, setup: ParallelSetup) -> dict[str, float]:
    """Per-device bytes of weights, gradients, AdamW moments and EMA, all fp32.

    none replicates everything; grad (ZeRO-2) shards gradients and optimizer state; full (FSDP
    full sharding) also shards weights and EMA, and gathers one stage's weights (and its
    gradients before the reduce-scatter) at a time."""
    n = setup.gpus
    shard_grad = setup.shard in ("grad", "full")
    shard_all = setup.shard == "full"
    out = {
        "parameters": 4 * params / (n if shard_all else 1),
        "gradients": 4 * params / (n if shard_grad else 1),
        "optimizer": 8 * params / (n if shard_grad else 1),
        "ema": 4 * params / (n if shard_all else 1),
    }
    out["gathered"] = 8 * unit if shard_all and n > 1 else 0.0
    return out


@dataclass(frozen=True)
class MemoryPlan:
    config_name: str
    setup: ParallelSetup
    params: int
    rows: dict[str, float]  # bytes per device
    budget: float  # bytes usable per device
    per_sample: float  # activation bytes per sample at the training shape
    max_micro_batch: int  # largest micro-batch that fits (0: not even one sample)

    @property
    def total(self) -> float:
        return sum(self.rows.values())

    @property
    def fits(self) -> bool:
        return self.total <= self.budget


def plan_memory(config: ModelConfig, setup: ParallelSetup, gpu_memory_gib: float,
                reserve_gib: float = 0.0, model: ActivationModel | None = None) -> MemoryPlan:
    """The per-device memory of training ``config`` with ``setup`` on devices of
    ``gpu_memory_gib`` GiB, ``reserve_gib`` of which are kept for the runtime."""
    params = count_parameters(build_on_meta(config))
    model = model or fit_activations(config, precision=setup.precision,
                                     checkpoint=setup.checkpoint_activations)
    v = config.video
    frames = train_frames(config)
    rows = state_bytes(params, largest_unit(config) if setup.shard == "full" else 0, setup)
    rows["activations"] = model.bytes(setup.micro_batch, frames, v.height, v.width)
    per_sample = model.bytes(1, frames, v.height, v.width) - model.c
    budget = (gpu_memory_gib - reserve_gib) * GIB
    free = budget - (sum(rows.values()) - rows["activations"]) - model.c
    largest = max(0, math.floor(free / per_sample)) if per_sample > 0 else 0
    return MemoryPlan(config.name, setup, params, rows, budget, per_sample, largest)
