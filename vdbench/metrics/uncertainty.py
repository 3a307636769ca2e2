"""Uncertainty of the metrics: a seeded cluster bootstrap, and paired comparisons of two
variants evaluated on the same clips and seeds.

What is resampled: clusters. A cluster is one conditioning clip with all its generated samples
(BAIR: 100 per clip); in an unconditional protocol every sample is its own cluster. A replicate
draws the clusters with replacement (multinomial counts, ``numpy.random.default_rng(seed)``) and
recomputes each metric on the rows repeated that many times. Where the real side is paired with
the generated one by clip (the paper's protocol: the same clips condition the model and define
the ground truth), the same counts apply to both; otherwise the real side is resampled on its
own, from the same generator after the generated side's draw.

Fréchet distances reuse sums: a replicate's moments are weighted sums of the stored rows, and
the trace term Tr((Σ₁Σ₂)^{1/2}) is the sum of the square roots of the eigenvalues of Lᵀ Σ₂ L
(Σ₁ = L Lᵀ), computed in batches in float64; where fewer rows than feature dimensions are
kept, it is the nuclear norm of the weighted, centred cross-Gram matrix instead (the same
eigenvalues, in the smaller space). Other metrics are recomputed on resampled statistics.

The interval is the percentile interval of the replicates (2.5 and 97.5 percentiles at the
default level) moved by value − mean(replicates), so it measures the value's spread around
itself (see Interval.of); the standard error is the replicates' standard deviation (ddof = 1).
The move can carry an end past the metric's natural range (a std below 0, an SSIM above 1):
each end is then clipped to the range the metric declares (Metric.range_of), and the record
keeps the unclipped interval (Interval.within, Interval.record).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import numpy as np

from vdbench.metrics import kernel
from vdbench.metrics.base import FrechetDistance, KernelDistance, Metric
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.util.blas import one_blas_thread

log = logging.getLogger(__name__)

METHOD = "cluster bootstrap over clips"
INTERVAL = "percentile interval of the replicates, moved by value - mean(replicates)"
DEFAULT_REPLICATES = 1000
DEFAULT_PERMUTATIONS = 1000
# TF-GAN's symmetric square root keeps singular values below this as they are (frechet.py)
_SQRT_EPS = 1e-10
_BATCH = 16  # replicates per batched eigendecomposition


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are computed; ``record()`` is what a result record stores."""

    replicates: int = DEFAULT_REPLICATES
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if isinstance(self.replicates, bool) or not isinstance(self.replicates, int) \
                or self.replicates < 2:
            raise InputError(f"--bootstrap: at least 2 replicates are needed, got "
                             f"{self.replicates}")
        if not 0 < self.level < 1:
            raise InputError(f"bootstrap level must be in (0, 1), got {self.level}")

    def record(self) -> dict:
        return {"method": METHOD, "replicates": self.replicates, "seed": self.seed,
                "level": self.level, "interval": INTERVAL, "se": "std of the replicates"}


@dataclass(frozen=True)
class Interval:
    """A value with its bootstrap interval [lo, hi] and standard error."""

    value: float
    lo: float
    hi: float
    se: float
    unclipped: Optional[tuple[float, float]] = None  # [lo, hi] before Interval.within
    bounds: Optional[tuple[float, float]] = None  # the natural range it was clipped to

    @classmethod
    def of(cls, value: float, replicates: np.ndarray, level: float) -> "Interval":
        """The replicates' percentile interval, moved by value − mean(replicates): the
        bootstrap measures the spread of the value, not its location, because drawing clips
        with replacement duplicates some, and duplicates alone raise a Fréchet distance (on
        same-distribution features the replicates' mean lies above the value)."""
        r = np.asarray(replicates, dtype=np.float64)
        tail = 100 * (1 - level) / 2
        lo, hi = np.percentile(r, [tail, 100 - tail]) + (value - r.mean())
        return cls(float(value), float(lo), float(hi), float(np.std(r, ddof=1)))

    def pair(self) -> list[float]:
        return [self.lo, self.hi]

    def within(self, lower: float, upper: float) -> "Interval":
        """The interval clipped to the natural range [lower, upper], widened only to keep the
        value itself (an unbiased MMD² can lie below 0: its interval then reaches down to it);
        ``unclipped`` and ``bounds`` say what was clipped."""
        lo = max(self.lo, min(lower, self.value))
        hi = min(self.hi, max(upper, self.value))
        if (lo, hi) == (self.lo, self.hi):
            return self
        return dataclasses.replace(self, lo=lo, hi=hi, unclipped=(self.lo, self.hi),
                                   bounds=(lower, upper))

    def clipped(self) -> Optional[dict]:
        """What clipping did, for a record (None where the interval was inside the range); an
        unbounded end of the range is null."""
        if self.unclipped is None or self.bounds is None:
            return None
        return {"range": [b if np.isfinite(b) else None for b in self.bounds],
                "ci_unclipped": list(self.unclipped)}

    def record(self) -> dict:
        """``ci``, ``se``, and ``clipped`` where an end was clipped to the metric's range."""
        found = self.clipped()
        return {"ci": self.pair(), "se": self.se, **({"clipped": found} if found else {})}


