"""Conditioning as composable pieces around a Denoiser (paper Sections 2 and 3.1).

- :class:`Replacement`: z_s^a overwritten each step by a draw from q(z_s^a | x^a) or from
  q(z_s^a | x^a, z_t^a); a sampler ``replace`` hook plus a denoiser wrapper that reports the
  known x^a as x̂^a (so a Langevin corrector targets q(z_s^a | x^a) on those frames).
- :class:`ReconstructionGuidance`: eqs. 7–8, x̃ = x̂ − (w_r α_t / 2) ∇_{z_t} Σ‖y − A(x̂)‖², with
  observations A = frame selection (temporal) and/or differentiable downsampling (spatial).
- :class:`ClassifierFreeGuidance`: eq. 6, conditional and unconditional in one batched call.
- Long videos: block-autoregressive extension and temporal interpolation as window plans run by
  one executor, :func:`fill_video`, over any window sampler built from the pieces above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vdbench.model.denoiser import Denoiser
from vdbench.model.errors import ConditioningInputError
from vdbench.model.samplers import StepScalars, add_noise, posterior_mean, step_variance
from vdbench.model.schedule import alpha_sigma, append_dims, scalar_alpha_sigma

METHODS = ("none", "replacement", "replacement-posterior", "reconstruction")


def check_video(x: torch.Tensor, *, what: str, channels: int, size: Sequence[int],
                frames: int | None = None, value_range: tuple[float, float] | None = None) -> None:
    """Raise ConditioningInputError unless x is [B, C, T, H, W] with the given C, (H, W), T and
    value range."""
    if not isinstance(x, torch.Tensor) or x.ndim != 5:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ConditioningInputError(f"{what} must be a [B, C, T, H, W] tensor, got {shape}")
    if x.shape[1] != channels or tuple(x.shape[-2:]) != tuple(size):
        raise ConditioningInputError(
            f"{what} has {x.shape[1]} channels at {x.shape[-2]}x{x.shape[-1]}; "
            f"expected {channels} channels at {size[0]}x{size[1]}")
    if frames is not None and x.shape[2] != frames:
        raise ConditioningInputError(f"{what} has {x.shape[2]} frames, expected {frames}")
    if not torch.isfinite(x).all():
        raise ConditioningInputError(f"{what} contains NaN or infinite values")
    if value_range is not None and (x.min() < value_range[0] or x.max() > value_range[1]):
        raise ConditioningInputError(
            f"{what} values span [{float(x.min()):.3g}, {float(x.max()):.3g}], outside "
            f"[{value_range[0]}, {value_range[1]}] (convert uint8 video with x / 127.5 − 1)")


def check_frames(frames: Sequence[int], total: int) -> list[int]:
    """The frame indices (order kept: it matches x^a's frames), checked to be distinct, in range
    and to leave at least one frame to generate."""
    frames = [int(f) for f in frames]
    if len(frames) >= total:
        raise ConditioningInputError(
            f"{len(frames)} context frames do not fit a {total}-frame video with frames to spare")
    if sorted(set(frames)) != sorted(frames) or not frames or min(frames) < 0 \
            or max(frames) >= total:
        raise ConditioningInputError(
            f"conditioning frames {frames} must be distinct indices in 0..{total - 1}")
    return frames


def _with_frames(x: torch.Tensor, frames: list[int], values: torch.Tensor) -> torch.Tensor:
    """Copy of x with x[:, :, frames] = values (no in-place op on autograd tensors)."""
    index = torch.tensor(frames, device=x.device)
    return x.index_copy(2, index, values.to(x).expand(x.shape[0], -1, -1, -1, -1))


def check_known(x_a: torch.Tensor, frames: Sequence[int], z: torch.Tensor) -> list[int]:
    """Validate known frames x^a against the sampled video z [B, C, T, H, W]."""
    frames = check_frames(frames, z.shape[2])
    check_video(x_a, what="conditioning frames x^a", channels=z.shape[1], size=z.shape[-2:],
                frames=len(frames))
    if x_a.shape[0] not in (1, z.shape[0]):
        raise ConditioningInputError(
            f"conditioning frames hold {x_a.shape[0]} videos for a batch of {z.shape[0]}")
    return frames


@dataclass(frozen=True)
class Replacement:
    """Replacement method (Section 3.1): x^a [B or 1, C, T_a, H, W] known at ``frames``."""

    x_a: torch.Tensor
    frames: tuple[int, ...]
    posterior: bool = False  # False: q(z_s^a | x^a); True: q(z_s^a | x^a, z_t^a)

    def __call__(self, z_s: torch.Tensor, *, logsnr_s: float, noise: Callable[[], torch.Tensor],
                 z_t: torch.Tensor | None = None, logsnr_t: float | None = None) -> torch.Tensor:
        frames = check_known(self.x_a, self.frames, z_s)
        eps = noise().to(z_s)[:, :, frames]  # full draw keeps every sample's stream aligned
        x_a = self.x_a.to(z_s)
        if self.posterior and z_t is not None:
            if logsnr_t is None:
                raise ConditioningInputError("posterior replacement needs logsnr_t with z_t")
            step = StepScalars(logsnr_t, logsnr_s)
            mean = posterior_mean(z_t[:, :, frames], x_a, step)  # eq. 3 with x = x^a
            z_a = add_noise(mean, math.sqrt(step_variance(step, 0.0)), lambda: eps)
        else:
            alpha_s, sigma_s = scalar_alpha_sigma(logsnr_s)
            z_a = add_noise(alpha_s * x_a, sigma_s, lambda: eps)  # q(z_s | x) of eq. 1
        return _with_frames(z_s, frames, z_a)

    def wrap(self, denoiser: Denoiser) -> Denoiser:
        """Denoiser whose output on the known frames is x^a itself."""

        def known(z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
            return _with_frames(denoiser(z_t, logsnr, cond), list(self.frames), self.x_a)

        return known


def downsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Differentiable antialiased bilinear resize of every frame of [B, C, T, H, W] to ``size``."""
    b, c, t, h, w = x.shape
    frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    small = F.interpolate(frames, size=size, mode="bilinear", align_corners=False, antialias=True)
    return small.reshape(b, t, c, *size).permute(0, 2, 1, 3, 4)


@dataclass(frozen=True)
class FrameObservation:
    """A(x) = x[:, :, frames]; y = x^a (eq. 7). The gradient is kept on the other frames only."""

    x_a: torch.Tensor
    frames: tuple[int, ...]

    def residual(self, x_hat: torch.Tensor) -> torch.Tensor:
        return self.x_a.to(x_hat) - x_hat[:, :, list(self.frames)]


@dataclass(frozen=True)
class LowResObservation:
    """A(x) = downsample(x[:, :, frames]); y = a low-resolution video x^a (eq. 8)."""

    x_a: torch.Tensor
    frames: tuple[int, ...] | None = None  # None: every frame

    def residual(self, x_hat: torch.Tensor) -> torch.Tensor:
        x_sel = x_hat if self.frames is None else x_hat[:, :, list(self.frames)]
        return self.x_a.to(x_hat) - downsample(x_sel, (self.x_a.shape[-2], self.x_a.shape[-1]))


class ReconstructionGuidance:
    """x̃(z_t) = x̂(z_t) − (w_r α_t / 2) ∇_{z_t} Σ_obs ‖y − A(x̂(z_t))‖²  (eqs. 7 and 8)."""

    def __init__(self, denoiser: Denoiser, observations: Sequence, w_r: float) -> None:
        if not w_r >= 0:
            raise ConditioningInputError(
                f"reconstruction guidance weight w_r must be >= 0, got {w_r}")
        if not observations:
            raise ConditioningInputError("reconstruction guidance needs at least one observation")
        self.denoiser, self.observations, self.w_r = denoiser, list(observations), float(w_r)
        known = [f for o in self.observations if isinstance(o, FrameObservation) for f in o.frames]
        self.known_frames = sorted(set(known))

    def __call__(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
        with torch.enable_grad():
            z = z_t.detach().requires_grad_(True)
            x_hat = self.denoiser(z, logsnr, cond)
            loss = sum(o.residual(x_hat).pow(2).sum() for o in self.observations)
            (grad,) = torch.autograd.grad(loss, z)  # samples are independent: per-sample grads
        if self.known_frames:  # eq. 7 differentiates w.r.t. z_t^b only
            grad = grad.index_fill(2, torch.tensor(self.known_frames, device=grad.device), 0.0)
        alpha, _ = alpha_sigma(logsnr.to(z_t.dtype))
        return (x_hat - (self.w_r / 2.0) * append_dims(alpha, z_t.ndim) * grad).detach()


def _null_like(cond: Any, value: float) -> Any:
    if isinstance(cond, torch.Tensor):
        return torch.full_like(cond, value)
    if isinstance(cond, dict):
        return {k: _null_like(v, value) for k, v in cond.items()}
    raise ConditioningInputError(
        f"classifier-free guidance needs a tensor (or dict of tensors) condition, got {type(cond)}")


def _cat(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: _cat(a[k], b[k]) for k in a}
    return torch.cat([a, b])


class ClassifierFreeGuidance:
    """ε̃ = (1 + w) ε(z, c) − w ε(z) (eq. 6), both terms from one batched denoiser call.

    The unconditional model is the same network at c = null: every entry of c set to
    ``null_value`` (0 by default, the paper's c = 0 for embedding vectors; −1 for class labels
    trained with a −1 null label). Since ε = (z − α x̂)/σ is affine in x̂ at fixed z, eq. 6 is
    x̃ = (1 + w) x̂(z, c) − w x̂(z), used here because it avoids dividing by α near t = 1.
    """

    def __init__(self, denoiser: Denoiser, w: float, null_value: float = 0) -> None:
        self.denoiser, self.w, self.null_value = denoiser, float(w), null_value

    def __call__(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
        if cond is None:
            raise ConditioningInputError("classifier-free guidance needs a condition c, got None")
        null = _null_like(cond, self.null_value)
        x_both = self.denoiser(torch.cat([z_t, z_t]), torch.cat([logsnr, logsnr]), _cat(cond, null))
        x_c, x_u = x_both.chunk(2)
        return (1.0 + self.w) * x_c - self.w * x_u  # eq. 6 in x-space


def condition(denoiser: Denoiser, *, method: str, x_a: torch.Tensor, frames: Sequence[int],
              w_r: float = 1.0, lowres: LowResObservation | None = None,
              ) -> tuple[Denoiser, Replacement | None]:
    """(wrapped denoiser, replace hook) for a temporal conditioning ``method`` in METHODS."""
    if method not in METHODS:
        raise ConditioningInputError(f"unknown conditioning {method!r}; choose from {METHODS}")
    if not w_r >= 0:
        raise ConditioningInputError(f"reconstruction guidance weight w_r must be >= 0, got {w_r}")
    observations: list[FrameObservation | LowResObservation] = [] if lowres is None else [lowres]
    if method == "none":
        return (ReconstructionGuidance(denoiser, observations, w_r) if observations
                else denoiser), None
    replace = Replacement(x_a, tuple(frames), posterior=method == "replacement-posterior")
    if method == "reconstruction":
        observations.append(FrameObservation(x_a, tuple(frames)))
    if observations:
        denoiser = ReconstructionGuidance(denoiser, observations, w_r)
    return replace.wrap(denoiser), replace


def extension_windows(total: int, window: int, context: int, given: int = 0) -> list[int]:
    """Window starts for block-autoregressive extension: each later block reuses ``context``
    frames of what exists; the last block is shifted back to end exactly at ``total``."""
    if window < 1 or total < window:
        raise ConditioningInputError(
            f"video of {total} frames is shorter than a {window}-frame block")
    if not 1 <= context < window:
        raise ConditioningInputError(
            f"context of {context} frames must be between 1 and the block length {window} − 1")
    if not 0 <= given < total:
        raise ConditioningInputError(f"{given} given frames leave nothing to generate in {total}")
    starts = [max(0, min(given - context, total - window))] if given else [0]
    while starts[-1] + window < total:
        starts.append(min(starts[-1] + window - context, total - window))
    return starts


def interpolation_windows(total: int, window: int, stride: int) -> list[int]:
    """Window starts for temporal interpolation with keyframes every ``stride`` frames: each
    window begins at the last keyframe of the previous one."""
    if window < 2 or total < window:
        raise ConditioningInputError(
            f"video of {total} frames is shorter than a {window}-frame block")
    if not 1 < stride < window:
        raise ConditioningInputError(f"keyframe stride {stride} must be in 2..{window - 1}")
    starts = [0]
    while starts[-1] + window < total:
        last_key = starts[-1] + ((window - 1) // stride) * stride
        starts.append(min(last_key, total - window))
    return starts


WindowSampler = Callable[[torch.Tensor, list[int], int, int], torch.Tensor]


def fill_video(sample_window: WindowSampler, *, video: torch.Tensor, known: Sequence[bool],
               window: int, starts: Sequence[int]) -> torch.Tensor:
    """Generate the unknown frames of ``video`` [B, C, L, H, W] window by window.

    ``sample_window(x_a, frames, index, start)`` returns a [B, C, window, H, W] sample for video
    frames start..start+window−1 whose window-relative ``frames`` hold x^a; frames it generates
    become known for later windows.
    """
    video, known = video.clone(), list(known)
    for index, start in enumerate(starts):
        local = [f for f in range(window) if known[start + f]]
        if len(local) == window:
            continue
        if not local:  # nothing to condition on: an unconditional block
            block = sample_window(video[:, :, :0], [], index, start)
        else:
            x_a = video[:, :, [start + f for f in local]]
            block = sample_window(x_a, local, index, start)
        new = [f for f in range(window) if not known[start + f]]
        video[:, :, [start + f for f in new]] = block[:, :, new].to(video)
        known[start:start + window] = [True] * window
    return video


def window_seeds(seeds: Sequence[int], index: int) -> list[int]:
    """Independent per-sample seeds for window ``index``, from (seed, index) via SeedSequence."""
    return [int(np.random.SeedSequence([int(s), int(index)]).generate_state(1, np.uint64)[0]
                % 2**63) for s in seeds]
