"""Forward process, parameterisations and loss against closed forms (Section 2)."""

import pytest
import torch

from vdbench.model.configs import DiffusionConfig
from vdbench.model.diffusion import (DiffusionDenoiser, diffusion_loss, drop_cond, eps_from_v,
                             eps_from_x, q_sample, q_sample_step, q_step_moments, v_from_x,
                             v_from_x_eps, x_from_eps, x_from_v)
from vdbench.model.schedule import CosineSchedule

D = torch.float64


def _xze(seed=0, shape=(3, 3, 4, 5, 5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=D) * 2 - 1
    eps = torch.randn(shape, generator=g, dtype=D)
    logsnr = torch.tensor([-7.0, 0.3, 9.0], dtype=D)
    return x, eps, logsnr, q_sample(x, logsnr, eps)


def test_q_sample_closed_form():
    x, eps, logsnr, z = _xze()
    # α = sqrt(sigmoid(λ)) written out by hand: α² = 1/(1+e^−λ), σ² = 1/(1+e^λ).
    alpha = (1 / (1 + torch.exp(-logsnr))).sqrt().view(3, 1, 1, 1, 1)
    sigma = (1 / (1 + torch.exp(logsnr))).sqrt().view(3, 1, 1, 1, 1)
    torch.testing.assert_close(z, alpha * x + sigma * eps, rtol=1e-14, atol=1e-14)


def test_parameterisation_round_trips():
    x, eps, logsnr, z = _xze(1)
    torch.testing.assert_close(x_from_eps(z, logsnr, eps), x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(eps_from_x(z, logsnr, x), eps, rtol=1e-9, atol=1e-9)
    v = v_from_x_eps(x, eps, logsnr)
    torch.testing.assert_close(x_from_v(z, logsnr, v), x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(eps_from_v(z, logsnr, v), eps, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(v_from_x(z, logsnr, x), v, rtol=1e-9, atol=1e-9)
    # v = α ε − σ x: at λ = 0 (α = σ = 1/√2), v = (ε − x)/√2.
    zero = torch.zeros(3, dtype=D)
    torch.testing.assert_close(v_from_x_eps(x, eps, zero), (eps - x) / 2**0.5)


def test_q_step_composes_to_marginal():
    """q(z_t|z_s)∘q(z_s|x) = q(z_t|x): (α_t/α_s)·α_s = α_t, (α_t/α_s)²σ_s² + σ²_{t|s} = σ_t²."""
    s = CosineSchedule()
    lam_s = s.logsnr(torch.tensor([0.1, 0.4, 0.95], dtype=D))
    lam_t = s.logsnr(torch.tensor([0.2, 0.41, 1.0], dtype=D))
    ratio, var = q_step_moments(lam_s, lam_t)
    a_s, s_s = torch.sigmoid(lam_s).sqrt(), torch.sigmoid(-lam_s).sqrt()
    a_t, s_t = torch.sigmoid(lam_t).sqrt(), torch.sigmoid(-lam_t).sqrt()
    torch.testing.assert_close(ratio * a_s, a_t, rtol=1e-12, atol=0)
    torch.testing.assert_close(ratio**2 * s_s**2 + var, s_t**2, rtol=1e-12, atol=1e-15)
    # Drawn samples: z_t from z_s with the same noise reproduces the moments.
    z_s = torch.ones(3, 2, dtype=D)
    eps = torch.full((3, 2), 0.5, dtype=D)
    expect = (ratio[:, None] + var.sqrt()[:, None] * 0.5).expand(3, 2)
    torch.testing.assert_close(q_sample_step(z_s, lam_s, lam_t, eps), expect)
    with pytest.raises(ValueError, match="t ≥ s"):
        q_step_moments(lam_t, lam_s)


class ExactEps(torch.nn.Module):
    """A "network" that knows x, so it returns the exact ε or v for any z_t."""

    def __init__(self, x, prediction):
        super().__init__()
        self.x, self.prediction = x, prediction

    def forward(self, z, logsnr, cond=None, frame_is_image=None):
        eps = eps_from_x(z, logsnr.to(D), self.x)
        return eps if self.prediction == "eps" else v_from_x_eps(self.x, eps, logsnr.to(D))


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_loss_is_zero_for_exact_predictions_and_target_matches(prediction):
    x = torch.rand(4, 3, 2, 4, 4, dtype=D) * 2 - 1
    cfg = DiffusionConfig(prediction=prediction)
    g = torch.Generator().manual_seed(0)
    loss = diffusion_loss(ExactEps(x, prediction), x, cfg, generator=g)
    assert loss.item() < 1e-12
    zero = diffusion_loss(lambda z, lam, c, m: torch.zeros_like(z), x, cfg,
                          generator=torch.Generator().manual_seed(0))
    if prediction == "eps":  # E‖ε‖² = 1 per element
        assert 0.8 < zero.item() < 1.2
    else:  # E‖v‖² = α²·E[ε²] + σ²·x², between min(1, x²) and max(1, x²)
        assert 0.2 < zero.item() < 1.2


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_denoiser_returns_x_hat_for_both_parameterisations(prediction):
    x = torch.rand(2, 3, 3, 4, 4, dtype=D) * 2 - 1
    den = DiffusionDenoiser(ExactEps(x, prediction), prediction)
    eps = torch.randn_like(x)
    for lam in (torch.tensor([-4.0, 6.0], dtype=D), torch.tensor(1.5, dtype=D)):
        z = q_sample(x, lam.expand(2), eps)
        torch.testing.assert_close(den(z, lam), x, rtol=1e-9, atol=1e-9)


def test_drop_cond():
    labels = torch.arange(1000)
    assert torch.equal(drop_cond(labels, 0.0, None), labels)
    assert (drop_cond(labels, 1.0, None) == -1).all()
    dropped = drop_cond(labels, 0.3, torch.Generator().manual_seed(0))
    frac = (dropped == -1).float().mean().item()
    assert 0.25 < frac < 0.35 and torch.equal(dropped[dropped >= 0], labels[dropped >= 0])
    text = torch.randn(1000, 2, 3)
    dt = drop_cond(text, 0.5, torch.Generator().manual_seed(1))
    rows_zero = (dt == 0).flatten(1).all(1)
    assert 0.4 < rows_zero.float().mean() < 0.6
    assert torch.equal(dt[~rows_zero], text[~rows_zero])
