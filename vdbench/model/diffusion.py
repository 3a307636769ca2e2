"""Continuous-time Gaussian diffusion (Section 2): forward process, parameterisations, loss, and
the :class:`DiffusionDenoiser` that exposes ``x̂(z_t, λ, c)`` to the samplers.

Parameterisation, stated once (paper Section 2): α² = sigmoid(λ), σ² = sigmoid(−λ), z_t = α·x + σ·ε,
v = α·ε − σ·x. Per-sample scalars are ``[B]`` tensors broadcast with :func:`append_dims`, so every
function here works on images and on 5-D videos alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vdbench.model.configs import DiffusionConfig, ModelConfig
from vdbench.model.schedule import CosineSchedule, alpha_sigma, append_dims


def _alpha_sigma_like(logsnr: torch.Tensor | float,
                      ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # float64 before the sigmoid: a float λ is never rounded to float32 on the way.
    alpha, sigma = alpha_sigma(torch.as_tensor(logsnr, dtype=torch.float64, device=ref.device))
    return append_dims(alpha, ref.ndim).to(ref.dtype), append_dims(sigma, ref.ndim).to(ref.dtype)


def q_sample(x: torch.Tensor, logsnr: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Draw from q(z_t | x) = N(α_t·x, σ_t²·I) (eq. 1) with the given standard noise ε."""
    alpha, sigma = _alpha_sigma_like(logsnr, x)
    return alpha * x + sigma * eps


def q_step_moments(logsnr_s: torch.Tensor, logsnr_t: torch.Tensor):
    """Mean factor α_t/α_s and variance σ²_{t|s} = (1 − e^{λt−λs})·σ_t² of q(z_t | z_s) (eq. 1).

    Requires λ_t ≤ λ_s (t ≥ s). Computed in float64 with ``expm1`` for small steps.
    """
    logsnr_s = torch.as_tensor(logsnr_s, dtype=torch.float64)
    logsnr_t = torch.as_tensor(logsnr_t, dtype=torch.float64)
    if torch.any(logsnr_t > logsnr_s):
        raise ValueError("q(z_t | z_s) needs t ≥ s, i.e. logsnr_t ≤ logsnr_s")
    alpha_s, _ = alpha_sigma(logsnr_s)
    alpha_t, sigma_t = alpha_sigma(logsnr_t)
    var = -torch.expm1(logsnr_t - logsnr_s) * sigma_t**2
    return alpha_t / alpha_s, var


def q_sample_step(z_s: torch.Tensor, logsnr_s: torch.Tensor, logsnr_t: torch.Tensor,
                  eps: torch.Tensor) -> torch.Tensor:
    """Draw from q(z_t | z_s) = N((α_t/α_s)·z_s, σ²_{t|s}·I) (eq. 1), s < t."""
    ratio, var = q_step_moments(logsnr_s, logsnr_t)
    ratio = append_dims(ratio.to(z_s.device), z_s.ndim).to(z_s.dtype)
    std = append_dims(var.sqrt().to(z_s.device), z_s.ndim).to(z_s.dtype)
    return ratio * z_s + std * eps


