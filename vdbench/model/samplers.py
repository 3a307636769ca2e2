"""Samplers over the :class:`~model.denoiser.Denoiser` interface (paper Section 2, eqs. 3–5).

Every sampler shares one keyword-only signature::

    sampler(denoiser, *, noise, steps, schedule, gamma, cond, replace, callback) -> x

and returns the final x̂(z_0). Time runs on a uniform grid from t = 1 to t = 0. A model is seen
only through ``x_hat = denoiser(z_t, logsnr, cond)``; where eq. 5 needs ε̂ it is derived as
ε̂ = (z_t − α·x̂)/σ. Noise comes from :class:`PerSampleNoise`, one generator per sample, so a
sample is bit-identical whatever batch it is drawn in. Conditioning by replacement enters through
the ``replace`` hook, guidance through denoiser wrappers (``model/conditioning.py``). The
samplers are registered by name in ``vdbench/model/registry.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import torch

from vdbench.model.denoiser import Denoiser
from vdbench.model.errors import SamplerInputError
from vdbench.model.diffusion import eps_from_x
from vdbench.model.schedule import CosineSchedule, log_sigma2, scalar_alpha_sigma


class PerSampleNoise:
    """Standard normal draws [B, *shape], row b from its own ``torch.Generator`` seeded seeds[b]."""

    def __init__(self, seeds: Sequence[int], shape: Sequence[int], *,
                 dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> None:
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise SamplerInputError("need at least one seed (one per sample)")
        if any(s < 0 for s in seeds):
            raise SamplerInputError(f"seeds must be non-negative integers, got {seeds}")
        self.seeds, self.shape = seeds, tuple(int(d) for d in shape)
        self.dtype, self.device = dtype, torch.device(device)
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seeds]

    def __call__(self) -> torch.Tensor:
        return torch.stack([torch.randn(self.shape, generator=g, dtype=self.dtype,
                                        device=self.device) for g in self.generators])


@dataclass(frozen=True)
class StepScalars:
    """Schedule scalars for one step t → s (s < t), shared by the whole batch."""

    logsnr_t: float
    logsnr_s: float

    @property
    def alpha_sigma_t(self) -> tuple[float, float]:
        return scalar_alpha_sigma(self.logsnr_t)

    @property
    def alpha_sigma_s(self) -> tuple[float, float]:
        return scalar_alpha_sigma(self.logsnr_s)


def time_grid(steps: int) -> list[float]:
    """Uniform t from 1 to 0 (steps + 1 points)."""
    if not isinstance(steps, int) or steps < 1:
        raise SamplerInputError(f"steps must be an integer >= 1, got {steps!r}")
    return [1.0 - i / steps for i in range(steps + 1)]


def posterior_mean(z_t: torch.Tensor, x: torch.Tensor, step: StepScalars) -> torch.Tensor:
    """μ̃_{s|t}(z_t, x) = e^{λt−λs}(α_s/α_t) z_t + (1 − e^{λt−λs}) α_s x  (eq. 3)."""
    ratio = math.exp(step.logsnr_t - step.logsnr_s)
    alpha_t, _ = step.alpha_sigma_t
    alpha_s, _ = step.alpha_sigma_s
    return (ratio * alpha_s / alpha_t) * z_t + (-math.expm1(step.logsnr_t - step.logsnr_s)
                                                * alpha_s) * x


def step_variance(step: StepScalars, gamma: float) -> float:
    """(σ̃²_{s|t})^{1−γ} (σ²_{t|s})^γ with σ̃² = (1 − e^{λt−λs})σ_s², σ²_{t|s} = (1 − e^{λt−λs})σ_t²
    (eqs. 1, 3, 4), interpolated in log space."""
    log_one_minus = math.log(-math.expm1(step.logsnr_t - step.logsnr_s))
    log_var = log_one_minus + (1.0 - gamma) * log_sigma2(step.logsnr_s) \
        + gamma * log_sigma2(step.logsnr_t)
    return math.exp(log_var)


def add_noise(mean: torch.Tensor, std: float, noise: Callable[[], torch.Tensor]) -> torch.Tensor:
    """mean + std·ε with ε drawn from the per-sample noise source: the one noise-injection site."""
    return mean + std * noise().to(mean)


class Replace(Protocol):
    """Hook that overwrites the conditioning part of z_s after each step (replacement method)."""

    def __call__(self, z_s: torch.Tensor, *, logsnr_s: float, noise: Callable[[], torch.Tensor],
                 z_t: torch.Tensor | None = None,
                 logsnr_t: float | None = None) -> torch.Tensor: ...


Callback = Callable[[int, torch.Tensor, torch.Tensor], None]


def _denoise(denoiser: Denoiser, z: torch.Tensor, logsnr: float, cond: Any) -> torch.Tensor:
    logsnr_b = torch.full((z.shape[0],), logsnr, dtype=z.dtype, device=z.device)
    return denoiser(z, logsnr_b, cond)


def _check(steps: int, gamma: float, schedule: CosineSchedule) -> list[float]:
    if not 0.0 <= float(gamma) <= 1.0:
        raise SamplerInputError(f"gamma must lie in [0, 1], got {gamma}")
    grid = time_grid(steps)
    return [float(schedule.logsnr(torch.tensor(t, dtype=torch.float64))) for t in grid]


@torch.no_grad()  # guidance wrappers re-enable autograd locally, for one step at a time
def _run(denoiser: Denoiser, corrector, *, noise: PerSampleNoise, steps: int,
         schedule: CosineSchedule, gamma: float, cond: Any, replace: Replace | None,
         callback: Callback | None) -> torch.Tensor:
    """Shared loop: eq. 4 ancestral steps t → s, then ``corrector`` at s (if any), then replace."""
    logsnrs = _check(steps, gamma, schedule)
    z = noise()  # z_1 ~ N(0, I)
    if replace is not None:
        z = replace(z, logsnr_s=logsnrs[0], noise=noise)
    for i in range(steps):
        step = StepScalars(logsnrs[i], logsnrs[i + 1])
        x_hat = _denoise(denoiser, z, step.logsnr_t, cond)
        z_s = add_noise(posterior_mean(z, x_hat, step), math.sqrt(step_variance(step, gamma)),
                        noise)  # eq. 4
        if corrector is not None and i < steps - 1:  # at s = 0, σ_s ≈ 0 makes it a no-op
            z_s = corrector(z_s, step.logsnr_s)
        if replace is not None:
            z_s = replace(z_s, logsnr_s=step.logsnr_s, noise=noise, z_t=z,
                          logsnr_t=step.logsnr_t)
        if callback is not None:
            callback(i, z_s, x_hat)
        z = z_s
    return _denoise(denoiser, z, logsnrs[-1], cond)


def ancestral(denoiser: Denoiser, *, noise: PerSampleNoise, steps: int,
              schedule: CosineSchedule = CosineSchedule(), gamma: float = 0.0,
              cond: Any = None, replace: Replace | None = None,
              callback: Callback | None = None) -> torch.Tensor:
    """Ancestral sampler, z_s = μ̃_{s|t}(z_t, x̂(z_t)) + noise of eq. 4, t uniform from 1 to 0."""
    return _run(denoiser, None, noise=noise, steps=steps, schedule=schedule, gamma=gamma,
                cond=cond, replace=replace, callback=callback)


def langevin_step(denoiser: Denoiser, z_s: torch.Tensor, logsnr_s: float, *, cond: Any,
                  delta: float, noise: PerSampleNoise) -> torch.Tensor:
    """z_s ← z_s − ½ δ σ_s ε̂(z_s) + √δ σ_s ε′  (eq. 5)."""
    _, sigma_s = scalar_alpha_sigma(logsnr_s)
    eps_hat = eps_from_x(z_s, logsnr_s, _denoise(denoiser, z_s, logsnr_s, cond))
    return add_noise(z_s - 0.5 * delta * sigma_s * eps_hat, math.sqrt(delta) * sigma_s, noise)


def predictor_corrector(denoiser: Denoiser, *, noise: PerSampleNoise, steps: int,
                        schedule: CosineSchedule = CosineSchedule(), gamma: float = 0.0,
                        cond: Any = None, replace: Replace | None = None,
                        callback: Callback | None = None, delta: float = 0.1,
                        corrector_steps: int = 1) -> torch.Tensor:
    """Predictor-corrector: each eq. 4 ancestral step followed by eq. 5 Langevin steps at s."""
    if not delta > 0:
        raise SamplerInputError(f"Langevin step size delta must be > 0, got {delta}")
    if not isinstance(corrector_steps, int) or corrector_steps < 0:
        raise SamplerInputError(f"corrector_steps must be an integer >= 0, got {corrector_steps!r}")

    def corrector(z_s: torch.Tensor, logsnr_s: float) -> torch.Tensor:
        for _ in range(corrector_steps):
            z_s = langevin_step(denoiser, z_s, logsnr_s, cond=cond, delta=delta, noise=noise)
        return z_s

    return _run(denoiser, corrector, noise=noise, steps=steps, schedule=schedule, gamma=gamma,
                cond=cond, replace=replace, callback=callback)

