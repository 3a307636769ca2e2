"""Samplers on the exact Gaussian oracle: step formulas, convergence in steps, Langevin, seeds."""

import math

import pytest
import torch

from vdbench.model.errors import SamplerInputError
from vdbench.model.oracle import GaussianVideoOracle, binned_variance_log_ratio, moment_errors
from vdbench.model.samplers import (PerSampleNoise, StepScalars, ancestral, posterior_mean,
                            predictor_corrector, step_variance, time_grid)

ORACLE = GaussianVideoOracle.power_law()  # 3 channels × 8 frames × 8×8


def _sample(sampler, n, steps, seed0=0, **kw):
    return sampler(ORACLE, noise=PerSampleNoise(range(seed0, seed0 + n), ORACLE.shape),
                   steps=steps, **kw)


def test_step_formulas_match_the_ddpm_forms():
    # Independent forms: σ²_{t|s} = σ_t² − (α_t/α_s)² σ_s², σ̃² = σ²_{t|s} σ_s²/σ_t²,
    # μ̃ = (α_t/α_s)(σ_s²/σ_t²) z_t + α_s (σ²_{t|s}/σ_t²) x.
    step = StepScalars(logsnr_t=-1.3, logsnr_s=2.1)
    a_t, s_t = step.alpha_sigma_t
    a_s, s_s = step.alpha_sigma_s
    var_ts = s_t**2 - (a_t / a_s) ** 2 * s_s**2
    var_st = var_ts * s_s**2 / s_t**2
    assert step_variance(step, 0.0) == pytest.approx(var_st, rel=1e-12)
    assert step_variance(step, 1.0) == pytest.approx(var_ts, rel=1e-12)
    assert step_variance(step, 0.3) == pytest.approx(var_st**0.7 * var_ts**0.3, rel=1e-12)
    z, x = torch.tensor([0.7], dtype=torch.float64), torch.tensor([-0.4], dtype=torch.float64)
    expect = (a_t / a_s) * (s_s**2 / s_t**2) * z + a_s * (var_ts / s_t**2) * x
    assert torch.allclose(posterior_mean(z, x, step), expect, atol=1e-14)
    assert time_grid(4) == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_error_shrinks_with_steps():
    errors = [moment_errors(ORACLE, _sample(ancestral, 512, steps))["var_bin"]
              for steps in (4, 16, 64)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] > 3.0 and errors[2] < 0.9  # measured: 4.82, 2.18, 0.76 (n=1024)


def test_error_bound_at_256_steps():
    x = _sample(ancestral, 512, 256)
    err = moment_errors(ORACLE, x)
    bins = binned_variance_log_ratio(ORACLE, x)
    # Stated bound: every eigenvalue bin within |log variance ratio| < 0.32 (measured 0.28, all
    # in the smallest-eigenvalue bin, resolved by only ~3 steps of the cosine grid near t = 0);
    # the upper half of the spectrum within 0.09 (measured 0.071 .. 0.022, shrinking with λ_k);
    # the mean at the Monte Carlo floor.
    assert err["var_bin"] < 0.32
    assert bins[4:].abs().max() < 0.09
    assert bins[-1].abs() < bins[0].abs() / 5
    assert err["mean_white"] < 2.0 / math.sqrt(512)


def test_langevin_corrector_reduces_the_error_at_few_steps():
    steps = 16
    plain = binned_variance_log_ratio(ORACLE, _sample(ancestral, 512, steps))
    corrected = binned_variance_log_ratio(ORACLE, _sample(predictor_corrector, 512, steps))
    # Same seeds. The corrector pulls every bin's variance towards the target (all bins are
    # too narrow with γ = 0), most in the well-resolved large-eigenvalue bins.
    assert (plain < 0).all()
    assert (corrected.abs() < plain.abs()).all()
    assert (plain.abs() - corrected.abs())[4:].min() > 0.01


@pytest.mark.slow
def test_error_keeps_shrinking_to_1024_steps():
    err = moment_errors(ORACLE, _sample(ancestral, 512, 1024))
    assert err["var_bin"] < 0.12  # per-mode recursion predicts 0.10 in the smallest bin