# --- resampling ----------------------------------------------------------------------------

def dense_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct cluster ids, each row's index among them)."""
    uniq, codes = np.unique(np.asarray(ids), return_inverse=True)
    return uniq, codes.reshape(-1)


def cluster_counts(num_clusters: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """[replicates, num_clusters] multinomial counts: each replicate draws ``num_clusters``
    clusters uniformly with replacement."""
    if num_clusters < 2:
        raise InputError(f"a cluster bootstrap needs at least 2 clips, got {num_clusters}")
    return rng.multinomial(num_clusters, np.full(num_clusters, 1.0 / num_clusters),
                           size=replicates)


def replicate_weights(gen_ids: np.ndarray, real_ids: Optional[np.ndarray], paired: bool,
                      replicates: int, seed: int) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Row weights [R, N] of the generated (and real) rows for ``replicates`` replicates.

    ``paired``: the real rows are clips of the same cluster ids and get the same draw."""
    rng = np.random.default_rng(seed)
    g_uniq, g_codes = dense_ids(gen_ids)
    counts = cluster_counts(len(g_uniq), replicates, rng)
    wg = counts[:, g_codes]
    if real_ids is None:
        return wg, None
    r_uniq, r_codes = dense_ids(real_ids)
    if paired:
        if not np.array_equal(r_uniq, g_uniq):
            raise InputError("the real and generated sets are paired by clip but hold "
                             "different clips")
        return wg, counts[:, r_codes]
    return wg, cluster_counts(len(r_uniq), replicates, rng)[:, r_codes]


# --- the Fréchet distance on weighted rows -------------------------------------------------

def _f_sqrt(ev):
    """TF-GAN's square root of a symmetric matrix's eigenvalue λ, summed into a trace:
    sign(λ)·√|λ|, and |λ| itself below 1e-10."""
    import torch

    a = ev.abs()
    return torch.where(a < _SQRT_EPS, ev, torch.sign(ev) * a.sqrt())


def _moments(x, w, ddof: int = 1):
    """(count, mean, covariance ÷(n − ddof)) of the rows ``x`` each repeated ``w`` times, as
    GaussianStats computes them (ddof 1; 0: StyleGAN-V's ÷n)."""
    import torch

    nz = w > 0
    xn, wn = x[nz], w[nz]
    n = wn.sum()
    mu = (wn @ xn) / n
    cov = ((xn * wn[:, None]).T @ xn - n * torch.outer(mu, mu)) / (n - ddof)
    return n, mu, (cov + cov.T) / 2


def _trace_sqrt_batched(cov1, cov2):
    """Tr((Σ₁Σ₂)^{1/2}) for a batch: eigenvalues of Lᵀ Σ₂ L with Σ₁ = L Lᵀ; where Σ₁ has no
    Cholesky factor (rank-deficient), its symmetric square root takes L's place."""
    import torch

    chol, info = torch.linalg.cholesky_ex(cov1)
    bad = info != 0
    if bad.any():
        ev, vec = torch.linalg.eigh(cov1[bad])
        chol[bad] = (vec * ev.clamp(min=0).sqrt()[:, None, :]) @ vec.transpose(1, 2)
    m = chol.transpose(1, 2) @ cov2 @ chol
    return _f_sqrt(torch.linalg.eigvalsh((m + m.transpose(1, 2)) / 2)).sum(-1)


def _frechet_cov(x1, w1, x2, w2, ddof: int = 1):
    """Fréchet distances of a batch of weightings, through the D × D covariances."""
    import torch

    parts = [[_moments(x, w[r], ddof) for r in range(len(w))] for x, w in ((x1, w1), (x2, w2))]
    mu1, mu2 = (torch.stack([p[1] for p in side]) for side in parts)
    cov1, cov2 = (torch.stack([p[2] for p in side]) for side in parts)
    traces = cov1.diagonal(dim1=1, dim2=2).sum(-1) + cov2.diagonal(dim1=1, dim2=2).sum(-1)
    return ((mu1 - mu2) ** 2).sum(-1) + traces - 2 * _trace_sqrt_batched(cov1, cov2)


def _frechet_gram(x1, w1, x2, w2, cross, ddof: int = 1):
    """The same through the rows: with Σᵢ = AᵢᵀAᵢ (Aᵢ the weighted, centred rows over
    √(nᵢ − ddof)), the eigenvalues of Σ₁Σ₂ are the squared singular values of A₁A₂ᵀ, so
    Tr((Σ₁Σ₂)^{1/2}) is the nuclear norm of A₁A₂ᵀ (``cross`` = x₁x₂ᵀ, kept across replicates)."""
    import torch

    out = []
    sq1, sq2 = (x1 * x1).sum(1), (x2 * x2).sum(1)
    for r in range(len(w1)):
        a, b = w1[r], w2[r]
        n1, n2 = a.sum(), b.sum()
        mu1, mu2 = (a @ x1) / n1, (b @ x2) / n2
        i, j = a > 0, b > 0
        c = cross[i][:, j] - (x1[i] @ mu2)[:, None] - (x2[j] @ mu1)[None, :] + mu1 @ mu2
        c = c * a[i].sqrt()[:, None] * b[j].sqrt()[None, :] / ((n1 - ddof) * (n2 - ddof)).sqrt()
        g = c @ c.T if c.shape[0] <= c.shape[1] else c.T @ c
        tr_sqrt = _f_sqrt(torch.linalg.eigvalsh((g + g.T) / 2)).sum()
        tr1 = (a @ sq1 - n1 * (mu1 @ mu1)) / (n1 - ddof)
        tr2 = (b @ sq2 - n2 * (mu2 @ mu2)) / (n2 - ddof)
        out.append(((mu1 - mu2) ** 2).sum() + tr1 + tr2 - 2 * tr_sqrt)
    return torch.stack(out)


@contextlib.contextmanager
def _one_thread_per_worker():
    """Yield the caller's torch thread count with torch's intra-op threads set to 1: the work
    is spread over that many Python threads instead, one batch of replicates each. On a
    shared CPU, intra-op threads waiting at every small operation's barrier made a replicate
    up to 100 times slower than one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)


def weighted_frechet(x1: np.ndarray, w1: np.ndarray, x2: np.ndarray,
                     w2: np.ndarray, ddof: int = 1) -> np.ndarray:
    """Fréchet distance (frechet.py's, float64) between the rows ``x1`` [N1, D] repeated
    ``w1[r]`` times and ``x2`` [N2, D] repeated ``w2[r]`` times, for each replicate r of the
    weights [R, N1], [R, N2]; covariances ÷(n − ``ddof``) (0: a parity mode's ÷n)."""
    import torch

    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    w1, w2 = np.atleast_2d(w1), np.atleast_2d(w2)
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
        raise InputError(f"expected features [N, D] of one D, got {x1.shape} and {x2.shape}")
    if w1.shape[1:] != (len(x1),) or w2.shape[1:] != (len(x2),) or len(w1) != len(w2):
        raise InputError(f"weights {w1.shape}, {w2.shape} do not match rows {len(x1)}, "
                         f"{len(x2)}")
    if (w1.sum(1) < 2).any() or (w2.sum(1) < 2).any():
        raise InputError("a covariance needs at least 2 samples on each side")
    shift = x1.mean(0)  # a common shift leaves the distance unchanged and helps rounding
    t1, t2 = torch.from_numpy(x1 - shift), torch.from_numpy(x2 - shift)
    v1, v2 = torch.from_numpy(w1.astype(np.float64)), torch.from_numpy(w2.astype(np.float64))
    dim, small = x1.shape[1], min(len(x1), len(x2))
    gram = len(x1) * len(x2) * small + small ** 3 < (len(x1) + len(x2)) * dim ** 2 + dim ** 3
    with _one_thread_per_worker() as workers:
        cross = t1 @ t2.T if gram else None

        def batch(start: int):
            s = slice(start, start + _BATCH)
            return (_frechet_gram(t1, v1[s], t2, v2[s], cross, ddof) if gram
                    else _frechet_cov(t1, v1[s], t2, v2[s], ddof))

        starts = range(0, len(w1), _BATCH)
        if workers < 2 or len(starts) < 2:
            out = [batch(i) for i in starts]
        else:
            with ThreadPoolExecutor(workers) as pool:
                out = list(pool.map(batch, starts))
    return torch.cat(out).numpy()


# --- any metric on resampled statistics ----------------------------------------------------

def _rows(stats: FeatureStats, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(every row of ``key`` flattened to [N, D], each row's draw)."""
    x = stats.all_rows(key)
    draws = np.concatenate([np.full(len(b), d) for d, b in stats.rows[key]])
    return x.reshape(len(x), -1), draws


def _frechet_replicates(metric: FrechetDistance, gen: FeatureStats, real: FeatureStats,
                        wg: np.ndarray, wr: np.ndarray) -> dict[str, np.ndarray]:
    xr, _ = _rows(real, metric.array.key)
    xg, draws = _rows(gen, metric.array.key)
    # a parity mode's square root (scipy's sqrtm) has the same trace on these PSD products;
    # its covariance divisor is what changes the value
    ddof = metric.ddof()
    if not metric.per_draw:
        return {metric.name: weighted_frechet(xr, wr, xg, wg, ddof)}
    per = np.stack([weighted_frechet(xr, wr, xg[draws == d], wg[:, draws == d], ddof)
                    for d in range(gen.draws)])  # [draws, R]; mean ± std as base.py
    return {f"{metric.name}_mean": per.mean(0), f"{metric.name}_std": per.std(0)}


# Kernel distances get their replicates from kernel matrices computed once, up to this many rows
# a side (three float64 matrices of at most 4096² entries: 400 MiB); above it, no interval.
KERNEL_MATRIX_ROWS = 4096


def _whole_set_kernel(metric: Metric, gen: FeatureStats, real: Optional[FeatureStats]) -> bool:
    """Whether ``metric`` is a kernel distance computed on the whole of both sets (equal counts
    within the subset size: kernel.kernel_distance then evaluates MMD²_u once, std 0)."""
    return (isinstance(metric, KernelDistance) and real is not None
            and gen.count == real.count <= metric.max_subset_size)


def _kernel_replicates(metric: KernelDistance, gen: FeatureStats, real: FeatureStats,
                       wg: np.ndarray, wr: Optional[np.ndarray]) -> dict[str, np.ndarray]:
    """MMD²_u of every replicate from the kernel matrices computed once: with row counts w, the
    within-set sum over pairs of distinct positions is wᵀKw − Σ w_i K_ii and the cross sum
    w_xᵀ K_xy w_y (the same value as kernel.mmd2_unbiased on the rows repeated w times). Where
    the value itself is an average over subsets (unequal counts, or more rows than the subset
    size), the replicates still take the whole resampled sets: MMD²_u of the same two
    distributions with less subset noise (that noise is the recorded ``_std``); the interval
    is then centred on the subset-averaged value (Interval.of)."""
    xr, _ = _rows(real, metric.array.key)
    xg, _ = _rows(gen, metric.array.key)
    xr, xg = xr.astype(np.float64), xg.astype(np.float64)
    wr = np.ones((len(wg), len(xr))) if wr is None else wr.astype(np.float64)
    wg = wg.astype(np.float64)
    with one_blas_thread():  # the same bits at any BLAS thread count
        kxx, kyy = kernel.polynomial_kernel(xr, xr), kernel.polynomial_kernel(xg, xg)
        kxy = kernel.polynomial_kernel(xr, xg)
        m, n = wr.sum(1), wg.sum(1)
        within_x = (np.einsum("rj,rj->r", wr @ kxx, wr) - wr @ np.diag(kxx)) / (m * (m - 1))
        within_y = (np.einsum("rj,rj->r", wg @ kyy, wg) - wg @ np.diag(kyy)) / (n * (n - 1))
        cross = np.einsum("rj,rj->r", wr @ kxy, wg) / (m * n)
    values = within_x + within_y - 2 * cross
    if _whole_set_kernel(metric, gen, real):  # the subset std is 0 in every replicate too
        return {metric.name: values, f"{metric.name}_std": np.zeros_like(values)}
    return {metric.name: values}


def metric_replicates(metric: Metric, gen: FeatureStats, real: Optional[FeatureStats],
                      wg: np.ndarray, wr: Optional[np.ndarray]) -> dict[str, np.ndarray]:
    """The metric's values [R] for each replicate's row weights of the generated (``wg``
    [R, Ng]) and real (``wr`` [R, Nr]; None: the real set as it is) statistics."""
    if isinstance(metric, FrechetDistance) and real is not None and wr is not None:
        return _frechet_replicates(metric, gen, real, wg, wr)
    if isinstance(metric, KernelDistance) and real is not None:
        if max(gen.count, real.count) <= KERNEL_MATRIX_ROWS:
            return _kernel_replicates(metric, gen, real, wg, wr)
        log.warning("%s: no interval (more than %d rows a side); its _std is the spread over "
                    "subsets", metric.name, KERNEL_MATRIX_ROWS)
        return {}
    values, needs = [], metric.needs()
    for r in range(len(wg)):
        other = real.reweighted(wr[r], needs) if real is not None and wr is not None else real
        values.append(metric.compute(gen.reweighted(wg[r], needs), other))
    return {k: np.array([v[k] for v in values]) for k in values[0]}


def _real_for(real: Optional[FeatureStats]) -> Optional[FeatureStats]:
    return real if real is not None and real.resamplable() else None


def metric_intervals(metric: Metric, gen: FeatureStats, real: Optional[FeatureStats],
                     config: Bootstrap, paired: bool,
                     point: Optional[dict[str, float]] = None) -> dict[str, Interval]:
    """Each of the metric's values with its cluster-bootstrap interval. ``gen`` (and ``real``)
    must have kept their rows (FeatureStats(..., bootstrap=True)); ``paired``: the real rows
    are the clips the generated rows were conditioned on (same cluster ids)."""
    if not gen.resamplable():
        raise InputError(f"{metric.name}: the generated statistics kept no rows to resample")
    point = metric.compute(gen, real) if point is None else point
    resampled_real = _real_for(real)
    wg, wr = replicate_weights(gen.cluster_ids(), None if resampled_real is None
                               else resampled_real.cluster_ids(), paired, config.replicates,
                               config.seed)
    reps = metric_replicates(metric, gen, real, wg, wr)
    return {k: Interval.of(v, reps[k], config.level).within(*metric.range_of(k))
            for k, v in point.items() if k in reps}


# --- paired comparison of two variants -----------------------------------------------------

@dataclass(frozen=True)
class Paired:
    """B − A of one value for two variants on the same clips and seeds."""

    name: str
    a: float
    b: float
    delta: Interval  # B − A, with the paired cluster-bootstrap interval
    p_value: float  # paired permutation test, two-sided
    permutations: int

    def record(self) -> dict:
        return {"a": self.a, "b": self.b, "delta": self.delta.value,
                "delta_ci": self.delta.pair(), "delta_se": self.delta.se,
                "p_value": self.p_value, "permutations": self.permutations}


def check_same_design(a: FeatureStats, b: FeatureStats) -> None:
    """Refuse to pair two variants whose rows are not the same clips in the same order."""
    ids_a, ids_b = a.cluster_ids(), b.cluster_ids()
    if a.draws != b.draws or not np.array_equal(ids_a, ids_b):
        raise InputError("the variants do not share clips and seeds (different protocols, "
                         "presets or sample counts): they cannot be compared paired")


def permutation_weights(ids: np.ndarray, permutations: int, seed: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Row weights [P, 2N] over the pool (A's rows, then B's) of the relabelled A and B: each
    permutation swaps the labels of every clip's rows with probability 1/2 (a fair coin per
    clip, ``default_rng([seed, 1])``)."""
    _, codes = dense_ids(ids)
    flips = np.random.default_rng([seed, 1]).integers(0, 2, size=(permutations, codes.max() + 1))
    f = flips[:, codes]
    return np.concatenate([1 - f, f], axis=1), np.concatenate([f, 1 - f], axis=1)


def _p_value(observed: float, null: np.ndarray) -> float:
    """Two-sided permutation p-value, counting the observed labelling (never 0)."""
    tol = 1e-12 * max(abs(observed), 1.0)  # ties up to rounding count as extreme
    return float((1 + np.sum(np.abs(null) >= abs(observed) - tol)) / (1 + len(null)))


def paired_comparison(metric: Metric, gen_a: FeatureStats, gen_b: FeatureStats,
                      real: Optional[FeatureStats], config: Bootstrap, paired: bool,
                      permutations: int = DEFAULT_PERMUTATIONS) -> dict[str, Paired]:
    """Δ = B − A of each of the metric's values: its interval from one cluster draw per
    replicate applied to both variants (and the real side, as ``metric_intervals``), and a
    paired permutation p-value (variant labels swapped within clips, the real side fixed)."""
    if permutations < 1:
        raise InputError(f"permutations must be ≥ 1, got {permutations}")
    check_same_design(gen_a, gen_b)
    point_a, point_b = metric.compute(gen_a, real), metric.compute(gen_b, real)
    rreal = _real_for(real)
    wg, wr = replicate_weights(gen_a.cluster_ids(), None if rreal is None
                               else rreal.cluster_ids(), paired, config.replicates, config.seed)
    reps_a = metric_replicates(metric, gen_a, real, wg, wr)
    reps_b = metric_replicates(metric, gen_b, real, wg, wr)
    pa, pb = permutation_weights(gen_a.cluster_ids(), permutations, config.seed)
    pool = gen_a.pooled(gen_b)
    ones = None if rreal is None else np.ones((permutations, rreal.count), np.int64)
    null_a = metric_replicates(metric, pool, real, pa, ones)
    null_b = metric_replicates(metric, pool, real, pb, ones)
    out = {}
    for k in point_a:
        if k not in reps_a or k not in point_b:
            continue
        delta = point_b[k] - point_a[k]
        out[k] = Paired(k, point_a[k], point_b[k],
                        Interval.of(delta, reps_b[k] - reps_a[k], config.level),
                        _p_value(delta, null_b[k] - null_a[k]), permutations)
    return out


def _decimals(x: float) -> int:
    """Decimals that give ``x`` three significant digits (one decimal from 10 up)."""
    return 1 if abs(x) >= 10 or x == 0 else max(1, 2 - int(np.floor(np.log10(abs(x)))))


def verdict(result: Paired, name_b: str = "B", alpha: float = 0.05) -> str:
    """One line for a table: "B lower by 12.3 [4.0, 20.1], p = 0.004" (the interval of the
    difference, B − A, read in the direction of the change) when the permutation test rejects
    at ``alpha`` and the 95% interval of the difference excludes 0; "no significant difference
    at this sample size" when the test does not reject; "inconclusive" when the two disagree
    (a rejecting test with an interval that holds 0: the difference's sign is not settled)."""
    d, p = result.delta, result.p_value
    p_text = f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"
    if p >= alpha or d.value == 0:
        return f"no significant difference at this sample size ({p_text})"
    sign, word = (-1, "lower") if d.value < 0 else (1, "higher")
    lo, hi = sorted((sign * d.lo, sign * d.hi))
    k = _decimals(d.value)
    found = f"{name_b} {word} by {sign * d.value:.{k}f} [{lo:.{k}f}, {hi:.{k}f}]"
    if d.lo <= 0 <= d.hi:
        return f"inconclusive: {found} holds 0, though {p_text}"
    return f"{found}, {p_text}"
