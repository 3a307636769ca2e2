"""Bootstrap intervals, paired comparisons and FVD∞ (vdbench.metrics.uncertainty,
vdbench.metrics.frechet_infinity) against independent implementations written here: naive
loops that re-stack the drawn rows, scipy.linalg.sqrtm Fréchet distances, and a numpy
Inception Score; plus the wiring into records, tables, export and the CLI, and bad input."""

import json

import numpy as np
import pytest
import scipy.linalg
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, merge_plans
from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.metrics.frechet_infinity import frechet_infinity, subset_sizes
from vdbench.metrics.registry import get_metric
from vdbench.metrics import uncertainty as U


def sqrtm_frechet(x1, x2):
    """FD of two re-stacked row sets via scipy's matrix square root (independent of ours)."""
    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    return float(((mu1 - mu2) ** 2).sum()
                 + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def naive_is(logits):
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    py = p.mean(0)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(py)), 1))))


def interval(value, reps, level=0.95):
    """Percentile interval moved by value - mean, and SE, computed here."""
    reps = np.asarray(reps)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    shift = value - reps.mean()
    return lo + shift, hi + shift, reps.std(ddof=1)


C, S, D = 7, 2, 5  # clips, samples per clip, feature dimension (full rank: 14 and 7 > 5)


def run_stats(rng, draws, clips=C, dim=D, shift=0.0, logits=False):
    """FeatureStats as the runner fills it: one batch per (draw, block of clips)."""
    keys = ["fvd", "fvd_per_draw"] + (["is_i3d"] if logits else [])
    stats = FeatureStats(merge_plans(*(get_metric(k).needs() for k in keys)), draws,
                         bootstrap=True)
    for s in range(draws):
        for start in range(0, clips, 4):
            stop = min(clips, start + 4)
            x = rng.standard_normal((stop - start, dim)) + shift
            stats.add({"i3d": x}, draw=s, clusters=np.arange(start, stop))  # IS: the same logits
    return stats


def rows_by_clip(stats, key="i3d"):
    """Rows of each clip, in arrival order (the test's own bookkeeping)."""
    x, ids = stats.all_rows(key), stats.cluster_ids()
    return {c: x[ids == c] for c in np.unique(ids)}, x, ids


@pytest.mark.parametrize("n1,n2,dim", [(40, 30, 16), (20, 24, 64), (300, 200, 8)])
def test_weighted_frechet_equals_frechet_distance_and_sqrtm(n1, n2, dim):
    """Both routes (covariances; the cross-Gram when rows are fewer than dimensions) equal
    frechet_distance on the same weighted moments, and scipy's sqrtm on re-stacked rows."""
    rng = np.random.default_rng(n1)
    x1, x2 = rng.standard_normal((n1, dim)), rng.standard_normal((n2, dim)) * 1.3 + 0.7
    w1 = rng.multinomial(n1, np.full(n1, 1 / n1), size=4)
    w2 = rng.multinomial(n2, np.full(n2, 1 / n2), size=4)
    fast = U.weighted_frechet(x1, w1, x2, w2)
    for r in range(4):
        a = GaussianStats(dim).add_weighted(x1, w1[r])
        b = GaussianStats(dim).add_weighted(x2, w2[r])
        assert fast[r] == pytest.approx(frechet_distance(a, b, warn=False), rel=1e-6)
        if n1 > dim and n2 > dim:  # sqrtm is exact only for full-rank covariances
            naive = sqrtm_frechet(np.repeat(x1, w1[r], 0), np.repeat(x2, w2[r], 0))
            assert fast[r] == pytest.approx(naive, rel=1e-6)


def test_fvd_interval_equals_naive_cluster_bootstrap():
    """Paired design: one multinomial draw over clips applies to all of a clip's samples and
    to its real clip; values by re-stacking and sqrtm."""
    rng = np.random.default_rng(0)
    gen, real = run_stats(rng, S), run_stats(rng, 1)
    config = U.Bootstrap(40, seed=3)
    got = U.metric_intervals(get_metric("fvd"), gen, real, config, paired=True)["fvd"]
    g_by, _, _ = rows_by_clip(gen)
    r_by, _, _ = rows_by_clip(real)
    counts = np.random.default_rng(3).multinomial(C, np.full(C, 1 / C), size=40)
    reps = [sqrtm_frechet(np.concatenate([np.repeat(r_by[c], k, 0) for c, k in enumerate(n)]),
                          np.concatenate([np.repeat(g_by[c], k, 0) for c, k in enumerate(n)]))
            for n in counts]
    value = sqrtm_frechet(real.all_rows("i3d"), gen.all_rows("i3d"))
    lo, hi, se = interval(value, reps)
    assert (got.value, got.lo, got.hi, got.se) == pytest.approx((value, lo, hi, se), rel=1e-6)
    assert got.lo <= got.value <= got.hi


