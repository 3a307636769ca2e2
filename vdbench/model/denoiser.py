"""The one interface samplers see: ``x_hat = denoiser(z_t, logsnr, cond)``.

A denoiser returns the x-prediction E[x | z_t] (estimated). Networks trained in ε- or
v-parameterisation convert inside their wrapper, so the U-Net, the analytic Gaussian oracle and a
user's network are interchangeable for every sampler and conditioning method.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class Denoiser(Protocol):
    def __call__(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """z_t: [B, C, T, H, W]; logsnr: [B]; cond: conditioning or None. Returns x̂ like z_t."""
        ...
