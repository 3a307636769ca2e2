"""Continuous-time variance-preserving schedule in log-SNR (paper Section 2).

Parameterisation, stated once: for log-SNR λ,
    α² = sigmoid(λ),  σ² = sigmoid(−λ),  z_t = α·x + σ·ε.
The cosine schedule maps t ∈ [0, 1] to λ(t) = −2·log tan(a·t + b) with
b = arctan(e^{−λmax/2}) and a = arctan(e^{−λmin/2}) − b, so λ(0) = λmax and λ(1) = λmin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def append_dims(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """Append trailing singleton dims so a per-sample ``[B]`` tensor broadcasts to rank ``ndim``."""
    if x.ndim > ndim:
        raise ValueError(f"cannot broadcast a rank-{x.ndim} tensor to rank {ndim}")
    return x.reshape(*x.shape, *([1] * (ndim - x.ndim)))


def alpha_sigma(logsnr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(α, σ) with α² = sigmoid(λ), σ² = sigmoid(−λ); stable for |λ| up to float limits."""
    return torch.sigmoid(logsnr).sqrt(), torch.sigmoid(-logsnr).sqrt()


def scalar_alpha_sigma(logsnr: float) -> tuple[float, float]:
    """:func:`alpha_sigma` for a float λ (the samplers' per-step scalars), computed in float64."""
    alpha, sigma = alpha_sigma(torch.tensor(float(logsnr), dtype=torch.float64))
    return alpha.item(), sigma.item()


def log_sigma2(logsnr: float) -> float:
    """log σ² = log sigmoid(−λ) = −softplus(λ), exact for large |λ| where σ² under/overflows."""
    return -(max(logsnr, 0.0) + math.log1p(math.exp(-abs(logsnr))))


@dataclass(frozen=True)
class CosineSchedule:
    """λ(t) = −2·log tan(a·t + b), clipped to [logsnr_min, logsnr_max] (default [−20, 20])."""

    logsnr_min: float = -20.0
    logsnr_max: float = 20.0

    def __post_init__(self) -> None:
        if not self.logsnr_min < self.logsnr_max:
            raise ValueError(
                f"logsnr_min ({self.logsnr_min}) must be below logsnr_max ({self.logsnr_max})"
            )

    @property
    def _b(self) -> float:
        return math.atan(math.exp(-0.5 * self.logsnr_max))

    @property
    def _a(self) -> float:
        return math.atan(math.exp(-0.5 * self.logsnr_min)) - self._b

    def logsnr(self, t: torch.Tensor) -> torch.Tensor:
        """λ(t) for t ∈ [0, 1], monotonically decreasing from logsnr_max to logsnr_min."""
        t = torch.as_tensor(t)
        if not torch.is_floating_point(t):
            t = t.to(torch.float64)
        return -2.0 * torch.log(torch.tan(self._a * t + self._b))

    def t_of_logsnr(self, logsnr: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`logsnr`."""
        return (torch.atan(torch.exp(-0.5 * torch.as_tensor(logsnr))) - self._b) / self._a

    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return alpha_sigma(self.logsnr(t))