def x_from_eps(z_t: torch.Tensor, logsnr: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """ε-prediction: x̂ = (z_t − σ·ε̂)/α (Section 2)."""
    alpha, sigma = _alpha_sigma_like(logsnr, z_t)
    return (z_t - sigma * eps) / alpha


def eps_from_x(z_t: torch.Tensor, logsnr: torch.Tensor | float,
               x: torch.Tensor) -> torch.Tensor:
    """ε = (z_t − α·x)/σ, inverting x̂ = (z_t − σ·ε̂)/α (the ε̂ used by eqs. 5 and 6)."""
    alpha, sigma = _alpha_sigma_like(logsnr, z_t)
    return (z_t - alpha * x) / sigma


def v_from_x_eps(x: torch.Tensor, eps: torch.Tensor, logsnr: torch.Tensor) -> torch.Tensor:
    """v = α·ε − σ·x (Salimans & Ho 2022), the v-prediction target."""
    alpha, sigma = _alpha_sigma_like(logsnr, x)
    return alpha * eps - sigma * x


def x_from_v(z_t: torch.Tensor, logsnr: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """v-prediction: x̂ = α·z_t − σ·v̂."""
    alpha, sigma = _alpha_sigma_like(logsnr, z_t)
    return alpha * z_t - sigma * v


def eps_from_v(z_t: torch.Tensor, logsnr: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """ε̂ = σ·z_t + α·v̂."""
    alpha, sigma = _alpha_sigma_like(logsnr, z_t)
    return sigma * z_t + alpha * v


def v_from_x(z_t: torch.Tensor, logsnr: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """v = (α·z_t − x)/σ, the v that makes x_from_v return ``x``."""
    alpha, sigma = _alpha_sigma_like(logsnr, z_t)
    return (alpha * z_t - x) / sigma


def x_from_prediction(prediction: str, z_t: torch.Tensor, logsnr: torch.Tensor,
                      out: torch.Tensor) -> torch.Tensor:
    if prediction == "eps":
        return x_from_eps(z_t, logsnr, out)
    if prediction == "v":
        return x_from_v(z_t, logsnr, out)
    raise ValueError(f"prediction must be 'eps' or 'v', got {prediction!r}")


def drop_cond(cond: torch.Tensor | None, prob: float, generator: torch.Generator | None):
    """Classifier-free guidance training: replace c by "no c" with probability ``prob``.

    Class labels become −1 (the null label), caption embeddings become 0 (Section 2: c = 0).
    """
    if cond is None or prob <= 0.0:
        return cond
    drop = torch.rand(cond.shape[0], generator=generator, dtype=torch.float64) < prob
    return apply_drop(cond, drop)


def diffusion_loss(net: nn.Module, x: torch.Tensor, config: DiffusionConfig, *,
                   cond: torch.Tensor | None = None, frame_is_image: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """MSE in ε or v space with t ~ U[0, 1] on the cosine schedule (eq. 2 with its ε/v weight).

    Randomness (t, ε, dropped c) comes from ``generator`` on the CPU, so a run is reproducible
    on any device and resumable from the generator's saved state.
    """
    t = torch.rand(x.shape[0], generator=generator, dtype=torch.float64)
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    cond = drop_cond(cond, config.cond_drop_prob, generator)
    return loss_given_noise(net, x, t, eps, config, cond=cond, frame_is_image=frame_is_image)


def loss_given_noise(net: nn.Module, x: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
                     config: DiffusionConfig, *, cond: torch.Tensor | None = None,
                     frame_is_image: torch.Tensor | None = None,
                     dropout_seeds: torch.Tensor | None = None) -> torch.Tensor:
    """The loss of :func:`diffusion_loss` for given draws t ``[B]`` (float64) and ε, c already
    dropped (and per-example dropout seeds, passed on to the network when given). The MSE is
    taken in the targets' precision whatever precision the network ran in."""
    schedule = CosineSchedule(config.logsnr_min, config.logsnr_max)
    logsnr = schedule.logsnr(t)
    z_t = q_sample(x, logsnr, eps)
    extra = {} if dropout_seeds is None else {"dropout_seeds": dropout_seeds}
    out = net(z_t, logsnr.to(device=x.device, dtype=x.dtype), cond, frame_is_image, **extra)
    target = eps if config.prediction == "eps" else v_from_x_eps(x, eps, logsnr)
    return F.mse_loss(out.to(target.dtype), target)


def apply_drop(cond: torch.Tensor | None, drop: torch.Tensor) -> torch.Tensor | None:
    """``cond`` with rows where ``drop`` [B] is true replaced by "no c" (as :func:`drop_cond`)."""
    if cond is None:
        return None
    drop = drop.to(cond.device)
    if not torch.is_floating_point(cond):
        return torch.where(drop, torch.full_like(cond, -1), cond)
    return torch.where(append_dims(drop, cond.ndim), torch.zeros_like(cond), cond)


class DiffusionDenoiser(nn.Module):
    """The Denoiser interface over a trained network: ``x̂ = denoiser(z_t, logsnr, cond)``.

    ``cond``: None, class labels ``[B]`` (−1 = none) or caption embeddings ``[B, L, D]`` (0 =
    none), as the network was trained. ``logsnr`` may be ``[B]`` or a scalar. The ε- or
    v-prediction of the network is converted to x̂ here, so samplers never see the target.
    The network runs in its own dtype; x̂ comes back in z_t's dtype (float64 samplers work),
    differentiably in z_t (reconstruction guidance, eq. 7).
    """

    def __init__(self, net: nn.Module, prediction: str):
        super().__init__()
        if prediction not in ("eps", "v"):
            raise ValueError(f"prediction must be 'eps' or 'v', got {prediction!r}")
        self.net, self.prediction = net, prediction

    def forward(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
        logsnr = torch.as_tensor(logsnr, device=z_t.device)
        if logsnr.ndim == 0:
            logsnr = logsnr.expand(z_t.shape[0])
        dtype = next((p.dtype for p in self.net.parameters()), z_t.dtype)
        out = self.net(z_t.to(dtype), logsnr.to(dtype), cond).to(z_t.dtype)
        return x_from_prediction(self.prediction, z_t, logsnr, out)


def load_denoiser(path: str | Path, device: str | torch.device = "cpu", *,
                  ema: bool | None = None) -> tuple[DiffusionDenoiser, ModelConfig]:
    """Load a checkpoint (file or run directory: its latest) as an eval-mode denoiser.

    Uses the EMA weights (or a slim export's one set) unless ``ema=False``. Raises
    :class:`CheckpointError` with the reason.
    """
    from vdbench.model.checkpoint import load_network

    net, config = load_network(path, device=device, ema=ema)
    return DiffusionDenoiser(net, config.diffusion.prediction).eval(), config
