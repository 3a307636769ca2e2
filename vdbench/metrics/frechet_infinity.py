"""FVD∞ (FID∞): the Fréchet distance extrapolated to infinitely many samples.

Chong and Forsyth (2020), "Effectively Unbiased FID and Inception Score and where to find
them": the Fréchet distance of N samples is biased upwards by a term that is, to first order,
linear in 1/N (for two sets of N samples of one Gaussian in D dimensions, about D²/(2N)). They
compute FID on random subsets of 15 sizes evenly spaced up to N, fit FID = a + b/N by least
squares and report the intercept a, the value at 1/N = 0.

Here the subsets are sets of clusters (clips with all their samples, as in the bootstrap,
vdbench.metrics.uncertainty), and the real side is subsampled by the same fraction (Chong and
Forsyth keep a 50,000-image real reference; a protocol's real side is often as small as its
generated one, and its own 1/N bias is removed the same way). The linear model holds once
each subset has more samples than the features have dimensions; below that (rank-deficient
covariances) the fit is reported but flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.uncertainty import dense_ids, weighted_frechet

POINTS = 15  # subset sizes, as Chong and Forsyth
MIN_FRACTION = 0.25  # smallest subset, as a fraction of the clusters (see subset_sizes)


@dataclass(frozen=True)
class InfinityFit:
    """FVD = value + slope / N fitted to (N, FVD) points; N counts generated samples."""

    value: float
    slope: float
    points: tuple[tuple[int, float], ...]
    residual_rms: float
    reliable: bool  # every subset had more samples than feature dimensions, on both sides
    seed: int

    def record(self) -> dict:
        return {"value": self.value, "slope": self.slope, "residual_rms": self.residual_rms,
                "points": [[n, f] for n, f in self.points], "reliable": self.reliable,
                "seed": self.seed, "model": "FVD = value + slope / N (least squares; "
                "Chong & Forsyth 2020), subsets of clips, both sides by the same fraction"}


def subset_sizes(clusters: int, points: int = POINTS, min_fraction: float = MIN_FRACTION
                 ) -> np.ndarray:
    """Distinct cluster counts evenly spaced from ``min_fraction`` of the clusters to all of
    them. Chong and Forsyth start at a tenth (5,000 of 50,000 images, far more than the
    2,048 dimensions); a quarter keeps the smallest subsets of a 2,048-clip run above I3D's
    400 dimensions, where the bias is linear in 1/N."""
    sizes = np.unique(np.round(np.linspace(min_fraction * clusters, clusters, points))
                      .astype(int))
    sizes = sizes[sizes >= 2]
    if len(sizes) < 3:
        raise InputError(f"FVD∞ needs at least 3 distinct subset sizes of ≥ 2 clips; "
                         f"{clusters} clips give {len(sizes)}")
    return sizes


def _subset_weights(codes: np.ndarray, chosen: list[np.ndarray]) -> np.ndarray:
    """0/1 row weights [len(chosen), N]: a row counts where its cluster was chosen."""
    w = np.zeros((len(chosen), len(codes)), np.int64)
    for i, c in enumerate(chosen):
        w[i] = np.isin(codes, c)
    return w


def frechet_infinity(real: np.ndarray, real_ids: np.ndarray, gen: np.ndarray,
                     gen_ids: np.ndarray, paired: bool, seed: int = 0, points: int = POINTS,
                     min_fraction: float = MIN_FRACTION) -> InfinityFit:
    """FVD∞ of the rows ``real`` [Nr, D] and ``gen`` [Ng, D] with their cluster ids:
    ``paired``, the real rows are the same clips as the generated clusters and each subset
    takes the same clips on both sides. Subsets are drawn by ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    g_uniq, g_codes = dense_ids(gen_ids)
    r_uniq, r_codes = dense_ids(real_ids)
    if paired and not np.array_equal(g_uniq, r_uniq):
        raise InputError("FVD∞: the real and generated sets are paired but hold different clips")
    sizes = subset_sizes(len(g_uniq), points, min_fraction)
    g_pick = [rng.choice(len(g_uniq), k, replace=False) for k in sizes]
    r_pick = g_pick if paired else [
        rng.choice(len(r_uniq), max(2, int(round(k * len(r_uniq) / len(g_uniq)))),
                   replace=False) for k in sizes]
    wg, wr = _subset_weights(g_codes, g_pick), _subset_weights(r_codes, r_pick)
    values = weighted_frechet(real, wr, gen, wg)
    n = wg.sum(1)
    design = np.stack([np.ones(len(n)), 1.0 / n], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, values, rcond=None)
    resid = values - design @ np.array([a, b])
    dim = np.asarray(gen).reshape(len(gen), -1).shape[1]
    reliable = bool(min(n.min(), wr.sum(1).min()) > dim)
    pts = tuple((int(k), float(v)) for k, v in zip(n, values, strict=True))
    return InfinityFit(float(a), float(b), pts, float(np.sqrt(np.mean(resid ** 2))), reliable,
                       seed)


def too_few(clusters: int) -> Optional[str]:
    """Why ``clusters`` clips are too few for FVD∞ (None: enough)."""
    try:
        subset_sizes(clusters)
    except InputError as err:
        return str(err)
    return None


def fit_of_stats(gen, real, key: str, paired: bool, seed: int = 0) -> Optional[InfinityFit]:
    """FVD∞ of one array of two FeatureStats that kept their rows (None if either did not,
    or if they hold too few clusters: see ``too_few``)."""
    if not (gen.resamplable() and real.resamplable()):
        return None
    if too_few(len(np.unique(gen.cluster_ids()))) is not None:
        return None
    xg, xr = gen.all_rows(key), real.all_rows(key)
    return frechet_infinity(xr.reshape(len(xr), -1), real.cluster_ids(),
                            xg.reshape(len(xg), -1), gen.cluster_ids(), paired, seed)
