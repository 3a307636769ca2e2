import math

import pytest
import torch

from vdbench.model.schedule import CosineSchedule, alpha_sigma, append_dims


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
