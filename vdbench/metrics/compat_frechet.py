"""The Fréchet distance as each FVD parity mode (vdbench.metrics.compat) computes it.

    d² = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_g Σ_r)^{1/2})

The modes differ in the covariance (÷(n − 1), TF-GAN and VideoGPT; ÷n, StyleGAN-V's
FeatureStats.get_mean_cov) and in the square root (TF-GAN's trace of two SVD square roots; or
scipy.linalg.sqrtm of the product, as StyleGAN-V, keeping the real part of the trace). All are
computed here in float64 from the streamed sums (count, Σx, Σxxᵀ), which are exactly the
sums StyleGAN-V accumulates (raw_mean, raw_cov).
"""

from __future__ import annotations

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import (GaussianStats, MeanCovStats, frechet_distance,
                                     frechet_of_moments)
from vdbench.util.blas import one_blas_thread

COVARIANCES = ("n-1", "n")
SQRTS = ("tf-gan-svd", "scipy-sqrtm")


def covariance(stats: GaussianStats, kind: str) -> np.ndarray:
    """``"n-1"``: the unbiased covariance (GaussianStats.cov); ``"n"``: StyleGAN-V's
    Σxxᵀ/n − μμᵀ, in that order of operations."""
    if kind == "n-1":
        return stats.cov
    if kind != "n":
        raise ValueError(f"unknown covariance {kind!r}; expected one of {COVARIANCES}")
    if isinstance(stats, MeanCovStats):
        raise stats.refuse("the covariance divided by n (StyleGAN-V's)")
    if stats.count < 2:
        raise InputError(f"a covariance needs at least 2 samples, got {stats.count}")
    mean = stats.sum / stats.count
    return stats.sum_outer / stats.count - np.outer(mean, mean)


def scipy_sqrtm_distance(mu_r: np.ndarray, sigma_r: np.ndarray, mu_g: np.ndarray,
                         sigma_g: np.ndarray) -> float:
    """StyleGAN-V's `compute_fvd`: sqrtm(Σ_g Σ_r) by scipy (Schur method), the real part of
    m + Tr(Σ_g + Σ_r − 2 s)."""
    import warnings

    import scipy.linalg

    m = np.square(mu_g - mu_r).sum()
    # one BLAS thread: the same bits at any thread count; theirs passes disp=False, which
    # silences scipy's warning about a singular product (e.g. fewer clips than dimensions)
    with one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        s = scipy.linalg.sqrtm(np.dot(sigma_g, sigma_r))
        return float(np.real(m + np.trace(sigma_g + sigma_r - s * 2)))


def mode_frechet(real: GaussianStats, gen: GaussianStats, covariance_kind: str = "n-1",
                 sqrt: str = "tf-gan-svd", warn: bool = True) -> float:
    """The Fréchet distance between the real and the generated statistics under one mode's
    covariance and square root; TF-GAN's pair is exactly vdbench.metrics.frechet's."""
    if covariance_kind == "n-1" and sqrt == "tf-gan-svd":
        return frechet_distance(real, gen, warn=warn)
    if sqrt not in SQRTS:
        raise ValueError(f"unknown square root {sqrt!r}; expected one of {SQRTS}")
    if real.dim != gen.dim:
        raise InputError(f"feature dimensions differ: {real.dim} vs {gen.dim}")
    sigma_r, sigma_g = covariance(real, covariance_kind), covariance(gen, covariance_kind)
    if sqrt == "scipy-sqrtm":
        return scipy_sqrtm_distance(real.mean, sigma_r, gen.mean, sigma_g)
    return frechet_of_moments(real.mean, sigma_r, gen.mean, sigma_g)  # TF-GAN's square root