def test_unpaired_and_per_draw_and_inception_score_intervals():
    """Unpaired: the real side has its own draw, after the generated side's. Per-draw FVD:
    mean and std over draws of each replicate. IS (generic path): rows repeated in place."""
    rng = np.random.default_rng(1)
    gen, real = run_stats(rng, S, logits=True), run_stats(rng, 1, clips=9, logits=True)
    config = U.Bootstrap(25, seed=5)
    draw = np.random.default_rng(5)
    cg = draw.multinomial(C, np.full(C, 1 / C), size=25)
    cr = draw.multinomial(9, np.full(9, 1 / 9), size=25)
    xr, xg, ids = real.all_rows("i3d"), gen.all_rows("i3d"), gen.cluster_ids()
    draws = np.concatenate([np.full(len(x), d) for d, x in gen.rows["i3d"]])
    fvd, mean, is_ = [], [], []
    for n, m in zip(cg, cr, strict=True):
        wg, wr = n[ids], m[real.cluster_ids()]
        rr = np.repeat(xr, wr, 0)
        fvd.append(sqrtm_frechet(rr, np.repeat(xg, wg, 0)))
        mean.append(np.mean([sqrtm_frechet(rr, np.repeat(xg[draws == d], wg[draws == d], 0))
                             for d in range(S)]))
        is_.append(naive_is(np.repeat(xg, wg, 0)))
    out = U.metric_intervals(get_metric("fvd"), gen, real, config, paired=False)
    assert out["fvd"].se == pytest.approx(np.std(fvd, ddof=1), rel=1e-6)
    out = U.metric_intervals(get_metric("fvd_per_draw"), gen, real, config, paired=False)
    assert out["fvd_per_draw_mean"].se == pytest.approx(np.std(mean, ddof=1), rel=1e-6)
    out = U.metric_intervals(get_metric("is_i3d"), gen, real, config, paired=False)
    lo, hi, se = interval(naive_is(xg), is_)
    assert (out["is_i3d"].lo, out["is_i3d"].hi, out["is_i3d"].se) == pytest.approx(
        (lo, hi, se), rel=1e-6)


def test_paired_comparison_equals_naive_loops():
    """Δ = B − A on one clip draw per replicate; the permutation p-value from label swaps
    within clips (coins from default_rng([seed, 1])), real side fixed."""
    rng = np.random.default_rng(2)
    a, real = run_stats(rng, S), run_stats(rng, 1)
    b = run_stats(rng, S, shift=2.0)
    config, perms = U.Bootstrap(30, seed=7), 60
    got = U.paired_comparison(get_metric("fvd"), a, b, real, config, True, perms)["fvd"]
    ids, xa, xb, xr = a.cluster_ids(), a.all_rows("i3d"), b.all_rows("i3d"), real.all_rows("i3d")
    counts = np.random.default_rng(7).multinomial(C, np.full(C, 1 / C), size=30)
    deltas = [sqrtm_frechet(np.repeat(xr, n, 0), np.repeat(xb, n[ids], 0))
              - sqrtm_frechet(np.repeat(xr, n, 0), np.repeat(xa, n[ids], 0)) for n in counts]
    delta = sqrtm_frechet(xr, xb) - sqrtm_frechet(xr, xa)
    lo, hi, se = interval(delta, deltas)
    assert (got.delta.value, got.delta.lo, got.delta.hi, got.delta.se) == pytest.approx(
        (delta, lo, hi, se), rel=1e-6)
    flips = np.random.default_rng([7, 1]).integers(0, 2, size=(perms, C))
    null = []
    for f in flips:
        swap = f[ids].astype(bool)
        a2, b2 = np.where(swap[:, None], xb, xa), np.where(swap[:, None], xa, xb)
        null.append(sqrtm_frechet(xr, b2) - sqrtm_frechet(xr, a2))
    p = (1 + np.sum(np.abs(null) >= abs(delta) - 1e-9)) / (1 + perms)
    assert got.p_value == pytest.approx(p) and got.permutations == perms
    assert got.p_value < 0.05 and U.verdict(got).startswith("B higher by")


