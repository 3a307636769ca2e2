"""Statistical behaviour of the intervals, the paired test and FVD∞ on synthetic Gaussian
features of dimension 400 (issue acceptance (b), (c), (d)); slow, run with -m slow.

Each simulation runs in a subprocess with one BLAS thread: the point values' SVDs
(frechet.py) with several BLAS threads on a shared CPU took seconds each."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

D = 400
CLIPS, SAMPLES, SHIFT = 16, 2, 0.5  # (b): per variant 16 clips × 2 samples; 16 real clips
PERMUTATIONS, ALPHA = 99, 0.05


def _stats(rows, clusters):
    from vdbench.metrics.feature_stats import FeatureStats
    from vdbench.metrics.registry import get_metric

    stats = FeatureStats(get_metric("fvd").needs(), len(rows), bootstrap=True)
    for draw, x in enumerate(rows):
        stats.add({"i3d": x}, draw=draw, clusters=clusters)
    return stats


def paired_p_values(shift: float, replicates: int) -> list[float]:
    """Permutation p-values of FVD(B) − FVD(A) for two variants sampled around the same clips
    (clip effect u_c shared by both variants and the real clip), B shifted by ``shift`` in
    every dimension."""
    from vdbench.metrics.registry import get_metric
    from vdbench.metrics.uncertainty import Bootstrap, paired_comparison

    out = []
    for seed in range(replicates):
        rng = np.random.default_rng(seed)
        u, ids = rng.standard_normal((CLIPS, D)), np.arange(CLIPS)
        real = _stats([u + rng.standard_normal((CLIPS, D))], ids)
        a = _stats([u + rng.standard_normal((CLIPS, D)) for _ in range(SAMPLES)], ids)
        b = _stats([u + rng.standard_normal((CLIPS, D)) + shift for _ in range(SAMPLES)], ids)
        result = paired_comparison(get_metric("fvd"), a, b, real, Bootstrap(2, seed), True,
                                   PERMUTATIONS)["fvd"]
        out.append(result.p_value)
    return out


def interval_width(n: int, seed: int, shift: float = 4.0, replicates: int = 300) -> float:
    """95% interval width of FVD between n real and n generated samples (unconditional: each
    sample its own cluster), the generated side shifted by ``shift`` in every dimension: then
    the mean term, whose spread is 1/√N, dominates. (Where the small-sample bias dominates,
    at shifts of 1 or less, its own fluctuation, about D²/N^1.5, makes the width fall
    faster: 2.5 times from 256 to 1,024 at a shift of 1.)"""
    from vdbench.metrics.registry import get_metric
    from vdbench.metrics.uncertainty import Bootstrap, metric_intervals

    rng = np.random.default_rng(seed)
    real = _stats([rng.standard_normal((n, D))], np.arange(n))
    gen = _stats([rng.standard_normal((n, D)) + shift], np.arange(n))
    iv = metric_intervals(get_metric("fvd"), gen, real, Bootstrap(replicates, seed), False)
    return iv["fvd"].hi - iv["fvd"].lo


def infinity_and_plain(n: int = 2048, small: int = 64) -> tuple[float, float]:
    """(FVD∞ of n vs n same-distribution samples, plain FVD at ``small`` samples)."""
    from vdbench.metrics.frechet import GaussianStats, frechet_distance
    from vdbench.metrics.frechet_infinity import frechet_infinity

    rng = np.random.default_rng(0)
    real, gen = rng.standard_normal((n, D)), rng.standard_normal((n, D))
    fit = frechet_infinity(real, np.arange(n), gen, np.arange(n), paired=True, seed=0)
    plain = frechet_distance(GaussianStats.from_features(real[:small]),
                             GaussianStats.from_features(gen[:small]), warn=False)
    return fit.value, plain


def _in_subprocess(call: str):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    code = ("import json, tests.test_uncertainty_statistics as t; "
            f"print(json.dumps(t.{call}))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_paired_permutation_test_false_positive_rate_and_power():
    """(b) Under the null (A and B exchangeable within clips) at most 8% of 200 replicates
    reject at α = 0.05; a mean shift of 0.5 in each of the 400 dimensions is detected in at
    least 90% of 50 replicates at 16 clips × 2 samples per variant."""
    null = np.array(_in_subprocess("paired_p_values(0.0, 200)"))
    assert np.mean(null < ALPHA) <= 0.08
    shifted = np.array(_in_subprocess(f"paired_p_values({SHIFT}, 50)"))
    assert np.mean(shifted < ALPHA) >= 0.9


@pytest.mark.slow
def test_interval_width_shrinks_like_one_over_root_n():
    """(c) width(256) / width(1024) = √4 = 2 within 20%."""
    ratio = _in_subprocess("interval_width(256, 0)") / _in_subprocess("interval_width(1024, 1)")
    assert 1.6 <= ratio <= 2.4, ratio


@pytest.mark.slow
def test_fvd_infinity_removes_the_small_sample_bias():
    """(d) Same distribution: FVD∞ from 2,048 samples within 2 of 0, where plain FVD at 64
    samples is far above (its bias is about D²/(2N) per side pair)."""
    value, plain = _in_subprocess("infinity_and_plain()")
    assert abs(value) <= 2, value
    assert plain > 100, plain
