"""Fréchet distance and streaming Gaussian statistics against independent computations."""

import logging

import numpy as np
import pytest
import scipy.linalg

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats, frechet_distance, symmetric_sqrt


def _scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Independent formula: pytorch-fid style, scipy.linalg.sqrtm of Σ₁Σ₂, np.cov (n−1)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_matches_scipy_sqrtm_on_random_full_rank():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(16, 16))
    a = rng.normal(size=(300, 16)) @ mix
    b = rng.normal(size=(250, 16)) @ (mix + 0.3 * rng.normal(size=(16, 16))) + 0.5
    ours = frechet_distance(GaussianStats.from_features(a), GaussianStats.from_features(b))
    assert ours == pytest.approx(_scipy_frechet(a, b), rel=1e-6)


def test_closed_forms():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 8))
    shift = np.arange(8.0)
    # Equal covariances: d² = ‖Δμ‖² exactly.
    sa, sb = GaussianStats.from_features(a), GaussianStats.from_features(a + shift)
    assert frechet_distance(sa, sb) == pytest.approx(float(shift @ shift), rel=1e-9)
    # Diagonal covariances: d² = Σ (√v₁ − √v₂)².
    x = rng.normal(size=(100000, 3))
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    s1 = GaussianStats.from_features(x * np.sqrt(v1))
    s2 = GaussianStats.from_features(x * np.sqrt(v2))
    cov1, cov2 = np.diag(s1.cov), np.diag(s2.cov)
    expect = ((np.sqrt(cov1) - np.sqrt(cov2)) ** 2).sum() + ((s1.mean - s2.mean) ** 2).sum()
    assert frechet_distance(s1, s2) == pytest.approx(expect, rel=2e-2)  # off-diagonals ~ 1e-3


def test_rank_deficient_is_finite_and_matches_eigen_formula(caplog):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(5, 12))  # rank 4 < 12
    b = rng.normal(size=(6, 12)) + 1.0
    with caplog.at_level(logging.WARNING):
        d = frechet_distance(GaussianStats.from_features(a), GaussianStats.from_features(b))
    assert "fewer than the feature dimension" in caplog.text
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((Σ₁Σ₂)^{1/2}) = Σ √eig(Σ₁Σ₂) (eigenvalues real and ≥ 0 for PSD products).
    eig = np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)
    expect = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2) - 2 * np.sqrt(eig).sum()
    assert np.isfinite(d) and d == pytest.approx(expect, rel=1e-6)


def test_symmetric_sqrt():
    rng = np.random.default_rng(3)
    m = rng.normal(size=(6, 6))
    spd = m @ m.T + np.eye(6)
    r = symmetric_sqrt(spd)
    assert np.allclose(r @ r, spd, atol=1e-10)


def test_merge_equals_one_pass_and_save_load(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(103, 7))
    one = GaussianStats.from_features(x)
    merged = GaussianStats(7)
    for shard in np.array_split(x, 5):
        merged = merged.merge(GaussianStats.from_features(shard))
    assert merged.count == 103
    assert np.allclose(merged.mean, one.mean, rtol=1e-13)
    assert np.allclose(merged.cov, np.cov(x, rowvar=False), rtol=1e-10)
    one.save(tmp_path / "s.npz", network="test")
    back = GaussianStats.load(tmp_path / "s.npz")
    assert back.count == 103 and np.array_equal(back.sum_outer, one.sum_outer)
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]  # no temp file left behind


def test_every_way_of_merging_shards_gives_the_fvd_of_all_features():
    """The README's `a.merge(b)` (a statement), `m = a.merge(b)` and `a + b` all hold both
    shards' samples; only `a + b` leaves its operands unchanged."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(90, 6)), rng.normal(size=(80, 6)) + 0.3
    expect = _scipy_frechet(x, y)
    shards = [GaussianStats.from_features(s) for s in np.array_split(x, 3)]
    statement = GaussianStats.from_features(x[:30])
    statement.merge(shards[1])
    statement.merge(shards[2])  # in place, the return value ignored
    assert frechet_distance(statement, GaussianStats.from_features(y)) == pytest.approx(
        expect, rel=1e-6)
    assigned = GaussianStats(6)
    for s in shards:
        assigned = assigned.merge(s)
    assert frechet_distance(assigned, GaussianStats.from_features(y)) == pytest.approx(
        expect, rel=1e-6)
    a, b = shards[0].copy(), GaussianStats.from_features(x[30:])
    total = a + b
    assert frechet_distance(total, GaussianStats.from_features(y)) == pytest.approx(
        expect, rel=1e-6)
    assert (a.count, b.count, total.count) == (30, 60, 90)
    np.testing.assert_array_equal(a.sum, shards[0].sum)
    with pytest.raises(InputError, match="cannot merge"):
        a.merge(GaussianStats(5))


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="at least 2"):
        frechet_distance(GaussianStats.from_features(np.ones((1, 3))),
                         GaussianStats.from_features(np.ones((3, 3))))
    with pytest.raises(InputError, match="NaN"):
        GaussianStats(2).update(np.array([[np.nan, 1.0]]))
    with pytest.raises(InputError, match=r"\[N, 3\]"):
        GaussianStats(3).update(np.ones((4, 2)))
    bad = tmp_path / "bad.npz"
    np.savez(bad, count=1)
    with pytest.raises(InputError, match="bad.npz"):
        GaussianStats.load(bad)


def test_matches_tf_gan_golden_values():
    """Golden values from TF-GAN itself (tests/fixtures/make_frechet_tfgan.py)."""
    from pathlib import Path
    import json

    with np.load(Path(__file__).parent / "fixtures" / "frechet_tfgan.npz") as g:
        meta = json.loads(str(g["meta"]))
        for name in meta["cases"]:
            a, b = g[f"{name}_a"].astype(np.float64), g[f"{name}_b"].astype(np.float64)
            ours = frechet_distance(GaussianStats.from_features(a), GaussianStats.from_features(b))
            expect = float(g[f"{name}_fd"])
            assert ours == pytest.approx(expect, rel=1e-6, abs=1e-9), name