def test_verdict_strings():
    lower = U.Paired("fvd", 100.0, 87.7, U.Interval(-12.3, -20.1, -4.0, 4.1), 0.004, 1000)
    assert U.verdict(lower, "replacement") == "replacement lower by 12.3 [4.0, 20.1], p = 0.004"
    higher = U.Paired("is", 1.0, 1.5, U.Interval(0.5, 0.25, 0.75, 0.1), 0.0004, 1000)
    assert U.verdict(higher) == "B higher by 0.500 [0.250, 0.750], p < 0.001"
    same = U.Paired("fvd", 100.0, 95.0, U.Interval(-5.0, -15.0, 5.0, 5.0), 0.31, 1000)
    assert U.verdict(same) == "no significant difference at this sample size (p = 0.310)"
    # the permutation test rejects but the interval of the difference holds 0: not settled
    mixed = U.Paired("fvd", 679.0, 393.8, U.Interval(-285.1, -526.5, 78.3, 150.0), 0.0005, 1000)
    assert U.verdict(mixed, "random") == ("inconclusive: random lower by 285.1 [-78.3, 526.5] "
                                          "holds 0, though p < 0.001")


def test_frechet_infinity_equals_a_least_squares_fit_of_naive_distances():
    rng = np.random.default_rng(4)
    n, dim = 64, 6
    xr, xg = rng.standard_normal((n, dim)), rng.standard_normal((n, dim)) + 0.3
    fit = frechet_infinity(xr, np.arange(n), xg, np.arange(n), paired=True, seed=11)
    sizes = subset_sizes(n)
    assert list(sizes) == sorted(set(np.round(np.linspace(16, 64, 15)).astype(int)))
    pick = np.random.default_rng(11)
    subsets = [np.sort(pick.choice(n, k, replace=False)) for k in sizes]
    fd = [sqrtm_frechet(xr[s], xg[s]) for s in subsets]
    slope, intercept = np.polyfit(1 / sizes, fd, 1)
    assert fit.value == pytest.approx(intercept, rel=1e-6)
    assert fit.slope == pytest.approx(slope, rel=1e-6)
    assert [p[0] for p in fit.points] == list(sizes) and fit.reliable


def test_bad_input():
    for bad in (0, 1, -3):
        with pytest.raises(InputError, match="--bootstrap: at least 2"):
            U.Bootstrap(bad)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="at least 2 clips"):
        U.replicate_weights(np.zeros(4, int), None, False, 10, 0)
    a, b = run_stats(rng, S), run_stats(rng, 1)
    with pytest.raises(InputError, match="do not share clips and seeds"):
        U.check_same_design(a, b)
    saved = FeatureStats.of_saved("i3d", GaussianStats.from_features(rng.standard_normal((9, 3))))
    with pytest.raises(InputError, match="kept no rows"):
        U.metric_intervals(get_metric("fvd"), saved, saved, U.Bootstrap(), False)
    with pytest.raises(InputError, match="at least 3 distinct subset sizes"):
        subset_sizes(3)


def test_run_record_table_export_carry_intervals(tmp_path):
    """`vdbench run` records every value's interval, the bootstrap and FVD∞; `vdbench table`
    shows ± SE in markdown and `vdbench export` has lo/hi/se columns."""
    out = tmp_path / "runs"
    res = CliRunner().invoke(main, [
        "run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
        "--clips", "5", "--samples-per-clip", "2", "--out", str(out), "--bootstrap", "50",
        "--bootstrap-seed", "4", "--metrics", "fvd,context_consistency"])
    assert res.exit_code == 0, res.output
    record = json.loads(next(out.glob("shapes-*.json")).read_text())
    assert record["bootstrap"]["replicates"] == 50 and record["bootstrap"]["seed"] == 4
    assert record["bootstrap"]["method"] == "cluster bootstrap over clips"
    assert "paired" in record["bootstrap"]["real_side"]
    values = {k: v for k, v in record["metrics"].items() if k != "fvd_inf"}
    assert set(record["intervals"]) == set(values)
    for k, iv in record["intervals"].items():
        assert len(iv["ci"]) == 2 and iv["ci"][0] <= iv["ci"][1] and iv["se"] >= 0, k
    fit = record["frechet_infinity"]["fvd_inf"]
    assert record["metrics"]["fvd_inf"] == fit["value"] and len(fit["points"]) == 4
    md = CliRunner().invoke(main, ["table", "2", "--runs", str(out), "--include-quick"])
    se = record["intervals"]["fvd"]["se"]
    assert md.exit_code == 0 and f"± {se:.2g}" in md.output, md.output
    csv = CliRunner().invoke(main, ["export", "--runs", str(out)])
    header = csv.output.splitlines()[0].split(",")
    assert {"metric.fvd.lo", "metric.fvd.hi", "metric.fvd.se"} <= set(header)


