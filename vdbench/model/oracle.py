"""An analytic Gaussian video prior whose exact denoiser, conditionals and moments are known.

x ~ N(m, Σ) with Σ = Σ_c ⊗ K ⊗ S over (channels, frames, height·width):
  Σ_c  a fixed C×C channel covariance (ρ^|i−j|),
  K    a T×T temporal kernel (squared-exponential in frame offset plus a white-noise floor),
  S    a circulant spatial covariance, diagonal in the 2D DFT with a power-law spectrum P(k).
The joint eigenbasis is U_c ⊗ U_t ⊗ F (F the unitary 2D DFT) with eigenvalues
e_c[i]·e_t[j]·P[k], so E[x | z_t] costs two tiny matmuls and two FFTs: O(N log N).

With z_t = α·x + σ·ε (paper Section 2), the exact denoiser is
  E[x | z_t] = m + Σ α (α² Σ + σ² I)^{-1} (z_t − α m),
a per-eigenmode gain α·λ_k / (α²·λ_k + σ²). Conditioning on frames a keeps the Kronecker
form: E[x^b | x^a] = (I ⊗ K_ba K_aa^{-1} ⊗ I) x^a and Cov = Σ_c ⊗ (K_bb − K_ba K_aa^{-1} K_ab) ⊗ S,
a small Gaussian conditioning along time for every pixel and channel.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from vdbench.model.errors import ConditioningInputError
from vdbench.model.schedule import alpha_sigma, append_dims


def channel_covariance(channels: int, rho: float = 0.75) -> torch.Tensor:
    """Σ_c[i, j] = ρ^|i−j|: correlated colour channels, well conditioned for ρ < 1."""
    idx = torch.arange(channels, dtype=torch.float64)
    return rho ** (idx[:, None] - idx[None, :]).abs()


def temporal_kernel(frames: int, length: float = 1.5, nugget: float = 0.05) -> torch.Tensor:
    """K[i, j] = (1 − η)·exp(−(i − j)² / 2ℓ²) + η·δ_ij; η keeps K and its conditionals
    invertible."""
    idx = torch.arange(frames, dtype=torch.float64)
    sq = (idx[:, None] - idx[None, :]) ** 2
    return (1.0 - nugget) * torch.exp(-sq / (2.0 * length**2)) + nugget * torch.eye(frames)


def power_law_spectrum(height: int, width: int, k0: float = 1.5, beta: float = 1.5) -> torch.Tensor:
    """P(k) = (1 + |k|²/k0²)^(−β) on the DFT grid, normalised to mean 1 (unit pixel variance)."""
    ky = torch.fft.fftfreq(height, dtype=torch.float64) * height
    kx = torch.fft.fftfreq(width, dtype=torch.float64) * width
    spectrum = (1.0 + (ky[:, None] ** 2 + kx[None, :] ** 2) / k0**2) ** (-beta)
    return spectrum / spectrum.mean()


class GaussianVideoOracle:
    """Exact denoiser for x ~ N(mean, scale²·Σ_c ⊗ K ⊗ S); implements :class:`Denoiser`.

    ``cond``, when given, is a per-sample mean offset [B, C, T, H, W] (zeros = unconditional),
    which makes classifier-free guidance exactly solvable on the oracle.
    """

    def __init__(self, channel_cov: torch.Tensor, temporal_cov: torch.Tensor,
                 spectrum: torch.Tensor, *, scale: float = 0.5,
                 mean: torch.Tensor | None = None) -> None:
        self.channel_cov = channel_cov.to(torch.float64)
        self.temporal_cov = temporal_cov.to(torch.float64)
        self.spectrum = spectrum.to(torch.float64)
        self.scale = float(scale)
        e_c, self.u_c = torch.linalg.eigh(self.channel_cov)
        e_t, self.u_t = torch.linalg.eigh(self.temporal_cov)
        self.u_ct = torch.kron(self.u_c, self.u_t)  # joint channel-time eigenvectors (columns)
        self.eigenvalues = (self.scale**2 * e_c[:, None, None, None] * e_t[None, :, None, None]
                            * self.spectrum[None, None])
        width = self.spectrum.shape[-1]
        self._half_eigenvalues = self.eigenvalues[..., : width // 2 + 1]  # rfft2 half-plane
        if self.eigenvalues.min() <= 0:
            raise ValueError("oracle covariance must be positive definite")
        shape = self.shape
        self.mean = torch.zeros(shape, dtype=torch.float64) if mean is None else mean.double()
        if tuple(self.mean.shape) != shape:
            raise ValueError(f"oracle mean must have shape {shape}, got {tuple(self.mean.shape)}")

    @classmethod
    def power_law(cls, *, channels: int = 3, frames: int = 8, height: int = 8, width: int = 8,
                  scale: float = 0.5, rho: float = 0.75, length: float = 1.5,
                  nugget: float = 0.05, k0: float = 1.5, beta: float = 1.5) -> GaussianVideoOracle:
        """The default stationary video prior used by tests, benchmarks and ``vdbench sample``."""
        return cls(channel_covariance(channels, rho), temporal_kernel(frames, length, nugget),
                   power_law_spectrum(height, width, k0, beta), scale=scale)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(C, T, H, W) of one video."""
        return (self.channel_cov.shape[0], self.temporal_cov.shape[0], *self.spectrum.shape)

    def to_eigen(self, x: torch.Tensor) -> torch.Tensor:
        """Coefficients of x [..., C, T, H, W] in the orthonormal eigenbasis (complex)."""
        y = torch.einsum("ci,tj,...cthw->...ijhw", self.u_c.to(x), self.u_t.to(x), x)
        return torch.fft.fft2(y, norm="ortho")

    def from_eigen(self, y: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_eigen` for Hermitian-symmetric y; returns a real tensor."""
        x = torch.fft.ifft2(y, norm="ortho").real
        return torch.einsum("ci,tj,...ijhw->...cthw", self.u_c.to(x), self.u_t.to(x), x)

    def _apply(self, x: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """U diag(gain) U^T x for a real gain over the rfft2 half-plane (fast path)."""
        c, t, h, w = self.shape
        u_ct = self.u_ct.to(x)
        y = (u_ct.T @ x.reshape(-1, c * t, h * w)).reshape(*x.shape)
        y = torch.fft.irfft2(gain * torch.fft.rfft2(y, norm="ortho"), s=(h, w), norm="ortho")
        return (u_ct @ y.reshape(-1, c * t, h * w)).reshape(*x.shape)

    def __call__(self, z_t: torch.Tensor, logsnr: torch.Tensor, cond: Any = None) -> torch.Tensor:
        """E[x | z_t] exactly: m + Σ α (α²Σ + σ²I)^{-1} (z_t − α m), per eigenmode."""
        alpha, sigma = alpha_sigma(logsnr.to(z_t.dtype))
        alpha, sigma = append_dims(alpha, z_t.ndim), append_dims(sigma, z_t.ndim)
        mean = self.mean.to(z_t)
        if cond is not None:
            mean = mean + cond.to(z_t)
        lam = self._half_eigenvalues.to(z_t)
        gain = alpha * lam / (alpha**2 * lam + sigma**2)
        return mean + self._apply(z_t - alpha * mean, gain)

    def sample(self, eps: torch.Tensor) -> torch.Tensor:
        """Exact draws m + Σ^{1/2} ε from standard normal ε [B, C, T, H, W]."""
        return self.mean.to(eps) + self._apply(eps, self._half_eigenvalues.sqrt().to(eps))

    def covariance(self) -> torch.Tensor:
        """The dense N×N covariance (N = C·T·H·W) in pixel order; for small videos only."""
        height, width = self.spectrum.shape
        eye = torch.eye(height * width, dtype=torch.complex128).reshape(-1, height, width)
        basis = torch.fft.ifft2(self.spectrum * torch.fft.fft2(eye, norm="ortho"), norm="ortho")
        spatial = basis.real.reshape(height * width, height * width)
        return self.scale**2 * torch.kron(torch.kron(self.channel_cov, self.temporal_cov), spatial)

    def condition_on_frames(self, x_a: torch.Tensor, frames: Sequence[int]) -> GaussianVideoOracle:
        """Exact p(x^b | x^a) over the remaining frames b, itself a GaussianVideoOracle."""
        frames_a, frames_b = split_frames(self.shape[1], frames)
        k = self.temporal_cov
        k_aa, k_ba = k[frames_a][:, frames_a], k[frames_b][:, frames_a]
        k_bb = k[frames_b][:, frames_b]
        gain = torch.linalg.solve(k_aa, k_ba.T).T  # K_ba K_aa^{-1}
        mean_a = self.mean[:, frames_a]
        mean_b = self.mean[:, frames_b] + torch.einsum("ba,cahw->cbhw", gain,
                                                       x_a.double() - mean_a)
        k_cond = k_bb - gain @ k_ba.T
        return GaussianVideoOracle(self.channel_cov, 0.5 * (k_cond + k_cond.T), self.spectrum,
                                   scale=self.scale, mean=mean_b)


def split_frames(total: int, frames: Sequence[int]) -> tuple[list[int], list[int]]:
    """(sorted conditioning frames a, remaining frames b); errors name the offending frames."""
    frames_a = sorted({int(f) for f in frames})
    if len(frames_a) != len(list(frames)):
        raise ConditioningInputError(f"conditioning frames repeat: {list(frames)}")
    if not frames_a or frames_a[0] < 0 or frames_a[-1] >= total:
        raise ConditioningInputError(
            f"conditioning frames {list(frames)} must be a non-empty subset of 0..{total - 1}")
    if len(frames_a) >= total:
        raise ConditioningInputError(
            f"{len(frames_a)} conditioning frames leave nothing to generate in a "
            f"{total}-frame video")
    return frames_a, [f for f in range(total) if f not in set(frames_a)]


def binned_variance_log_ratio(oracle: GaussianVideoOracle, samples: torch.Tensor, *,
                              bins: int = 8) -> torch.Tensor:
    """log(mean over each eigenvalue bin of v̂_k / λ_k), bins ordered from small to large λ_k.

    Every eigenmode evolves independently under any sampler driven by the oracle, with dynamics
    set by λ_k alone, so pooling modes of similar λ_k averages Monte Carlo noise, not bias.
    """
    lam = oracle.eigenvalues.flatten()
    ratio = _mode_variances(oracle, samples.double()).flatten() / lam
    return torch.stack([ratio[idx].mean().log() for idx in lam.argsort().chunk(bins)])


def _mode_variances(oracle: GaussianVideoOracle, samples: torch.Tensor) -> torch.Tensor:
    y = oracle.to_eigen(samples - oracle.mean)
    return (y - y.mean(0)).abs().pow(2).sum(0) / (samples.shape[0] - 1)


def moment_errors(oracle: GaussianVideoOracle, samples: torch.Tensor, *, bins: int = 8) -> dict:
    """Errors of the sample mean and covariance of ``samples`` [n, C, T, H, W] against the oracle.

    mean_white: RMS of the sample-mean error in whitened eigen-coordinates (≈ 1/√n if exact);
    mean_rel:   ‖x̄ − m‖ / ‖m‖ (nan for a zero-mean oracle);
    var_bin:    max over eigenvalue bins of |log(mean over the bin of v̂_k / λ_k)|, v̂_k the
                per-eigenmode sample variance (bias-sensitive, low Monte Carlo noise);
    var_rms:    RMS over eigenmodes of log(v̂_k / λ_k);
    var_mean_log: mean over eigenmodes of log(v̂_k / λ_k), signed (> 0: over-dispersed);
    cov_fro:    ‖Ĉ − Σ‖_F / ‖Σ‖_F with the dense sample covariance Ĉ (off-diagonals included;
                its Monte Carlo floor is large, compare with exact draws of the same size).
    """
    samples = samples.double()
    n, lam = samples.shape[0], oracle.eigenvalues
    y_bar = oracle.to_eigen(samples - oracle.mean).mean(0)
    log_ratio = (_mode_variances(oracle, samples) / lam).log()
    mean_norm = oracle.mean.norm()
    sigma = oracle.covariance()
    cov = torch.cov(samples.reshape(n, -1).T)
    return {
        "mean_white": float((y_bar.abs().pow(2) / lam).mean().sqrt()),
        "mean_rel": float((samples.mean(0) - oracle.mean).norm() / mean_norm)
        if mean_norm > 0 else math.nan,
        "var_bin": float(binned_variance_log_ratio(oracle, samples, bins=bins).abs().max()),
        "var_rms": float(log_ratio.pow(2).mean().sqrt()),
        "var_mean_log": float(log_ratio.mean()),
        "cov_fro": float((cov - sigma).norm() / sigma.norm()),
    }
