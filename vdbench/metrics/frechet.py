"""Gaussian statistics of features and the Fréchet distance between them.

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2})

computed as TF-GAN's `frechet_classifier_distance_from_activations`, which the FVD reference
calls: float64, unbiased (n − 1) covariances, and the trace of the square root taken through two
SVD-based symmetric square roots, where singular values below 1e-10 are kept as they are.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from vdbench.util.atomic import atomic_savez
from vdbench.util.blas import one_blas_thread
from vdbench.metrics.arrays import npz_keys, read_npz
from vdbench.metrics.errors import InputError

log = logging.getLogger(__name__)

_STATS_KEYS = ("count", "sum", "sum_outer")


@dataclass
class GaussianStats:
    """Streaming first and second moments of [N, D] features in float64.

    Memory is O(D²) whatever N is; shards merge exactly (sums add): ``a.merge(b)`` in place,
    ``a + b`` into new statistics.
    """

    # False for statistics known only by mean and covariance (MeanCovStats): no sample count
    counted: ClassVar[bool] = True
    dim: int
    count: int = 0
    # None until __post_init__ sizes them by dim (a field default cannot depend on another).
    sum: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    sum_outer: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.sum is None:
            self.sum = np.zeros(self.dim, dtype=np.float64)
        if self.sum_outer is None:
            self.sum_outer = np.zeros((self.dim, self.dim), dtype=np.float64)

    def update(self, features: np.ndarray) -> "GaussianStats":
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"expected features [N, {self.dim}], got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("features contain NaN or inf")
        self.count += x.shape[0]
        self.sum += x.sum(axis=0)
        # One BLAS thread: Σ xxᵀ gets the same bits whatever the machine's core count.
        with one_blas_thread():
            self.sum_outer += x.T @ x
        return self

    def add_weighted(self, features: np.ndarray, weights: np.ndarray) -> "GaussianStats":
        """Add each row ``weights[i]`` times (integer counts of a bootstrap replicate): the
        same sums as repeating the rows, from one weighted product."""
        x = np.asarray(features, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim or w.shape != (len(x),):
            raise InputError(f"expected features [N, {self.dim}] and N weights, got shapes "
                             f"{x.shape} and {w.shape}")
        self.count += int(round(w.sum()))
        self.sum += w @ x
        self.sum_outer += (x * w[:, None]).T @ x
        return self

    def merge(self, other: "GaussianStats") -> "GaussianStats":
        """Add ``other``'s samples to these statistics **in place** (shards combine exactly:
        the sums add) and return ``self``, like ``update``. So ``a.merge(b)`` alone and
        ``merged = a.merge(b)`` both leave the merged statistics in ``a``; ``a + b`` instead
        returns new statistics and leaves both unchanged."""
        if isinstance(other, MeanCovStats):
            raise other.refuse("merging")
        if other.dim != self.dim:
            raise InputError(f"cannot merge statistics of dim {other.dim} into dim {self.dim}")
        self.count += other.count
        self.sum = self.sum + other.sum
        self.sum_outer = self.sum_outer + other.sum_outer
        return self

    def __add__(self, other: "GaussianStats") -> "GaussianStats":
        """New statistics of both sample sets; ``self`` and ``other`` are left unchanged."""
        return self.copy().merge(other)

    def copy(self) -> "GaussianStats":
        return GaussianStats(self.dim, self.count, self.sum.copy(), self.sum_outer.copy())

    @property
    def mean(self) -> np.ndarray:
        return self.sum / self.count

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance, (Σ xxᵀ − n μμᵀ) / (n − 1), as TF-GAN computes it."""
        if self.count < 2:
            raise InputError(f"a covariance needs at least 2 samples, got {self.count}")
        mu = self.mean
        cov = (self.sum_outer - self.count * np.outer(mu, mu)) / (self.count - 1)
        return (cov + cov.T) / 2

    @classmethod
    def from_features(cls, features: np.ndarray) -> "GaussianStats":
        features = np.asarray(features)
        if features.ndim != 2:
            raise InputError(f"expected features [N, D], got shape {features.shape}")
        return cls(features.shape[1]).update(features)

    def save(self, path: str | os.PathLike, **meta: object) -> None:
        """Atomic .npz write (temp file in the same folder, then rename)."""
        arrays = {"count": np.int64(self.count), "sum": self.sum, "sum_outer": self.sum_outer}
        arrays.update({f"meta_{k}": np.array(str(v)) for k, v in meta.items()})
        atomic_savez(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "GaussianStats":
        """Statistics saved by ``save``, refused (naming the file and the field) unless they
        could be the moments of some set of feature vectors: see ``check_moments``; or a
        ``mu``/``sigma`` .npz (``load_mu_sigma``)."""
        keys = npz_keys(path)
        if "sum_outer" not in keys and {"mu", "sigma"} <= set(keys):
            return load_mu_sigma(path)
        data = read_npz(path, _STATS_KEYS + ("meta_network",))
        missing = [k for k in _STATS_KEYS if k not in data]
        if missing:
            raise InputError(f"{path}: not a statistics file (missing {missing})")
        count, s, so = check_moments(data["count"], data["sum"], data["sum_outer"], str(path))
        return cls(s.shape[0], count, s, so)


@dataclass
class MeanCovStats(GaussianStats):
    """Gaussian statistics known only by their mean and covariance: the ``mu``/``sigma`` .npz
    of pytorch-fid and clean-fid (``sigma``: numpy's unbiased ``np.cov``, as ``cov`` above).
    A Fréchet distance needs no more; merging, adding features or anything that needs the
    sample count (an interval, a count to report) is refused, naming the file."""

    counted: ClassVar[bool] = False
    mu: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    sigma: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    source: str = ""

    def __post_init__(self) -> None:  # no sums to size
        pass

    @property
    def mean(self) -> np.ndarray:
        return self.mu

    @property
    def cov(self) -> np.ndarray:
        return self.sigma

    def refuse(self, what: str) -> InputError:
        return InputError(f"{self.source}: mu/sigma statistics hold no sample count; {what} "
                          "needs it (write statistics with `vdbench stats` in its default "
                          "format: count, sum and sum of outer products)")

    def update(self, features: np.ndarray) -> "GaussianStats":
        raise self.refuse("adding features")

    def merge(self, other: "GaussianStats") -> "GaussianStats":
        raise self.refuse("merging")

    def copy(self) -> "GaussianStats":
        raise self.refuse("copying into mergeable statistics")


def save_mu_sigma(path: str | os.PathLike, stats: GaussianStats, **meta: object) -> None:
    """The ``mu``/``sigma`` .npz of pytorch-fid and clean-fid (float64; ``sigma`` unbiased),
    with vdbench's ``meta_*`` entries beside them (those readers ignore other keys)."""
    arrays = {"mu": stats.mean, "sigma": stats.cov}
    arrays.update({f"meta_{k}": np.array(str(v)) for k, v in meta.items()})
    atomic_savez(path, **arrays)


def load_mu_sigma(path: str | os.PathLike) -> MeanCovStats:
    """A ``mu``/``sigma`` .npz, refused (naming the file and the field) unless ``mu`` is a
    finite float vector and ``sigma`` a finite, symmetric, positive semi-definite matrix of
    its dimension."""
    where = str(path)
    data = read_npz(path, ("mu", "sigma"))
    mu, sigma = data["mu"], data["sigma"]
    for name, arr in (("mu", mu), ("sigma", sigma)):
        if not np.issubdtype(arr.dtype, np.floating):
            raise InputError(f"{where}: {name}: expected a float array, got {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{where}: {name}: contains NaN or inf")
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise InputError(f"{where}: sigma: shape {sigma.shape} does not match mu {mu.shape} "
                         "(expected mu [D] and sigma [D, D])")
    mu, sigma = mu.astype(np.float64), sigma.astype(np.float64)
    if np.abs(sigma - sigma.T).max(initial=0.0) > SYMMETRY_RTOL * np.abs(sigma).max(initial=0):
        raise InputError(f"{where}: sigma: not symmetric")
    _check_psd(sigma, float(np.trace(sigma)), where, "sigma")
    return MeanCovStats(len(mu), mu=mu, sigma=(sigma + sigma.T) / 2, source=where)


# Relative tolerances for rounding: symmetry of Σ xxᵀ, and how far below zero an eigenvalue of
# the scatter matrix (or a Fréchet distance) may fall and still be rounding, not a lie.
SYMMETRY_RTOL = 1e-8
PSD_RTOL = 1e-8
FRECHET_RTOL = 1e-6


def check_moments(count: np.ndarray, s: np.ndarray, so: np.ndarray,
                  where: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, sum, sum_outer) as int and float64, if they are the moments of n >= 2 real
    vectors; otherwise InputError naming ``where`` and the field.

    Such moments exist exactly when the moment matrix of the vectors [x; 1],
    [[Σ xxᵀ, Σ x], [Σ xᵀ, n]], is positive semi-definite, i.e. (Schur complement, n > 0) when
    the scatter matrix Σ xxᵀ − (Σ x)(Σ x)ᵀ / n is: this is the test of ``count`` against the
    sums. (A larger n with the same sums is consistent: zero vectors add nothing to them.)"""
    if count.shape not in ((), (1,)) or not np.issubdtype(count.dtype, np.integer):
        raise InputError(f"{where}: count: expected one integer, got {count.dtype} "
                         f"of shape {count.shape}")
    n = int(count.reshape(()))
    if n < 2:
        raise InputError(f"{where}: count: {n} sample(s); a covariance needs at least 2")
    for name, arr, ndim in (("sum", s, 1), ("sum_outer", so, 2)):
        if not np.issubdtype(arr.dtype, np.floating):
            raise InputError(f"{where}: {name}: expected a float array, got {arr.dtype}")
        if arr.ndim != ndim or (ndim == 2 and arr.shape != (s.shape[0], s.shape[0])):
            raise InputError(f"{where}: {name}: wrong shape {arr.shape} (sum is {s.shape})")
        if not np.all(np.isfinite(arr)):
            raise InputError(f"{where}: {name}: contains NaN or inf")
    s, so = s.astype(np.float64), so.astype(np.float64)
    scale = float(np.abs(so).max(initial=0.0))
    if np.abs(so - so.T).max(initial=0.0) > SYMMETRY_RTOL * scale:
        raise InputError(f"{where}: sum_outer: not symmetric")
    _check_psd(so - np.outer(s, s) / n, float(np.trace(so)), where)
    return n, s, so


def _check_psd(scatter: np.ndarray, scale: float, where: str,
               fields: str = "count, sum, sum_outer") -> None:
    """Refuse a scatter matrix with an eigenvalue below −PSD_RTOL·Tr(Σ xxᵀ) (rounding in the
    accumulated sums is far smaller). A Cholesky factor of the shifted matrix exists exactly
    when no eigenvalue is below the shift; eigenvalues are computed only to word the error."""
    sym = (scatter + scatter.T) / 2
    shift = PSD_RTOL * max(scale, 0.0)
    try:
        with one_blas_thread():  # near the threshold, the verdict must not depend on threads
            np.linalg.cholesky(sym + (shift + np.finfo(np.float64).tiny) * np.eye(len(sym)))
        return
    except np.linalg.LinAlgError:
        pass
    lowest = float(np.linalg.eigvalsh(sym)[0])
    raise InputError(f"{where}: {fields}: inconsistent (the covariance they imply "
                     f"is not positive semi-definite: eigenvalue {lowest:.6g})")


def symmetric_sqrt(mat: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """Square root of a symmetric PSD matrix via SVD, as TF-GAN's `_symmetric_matrix_square_root`.

    Singular values below ``eps`` are kept unchanged rather than square-rooted (TF-GAN does this
    to keep rank-deficient covariances stable).
    """
    with one_blas_thread():  # the same bits at any BLAS thread count
        u, s, vt = np.linalg.svd(mat)
        si = np.where(s < eps, s, np.sqrt(s))
        return (u * si) @ vt


def trace_sqrt_product(sigma: np.ndarray, sigma_v: np.ndarray) -> float:
    """Tr((Σ Σ_v)^{1/2}) = Tr((Σ^{1/2} Σ_v Σ^{1/2})^{1/2}), TF-GAN's `trace_sqrt_product`."""
    # One BLAS thread: the SVDs and products give the same bits at any thread count.
    with one_blas_thread():
        sqrt_sigma = symmetric_sqrt(sigma)
        return float(np.trace(symmetric_sqrt(sqrt_sigma @ sigma_v @ sqrt_sigma)))


def frechet_distance(a: GaussianStats, b: GaussianStats, warn: bool = True) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (float64)."""
    if a.dim != b.dim:
        raise InputError(f"feature dimensions differ: {a.dim} vs {b.dim}")
    for name, s in (("first", a), ("second", b)):
        if not s.counted:  # mu/sigma statistics: the count is unknown
            continue
        if s.count < 2:
            raise InputError(f"the {name} set has {s.count} sample(s); at least 2 are needed")
        if warn and s.count < s.dim:
            log.warning(
                "warning: the %s set has %d samples, fewer than the feature dimension %d: "
                "its covariance is rank-deficient and the distance is biased upwards; the "
                "distance extrapolated to infinitely many samples (FVD∞/FID∞: `fvd_inf` in "
                "a run's record, printed by `vdbench fvd` and `vdbench fid`) removes the bias "
                "that is linear in 1/N",
                name, s.count, s.dim,
            )
    return frechet_of_moments(a.mean, a.cov, b.mean, b.cov)


def frechet_of_moments(mu: np.ndarray, sigma: np.ndarray, mu_v: np.ndarray,
                       sigma_v: np.ndarray) -> float:
    """‖μ − μ_v‖² + Tr(Σ + Σ_v) − 2 Tr((Σ^{1/2} Σ_v Σ^{1/2})^{1/2}), the square root as TF-GAN
    takes it; refused where a covariance is not finite or not PSD."""
    mean_term = float(np.sum((mu - mu_v) ** 2))
    for name, m in (("first", sigma), ("second", sigma_v)):
        if not np.all(np.isfinite(m)):
            raise InputError(f"the {name} set's covariance contains NaN or inf")
    traces = float(np.trace(sigma + sigma_v))
    distance = traces - 2.0 * trace_sqrt_product(sigma, sigma_v) + mean_term
    # d² >= 0 for any two Gaussians; below zero beyond rounding, a covariance was not PSD.
    if distance < -FRECHET_RTOL * (abs(traces) + mean_term):
        raise InputError(f"Fréchet distance {distance:.6g} < 0: a covariance is not positive "
                         "semi-definite (statistics that no feature set has)")
    return distance
