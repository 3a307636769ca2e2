import math

import pytest
import torch

from vdbench.model.schedule import (CosineSchedule, alpha_sigma, append_dims, log_sigma2,
                                     scalar_alpha_sigma)


def test_endpoints_and_monotone():
    s = CosineSchedule()
    t = torch.linspace(0, 1, 1001, dtype=torch.float64)
    lam = s.logsnr(t)
    assert lam[0].item() == pytest.approx(20.0, abs=1e-9)
    assert lam[-1].item() == pytest.approx(-20.0, abs=1e-9)
    assert torch.all(lam[1:] < lam[:-1])
    assert torch.allclose(s.t_of_logsnr(lam), t, atol=1e-9)


def test_closed_form_midpoint_and_variance_preserving():
    # With a symmetric range, λ(1/2) = −2 log tan(π/4) = 0 exactly.
    s = CosineSchedule(-20.0, 20.0)
    assert s.logsnr(torch.tensor(0.5, dtype=torch.float64)).item() == pytest.approx(0, abs=1e-12)
    # Unclipped cosine schedule (λ range → ±∞): λ(t) = −2 log tan(π t / 2).
    wide = CosineSchedule(-60.0, 60.0)
    t = torch.tensor([0.1, 0.3, 0.7], dtype=torch.float64)
    expect = -2 * torch.log(torch.tan(math.pi * t / 2))
    assert torch.allclose(wide.logsnr(t), expect, atol=1e-9)
    a, sig = alpha_sigma(torch.linspace(-20, 20, 9, dtype=torch.float64))
    assert torch.allclose(a**2 + sig**2, torch.ones(9, dtype=torch.float64))


def test_bad_range_and_append_dims():
    with pytest.raises(ValueError, match="logsnr_min"):
        CosineSchedule(5.0, 5.0)
    assert append_dims(torch.ones(4), 5).shape == (4, 1, 1, 1, 1)


@pytest.mark.parametrize("lam", [-30.0, -2.5, 0.0, 1.0, 7.25, 30.0])
def test_scalar_alpha_sigma_is_the_closed_form(lam):
    # α² = 1/(1 + e^−λ), σ² = 1/(1 + e^λ), written out independently of the library.
    a, s = scalar_alpha_sigma(lam)
    assert isinstance(a, float) and isinstance(s, float)
    assert a == pytest.approx(math.sqrt(1.0 / (1.0 + math.exp(-lam))), rel=1e-14)
    assert s == pytest.approx(math.sqrt(1.0 / (1.0 + math.exp(lam))), rel=1e-14)
    assert log_sigma2(lam) == pytest.approx(-math.log1p(math.exp(lam)), rel=1e-14)


def test_scalar_alpha_sigma_at_extreme_logsnr():
    # e^800 overflows a float: the shared definition stays finite where 1/(1 + e^λ) would not.
    assert scalar_alpha_sigma(-800.0) == (0.0, 1.0)
    assert scalar_alpha_sigma(800.0) == (1.0, 0.0)
    assert log_sigma2(800.0) == -800.0
    assert log_sigma2(0.0) == pytest.approx(-math.log(2.0), rel=1e-15)
