"""Kernel distances: KVD on I3D features (Unterthiner et al. 2018 propose it beside FVD) and KID
on Inception features (Bińkowski et al. 2018, "Demystifying MMD GANs", Section 4).

Both are the unbiased estimator of the squared maximum mean discrepancy (MMD², Gretton et al.
2012, Lemma 6) between the real and the generated features under the polynomial kernel

    k(x, y) = (xᵀy / d + 1)³                      (d: the feature dimension)

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j)
             − 2/(mn) Σ_{i,j} k(x_i, y_j).

Its expectation is the population MMD², 0 for equal distributions at any sample size, which
the Fréchet distance's plug-in estimate is not (it is biased upwards at small N). As KID is
reported, it is averaged over ``subsets`` random subsets of ``min(N, 1000)`` rows of each side
(drawn without replacement, generated side first, from numpy's RandomState(seed): the procedure
and defaults of torch-fidelity's KID, so equal features give equal numbers), with the
population std over subsets beside it. Computed in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.util.blas import one_blas_thread

# Bińkowski et al.'s subsets, as torch-fidelity's KID defaults (subset size, count, seed)
MAX_SUBSET_SIZE, SUBSETS, SEED = 1000, 100, 2020
ESTIMATOR = "unbiased MMD² (Gretton et al. 2012), mean ± std over subsets"
KERNEL = "polynomial (xᵀy/d + 1)³"


@dataclass(frozen=True)
class KernelDistance:
    """A kernel distance: the mean MMD²_u over the subsets, their population std, and the
    subset draw that produced them."""

    mean: float
    std: float
    subset_size: int
    subsets: int
    seed: int


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x_i, y_j) = (x_iᵀy_j / d + 1)³ for every pair of rows: [len(x), len(y)]."""
    k = x @ y.T
    k /= x.shape[1]
    k += 1.0
    return k * k * k  # several times faster than np.power(k, 3)


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """MMD²_u between the rows of ``x`` [m, d] and ``y`` [n, d] (m, n ≥ 2): the module's formula,
    the diagonals k(x_i, x_i) left out of the within-set means."""
    m, n = len(x), len(y)
    with one_blas_thread():  # the same bits at any BLAS thread count
        kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2 * kxy.sum() / (m * n))


def feature_rows(rows, name: str) -> np.ndarray:
    """``rows`` as a float64 [N, d] array with N ≥ 2 finite rows; else an InputError naming it."""
    x = np.asarray(rows)
    if x.ndim != 2 or not (np.issubdtype(x.dtype, np.floating)
                           or np.issubdtype(x.dtype, np.integer)):
        raise InputError(f"{name}: expected a numeric [N, D] feature array, got {x.dtype} of "
                         f"shape {x.shape}")
    if len(x) < 2:
        raise InputError(f"{name}: {len(x)} row(s); the unbiased MMD² needs at least 2")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name}: features contain NaN or inf")
    return x


def kernel_distance(real, generated, max_subset_size: int = MAX_SUBSET_SIZE,
                    subsets: int = SUBSETS, seed: int = SEED) -> KernelDistance:
    """MMD²_u between ``real`` and ``generated`` feature rows, averaged over ``subsets`` subsets
    of min(N_real, N_generated, ``max_subset_size``) rows per side (module docstring)."""
    x, y = feature_rows(real, "real"), feature_rows(generated, "generated")
    if x.shape[1] != y.shape[1]:
        raise InputError(f"generated: features of dimension {y.shape[1]}, real: {x.shape[1]}")
    if max_subset_size < 2 or subsets < 1:
        raise InputError(f"kernel distance: subsets of {max_subset_size} rows × {subsets} "
                         "(needs ≥ 2 rows and ≥ 1 subset)")
    size = min(max_subset_size, len(x), len(y))
    if size == len(x) == len(y):
        # every subset is the whole of both sets, and MMD²_u does not depend on row order
        return KernelDistance(mmd2_unbiased(x, y), 0.0, size, subsets, seed)
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        gen_rows = rng.choice(len(y), size, replace=False)  # torch-fidelity's input1 first
        real_rows = rng.choice(len(x), size, replace=False)
        values.append(mmd2_unbiased(y[gen_rows], x[real_rows]))
    return KernelDistance(float(np.mean(values)), float(np.std(values)), size, subsets, seed)


def kvd(real_features, generated_features, **options) -> KernelDistance:
    """Kernel Video Distance between [N, 400] I3D logits (`I3DFeatures`, as for FVD) of real and
    generated videos; ``options``: those of ``kernel_distance``."""
    return kernel_distance(real_features, generated_features, **options)


def kid(real_features, generated_features, **options) -> KernelDistance:
    """Kernel Inception Distance between [N, 2048] Inception pool3 features
    (`InceptionFeatures("avg")` or `("first")`); ``options``: those of ``kernel_distance``."""
    return kernel_distance(real_features, generated_features, **options)
