"""The analytic oracle against dense-matrix Gaussian algebra (an independent closed form)."""

import math

import pytest
import torch

from vdbench.model.errors import ConditioningInputError
from vdbench.model.oracle import GaussianVideoOracle, moment_errors, power_law_spectrum


def _small(mean=False) -> GaussianVideoOracle:
    o = GaussianVideoOracle.power_law(channels=2, frames=3, height=4, width=6, rho=0.5)
    if mean:
        m = torch.linspace(-0.5, 0.5, math.prod(o.shape), dtype=torch.float64).reshape(o.shape)
        o = GaussianVideoOracle(o.channel_cov, o.temporal_cov, o.spectrum, scale=o.scale, mean=m)
    return o


def _randn(n, shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, dtype=torch.float64, generator=g)


def _circulant(spectrum: torch.Tensor) -> torch.Tensor:
    """S[p, q] = (1/HW) Σ_k P(k) cos(2π k·(p − q)): the circulant covariance, summed directly."""
    h, w = spectrum.shape
    py, px = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    py, px = py.flatten().double(), px.flatten().double()
    s = torch.zeros(h * w, h * w, dtype=torch.float64)
    for ky in range(h):
        for kx in range(w):
            phase = 2 * math.pi * (ky * py / h + kx * px / w)
            s += spectrum[ky, kx] * torch.cos(phase[:, None] - phase[None, :])
    return s / (h * w)


def test_covariance_is_the_kronecker_product_of_its_factors():
    o = _small()
    expect = o.scale**2 * torch.kron(torch.kron(o.channel_cov, o.temporal_cov),
                                     _circulant(o.spectrum))
    assert torch.allclose(o.covariance(), expect, atol=1e-12)
    assert torch.allclose(power_law_spectrum(8, 8).mean(), torch.tensor(1.0, dtype=torch.float64))


@pytest.mark.parametrize("logsnr", [-12.0, -1.5, 0.0, 3.0, 15.0])
def test_denoiser_is_the_dense_posterior_mean(logsnr):
    o = _small(mean=True)
    sigma_x, m = o.covariance(), o.mean.flatten()
    n = sigma_x.shape[0]
    cond = 0.1 * _randn(2, o.shape, 1)
    z = _randn(2, o.shape, 2)
    x_hat = o(z, torch.full((2,), logsnr, dtype=torch.float64), cond)
    a2 = torch.sigmoid(torch.tensor(logsnr, dtype=torch.float64))
    s2 = 1 - a2
    for b in range(2):
        mu = m + cond[b].flatten()
        # E[x|z] = μ + Σ α (α²Σ + σ²I)^{-1}(z − αμ)
        rhs = z[b].flatten() - a2.sqrt() * mu
        inv = torch.linalg.solve(a2 * sigma_x + s2 * torch.eye(n), rhs)
        expect = mu + a2.sqrt() * sigma_x @ inv
        assert torch.allclose(x_hat[b].flatten(), expect, atol=1e-10)


def test_condition_on_frames_matches_dense_gaussian_conditioning():
    o = _small(mean=True)
    x = o.sample(_randn(1, o.shape, 3))[0]
    frames_a = [0, 2]
    post = o.condition_on_frames(x[:, frames_a], frames_a)
    idx = torch.arange(math.prod(o.shape)).reshape(o.shape)
    ia, ib = idx[:, frames_a].flatten(), idx[:, [1]].flatten()
    s = o.covariance()
    gain = s[ib][:, ia] @ torch.linalg.inv(s[ia][:, ia])
    mean = o.mean.flatten()[ib] + gain @ (x.flatten()[ia] - o.mean.flatten()[ia])
    cov = s[ib][:, ib] - gain @ s[ia][:, ib]
    assert torch.allclose(post.mean.flatten(), mean, atol=1e-10)
    assert torch.allclose(post.covariance(), cov, atol=1e-10)


def test_exact_draws_reach_the_monte_carlo_floor():
    o = GaussianVideoOracle.power_law()
    n = 2048
    x = o.sample(_randn(n, o.shape, 4))
    err = moment_errors(o, x)
    # whitened mean error ≈ 1/√n, per-mode log variance ratio ≈ 1/√n (complex modes)
    assert err["mean_white"] < 1.5 / math.sqrt(n)
    assert err["var_rms"] < 1.5 / math.sqrt(n)
    assert err["var_bin"] < 0.015
    # a sampler with 10% too little variance must be caught
    assert moment_errors(o, 0.95 * x)["var_bin"] > 0.09


def test_bad_conditioning_frames():
    o = _small()
    x = torch.zeros(o.shape, dtype=torch.float64)
    with pytest.raises(ConditioningInputError, match="subset"):
        o.condition_on_frames(x[:, [0]], [5])
    with pytest.raises(ConditioningInputError, match="nothing to generate"):
        o.condition_on_frames(x, [0, 1, 2])