@pytest.mark.parametrize("sampler", [ancestral, predictor_corrector])
def test_samples_do_not_depend_on_the_batch(sampler):
    seeds = [11, 5, 42, 7, 3, 99, 1234, 8]
    full = sampler(ORACLE, noise=PerSampleNoise(seeds, ORACLE.shape), steps=6)
    singles = [sampler(ORACLE, noise=PerSampleNoise([s], ORACLE.shape), steps=6) for s in seeds[:3]]
    threes = sampler(ORACLE, noise=PerSampleNoise(seeds[3:6], ORACLE.shape), steps=6)
    assert torch.equal(torch.cat(singles), full[:3])
    assert torch.equal(threes, full[3:6])
    other = sampler(ORACLE, noise=PerSampleNoise([12], ORACLE.shape), steps=6)
    assert not torch.equal(other[0], full[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"), (dict(steps=2.5), "steps"), (dict(steps=4, gamma=-0.1), "gamma"),
    (dict(steps=4, gamma=1.5), "gamma"),
])
def test_bad_sampler_settings(kwargs, match):
    with pytest.raises(SamplerInputError, match=match):
        ancestral(ORACLE, noise=PerSampleNoise([0], ORACLE.shape), **kwargs)


def test_bad_langevin_and_seed_settings():
    noise = PerSampleNoise([0], ORACLE.shape)
    with pytest.raises(SamplerInputError, match="delta"):
        predictor_corrector(ORACLE, noise=noise, steps=2, delta=0.0)
    with pytest.raises(SamplerInputError, match="corrector_steps"):
        predictor_corrector(ORACLE, noise=noise, steps=2, corrector_steps=-1)
    with pytest.raises(SamplerInputError, match="seed"):
        PerSampleNoise([], ORACLE.shape)
    with pytest.raises(SamplerInputError, match="non-negative"):
        PerSampleNoise([-3], ORACLE.shape)


def _predicted_variance_ratio(lam: torch.Tensor, steps: int, gamma: float) -> torch.Tensor:
    """Var[x̂(z_0)]/λ per eigenmode, by an independent scalar recursion in the DDPM forms.

    With the exact denoiser x̂ = g z (g = αλ/(α²λ + σ²)) a mode obeys
    z_s = [(α_t/α_s)(σ_s²/σ_t²) + α_s (σ²_{t|s}/σ_t²) g] z_t + noise, so its variance is
    v_s = A² v_t + (σ̃²)^{1−γ}(σ²_{t|s})^γ from v_1 = 1.
    """
    t = torch.linspace(1, 0, steps + 1, dtype=torch.float64)
    b = math.atan(math.exp(-10.0))
    logsnr = -2 * torch.log(torch.tan((math.atan(math.exp(10.0)) - b) * t + b))
    a2, s2 = torch.sigmoid(logsnr), torch.sigmoid(-logsnr)
    v = torch.ones_like(lam)
    for i in range(steps):
        at2, st2, as2, ss2 = a2[i], s2[i], a2[i + 1], s2[i + 1]
        var_ts = st2 - at2 / as2 * ss2
        gain = at2.sqrt() * lam / (at2 * lam + st2)
        coef = (at2 / as2).sqrt() * ss2 / st2 + as2.sqrt() * var_ts / st2 * gain
        v = coef**2 * v + (var_ts * ss2 / st2) ** (1 - gamma) * var_ts**gamma
    gain0 = a2[-1].sqrt() * lam / (a2[-1] * lam + s2[-1])
    return gain0**2 * v / lam


@pytest.mark.parametrize("gamma", [0.0, 1.0])
def test_monte_carlo_matches_the_per_mode_recursion(gamma):
    # The measured errors are the sampler's, not a bug: an independent linear-Gaussian
    # recursion predicts every eigenvalue bin's variance ratio at 16 steps.
    x = _sample(ancestral, 512, 16, gamma=gamma)
    lam = ORACLE.eigenvalues.flatten()
    predicted = _predicted_variance_ratio(lam, 16, gamma)
    expect = torch.stack([predicted[idx].mean().log() for idx in lam.argsort().chunk(8)])
    measured = binned_variance_log_ratio(ORACLE, x)
    assert expect.abs().max() > 1.0  # far from exact at 16 steps ...
    assert torch.allclose(measured, expect, atol=0.03)  # ... and exactly as predicted