@pytest.mark.parametrize("args,fragment", [
    (["--bootstrap", "0"], "--bootstrap: at least 2 replicates"),
    (["--clips", "1", "--metrics", "context_consistency"], "at least 2 clips, got 1"),
])
def test_run_refuses_bad_bootstrap(tmp_path, args, fragment):
    res = CliRunner().invoke(main, ["run", "shapes", "--model", "tests.fast_generator:factory",
                                    "--preset", "quick", "--out", str(tmp_path), *args])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], res.output


def test_oracle_refuses_bootstrap(tmp_path):
    res = CliRunner().invoke(main, ["run", "oracle", "--preset", "quick", "--bootstrap", "10",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "no feature rows to resample" in res.output


def test_fvd_command_interval_and_stats_file(tmp_path, i3d_weights, i3d_extractor):
    """Each video its own cluster; a statistics file gives no interval, said in the output."""
    from tests.videos import random_videos

    real, gen = tmp_path / "real.npy", tmp_path / "gen.npy"
    np.save(real, random_videos(8, seed=1))
    np.save(gen, random_videos(8, seed=2) // 2)
    res = CliRunner().invoke(main, ["fvd", str(real), str(gen), "--json", "--bootstrap", "30",
                                    "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    xr, xg = i3d_extractor(np.load(real)), i3d_extractor(np.load(gen))
    counts = np.random.default_rng(0)
    cg = counts.multinomial(8, np.full(8, 1 / 8), size=30)
    cr = counts.multinomial(8, np.full(8, 1 / 8), size=30)
    reps = [frechet_distance(GaussianStats(400).add_weighted(xr, m),
                             GaussianStats(400).add_weighted(xg, n), warn=False)
            for n, m in zip(cg, cr, strict=True)]
    lo, hi, se = interval(out["fvd"], reps)
    assert out["fvd_ci"] == pytest.approx([lo, hi], rel=1e-4)
    assert out["fvd_se"] == pytest.approx(se, rel=1e-4)
    assert out["fvd_inf_fit"]["points"] and out["fvd_inf"] == out["fvd_inf_fit"]["value"]
    assert CliRunner().invoke(main, ["stats", str(real), "-o", str(tmp_path / "s.npz")]
                              ).exit_code == 0
    res = CliRunner().invoke(main, ["fvd", str(tmp_path / "s.npz"), str(gen)])
    assert res.exit_code == 0 and "no interval: a statistics file holds sums only" in res.output
    res = CliRunner().invoke(main, ["fvd", str(real), str(gen), "--bootstrap", "0"])
    assert res.exit_code == 2 and "error: --bootstrap: at least 2" in res.output


def _kvd_sets(rng, n_gen: int, n_real: int, shift: float):
    """(the kvd metric, generated and real sets of random rows kept for the bootstrap, each row
    its own cluster; the generated rows shifted by ``shift``)."""
    metric = get_metric("kvd")
    gen = FeatureStats(metric.needs(), 1, bootstrap=True)
    real = FeatureStats(metric.needs(), 1, bootstrap=True)
    gen.add({"i3d": rng.standard_normal((n_gen, D)) + shift}, clusters=np.arange(n_gen))
    real.add({"i3d": rng.standard_normal((n_real, D))}, clusters=np.arange(n_real))
    return metric, gen, real


@pytest.mark.parametrize("resample_real", [True, False])
def test_kernel_fast_path_equals_mmd_of_the_repeated_rows(resample_real):
    """KVD replicates from kernel matrices computed once equal the unbiased MMD² of the rows
    each replicate repeats (computed here with a double loop), whole sets of equal size."""
    rng = np.random.default_rng(3)
    metric, gen, real = _kvd_sets(rng, 6, 6, 0.3)
    wg = rng.multinomial(6, np.full(6, 1 / 6), size=4)
    wr = rng.multinomial(6, np.full(6, 1 / 6), size=4) if resample_real else None
    assert U._whole_set_kernel(metric, gen, real)
    fast = U.metric_replicates(metric, gen, real, wg, wr)["kvd"]

    def mmd_loop(x, y):
        k = lambda a, b: (a @ b / len(a) + 1.0) ** 3  # noqa: E731
        m, n = len(x), len(y)
        xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
        return xx + yy - 2 * xy

    xr, xg = real.all_rows("i3d"), gen.all_rows("i3d")
    for r in range(4):
        x = np.repeat(xr, wr[r], axis=0) if resample_real else xr
        expected = mmd_loop(x, np.repeat(xg, wg[r], axis=0))
        assert fast[r] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_kernel_replicates_of_subset_averaged_kvd_use_the_whole_resampled_sets():
    """Unequal counts (KVD averaged over subsets): each replicate is MMD²_u of the whole
    resampled sets, computed here from the repeated rows with the library's plain estimator."""
    from vdbench.metrics.kernel import mmd2_unbiased

    rng = np.random.default_rng(4)
    metric, gen, real = _kvd_sets(rng, 9, 5, 0.5)
    wg = rng.multinomial(9, np.full(9, 1 / 9), size=3)
    wr = rng.multinomial(5, np.full(5, 1 / 5), size=3)
    assert not U._whole_set_kernel(metric, gen, real)
    reps = U.metric_replicates(metric, gen, real, wg, wr)
    assert set(reps) == {"kvd"}
    for r in range(3):
        expected = mmd2_unbiased(np.repeat(real.all_rows("i3d"), wr[r], axis=0),
                                 np.repeat(gen.all_rows("i3d"), wg[r], axis=0))
        assert reps["kvd"][r] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_interval_ends_are_clipped_to_the_natural_range():
    """Interval.within: each end clipped to the range, the value kept inside, what was clipped
    recorded; every registered metric declares a range its std values share from 0."""
    iv = U.Interval(3.0, -1.5, 8.0, 2.0).within(0.0, np.inf)
    assert (iv.lo, iv.hi, iv.unclipped) == (0.0, 8.0, (-1.5, 8.0))
    assert iv.record() == {"ci": [0.0, 8.0], "se": 2.0,
                           "clipped": {"range": [0.0, None], "ci_unclipped": [-1.5, 8.0]}}
    inside = U.Interval(3.0, 1.0, 5.0, 1.0)
    assert inside.within(0.0, np.inf) is inside and "clipped" not in inside.record()
    both = U.Interval(0.9, 0.7, 1.2, 0.1).within(-1.0, 1.0)
    assert (both.lo, both.hi) == (0.7, 1.0)
    # an unbiased MMD² below 0: the interval still reaches down to the value itself
    kvd = U.Interval(-0.2, -0.5, 0.4, 0.1).within(0.0, np.inf)
    assert (kvd.lo, kvd.hi) == (-0.2, 0.4)
    assert get_metric("fvd").range_of("fvd") == (0.0, np.inf)
    assert get_metric("fvd_per_draw").range_of("fvd_per_draw_std") == (0.0, np.inf)
    assert get_metric("is_i3d").range_of("is_i3d_10splits") == (1.0, np.inf)
    assert get_metric("kvd").range_of("kvd") == (0.0, np.inf)
    assert get_metric("psnr").range_of("psnr_best") == (0.0, 100.0)
    assert get_metric("ssim").range_of("ssim_mean") == (-1.0, 1.0)
    import vdbench.protocols.registry  # noqa: F401  (registers the shapes metrics)

    assert get_metric("context_consistency").range_of("context_consistency_real") == (0.0, 1.0)


def test_a_std_interval_that_crossed_0_is_clipped_at_0():
    """fvd_per_draw_std of two draws holding the same rows in another clip order: 0 (to
    rounding), while the replicates' stds spread above it, so the moved percentile interval's
    lower end falls below 0; it is clipped to 0 and the record says so."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 3))
    gen = FeatureStats(get_metric("fvd_per_draw").needs(), draws=2, bootstrap=True)
    gen.add({"i3d": x}, draw=0, clusters=np.arange(12))
    gen.add({"i3d": x[::-1].copy()}, draw=1, clusters=np.arange(12))
    real = run_stats(rng, 1, clips=12, dim=3)
    config = U.Bootstrap(40, seed=2)
    got = U.metric_intervals(get_metric("fvd_per_draw"), gen, real, config, paired=False)
    std = got["fvd_per_draw_std"]
    assert std.unclipped is not None and std.unclipped[0] < 0 < std.unclipped[1]
    assert std.lo == 0.0 and std.hi == std.unclipped[1] and std.value < 1e-9
    assert std.record()["clipped"]["ci_unclipped"] == list(std.unclipped)
    # the same replicates, unclipped, as Interval.of makes them
    reps = U.metric_replicates(get_metric("fvd_per_draw"), gen, real, *U.replicate_weights(
        gen.cluster_ids(), real.cluster_ids(), False, 40, 2))["fvd_per_draw_std"]
    lo, hi, _ = interval(std.value, reps)
    assert std.unclipped == pytest.approx((lo, hi), rel=1e-9)
