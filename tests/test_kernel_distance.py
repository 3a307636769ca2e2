"""KVD and KID (vdbench.metrics.kernel): torch-fidelity's KID on the same feature arrays, a direct
double loop over the unbiased MMD² formula, closed forms, the registered metrics in a run, and
`vdbench kvd` with its bad inputs."""

import dataclasses
import importlib
import importlib.util
import json
import sys
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.kernel import kernel_distance, kvd, mmd2_unbiased
from vdbench.metrics.registry import get_metric, kernel_distance_of
from tests.test_cli_errors import assert_one_error


@pytest.fixture(scope="module")
def fidelity_kid():
    """torch-fidelity's metric_kid module, unchanged. Its package imports torchvision, which has
    no build for the CPU torch here, and metric_kid imports torch_fidelity.utils only for the
    network-running wrappers that ``kid_features_to_metric`` does not use: load the package
    without its __init__ and those wrappers as empty names; restore sys.modules afterwards."""
    spec = importlib.util.find_spec("torch_fidelity")
    assert spec is not None, "the tests need torch-fidelity (make install)"
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "torch_fidelity"}
    for name in saved:
        del sys.modules[name]
    sys.modules["torch_fidelity"] = importlib.util.module_from_spec(spec)
    utils = types.ModuleType("torch_fidelity.utils")
    for name in ("create_feature_extractor", "extract_featuresdict_from_input_id_cached",
                 "resolve_feature_extractor", "resolve_feature_layer_for_metric"):
        setattr(utils, name, None)
    sys.modules["torch_fidelity.utils"] = utils
    try:
        yield importlib.import_module("torch_fidelity.metric_kid")
    finally:
        for name in [k for k in sys.modules if k.split(".")[0] == "torch_fidelity"]:
            del sys.modules[name]
        sys.modules.update(saved)


def _fidelity(module, real, gen, size, subsets=100, seed=2020):
    """torch-fidelity's KID (its input1 is the generated set, input2 the reference)."""
    out = module.kid_features_to_metric(torch.from_numpy(gen), torch.from_numpy(real),
                                        kid_subsets=subsets, kid_subset_size=size,
                                        rng_seed=seed, verbose=False)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def _features(n, d, shift=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(shift, scale, size=(n, d))


@pytest.mark.parametrize("n_real, n_gen, d, max_size", [
    (120, 90, 400, 40),    # subsets of 40 drawn from both sides
    (70, 50, 2048, 1000),  # min(N, 1000) = 50: the generated set whole, real subsets drawn
    (60, 60, 400, 1000),   # both sets whole in every subset
])
def test_equals_torch_fidelity_kid(fidelity_kid, n_real, n_gen, d, max_size):
    real, gen = _features(n_real, d, seed=1), _features(n_gen, d, 0.1, 1.2, seed=2)
    found = kernel_distance(real, gen, max_subset_size=max_size)
    size = min(max_size, n_real, n_gen)
    mean, std = _fidelity(fidelity_kid, real, gen, size)
    assert found.subset_size == size and (found.subsets, found.seed) == (100, 2020)
    assert found.mean == pytest.approx(mean, rel=1e-6)
    assert found.std == pytest.approx(std, rel=1e-6, abs=1e-12 * abs(mean))
    # another seed is another draw, also torch-fidelity's
    other = kernel_distance(real, gen, max_subset_size=max_size, subsets=7, seed=5)
    assert other.mean == pytest.approx(_fidelity(fidelity_kid, real, gen, size, 7, 5)[0],
                                       rel=1e-6)


def _double_loop_mmd2(x, y):
    """MMD²_u term by term in float64 Python: k(a, b) = (Σ a_k b_k / d + 1)³."""
    def k(a, b):
        return (sum(float(p) * float(q) for p, q in zip(a, b, strict=True)) / len(a) + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_equals_a_double_loop_over_the_unbiased_formula():
    x, y = _features(7, 5, seed=3), _features(9, 5, 0.5, 0.7, seed=4)
    assert mmd2_unbiased(x, y) == pytest.approx(_double_loop_mmd2(x, y), rel=1e-12)
    # with subsets: each subset's rows as numpy's RandomState draws them, generated first
    real, gen = _features(12, 6, seed=5), _features(10, 6, 0.3, seed=6)
    rng, values = np.random.RandomState(11), []
    for _ in range(4):
        g = gen[rng.choice(10, 8, replace=False)]
        values.append(_double_loop_mmd2(g, real[rng.choice(12, 8, replace=False)]))
    found = kernel_distance(real, gen, max_subset_size=8, subsets=4, seed=11)
    assert found.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert found.std == pytest.approx(np.std(values), rel=1e-9)


def test_closed_forms():
    # every row one point: the diagonal-free means are k(a, a) and k(b, b) exactly
    a, b = np.array([1.0, 2.0, -1.0]), np.array([0.5, 0.0, 3.0])
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    x, y = np.tile(a, (4, 1)), np.tile(b, (5, 1))
    assert mmd2_unbiased(x, y) == pytest.approx(k(a, a) + k(b, b) - 2 * k(a, b), rel=1e-12)
    # equal sets: unlike the biased (V-statistic) estimate, MMD²_u is negative, −mean of the
    # off-diagonal-vs-diagonal gap: 2/(m(m−1)) Σ_{i≠j} k − 2/m² Σ_{i,j} k
    x = _features(6, 4, seed=7)
    kxx = (x @ x.T / 4 + 1) ** 3
    expect = 2 * (kxx.sum() - np.trace(kxx)) / 30 - 2 * kxx.sum() / 36
    assert mmd2_unbiased(x, x) == pytest.approx(expect, rel=1e-12) and expect < 0


def test_bad_inputs_to_the_api():
    good = _features(5, 4)
    with pytest.raises(InputError, match="generated: features of dimension 3, real: 4"):
        kvd(good, _features(5, 3))
    with pytest.raises(InputError, match="real: 1 row"):
        kvd(good[:1], good)
    with pytest.raises(InputError, match="NaN"):
        kvd(good, np.full((3, 4), np.nan))
    with pytest.raises(InputError, match="numeric"):
        kvd(good, good[0])


def test_metric_reads_rows_added_in_batches_and_draws():
    metric = get_metric("kvd")
    real_rows, gen_rows = _features(40, 400, seed=8), _features(30, 400, 0.2, seed=9)
    real, gen = FeatureStats(metric.needs()), FeatureStats(metric.needs(), draws=2)
    real.add({"i3d": real_rows[:25]})
    real.add({"i3d": real_rows[25:]})
    gen.add({"i3d": gen_rows[:16]}, draw=0)
    gen.add({"i3d": gen_rows[16:]}, draw=1)
    small = dataclasses.replace(metric, max_subset_size=20)
    got = small.compute(gen, real)
    expect = kernel_distance(real_rows, gen_rows, max_subset_size=20)
    assert got == {"kvd": expect.mean, "kvd_std": expect.std}
    assert kernel_distance_of("inception_first").name == "kid_first"
    assert get_metric("kid_avg").outputs() == ("kid_avg", "kid_avg_std")


@pytest.mark.slow
def test_kvd_is_unbiased_where_the_plug_in_estimates_are_not():
    """(a) 200 replicates of two same-distribution sets of 256 Gaussian features of dimension
    400: the mean KVD lies within 2 standard errors of 0; the biased (V-statistic) MMD² of the
    same replicates does not, so the criterion can fail."""
    rng = np.random.default_rng(2024)
    d, n, kvds, biased = 400, 256, [], []
    cov_root = rng.normal(size=(d, d)) / np.sqrt(d)  # a correlated, non-isotropic Gaussian
    for _ in range(200):
        x = rng.normal(size=(n, d)) @ cov_root + 1.0
        y = rng.normal(size=(n, d)) @ cov_root + 1.0
        kvds.append(kvd(x, y).mean)
        kxx, kyy, kxy = ((u @ v.T / d + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
        biased.append((kxx.mean() + kyy.mean() - 2 * kxy.mean()))
    se = np.std(kvds, ddof=1) / np.sqrt(len(kvds))
    assert abs(np.mean(kvds)) <= 2 * se, (np.mean(kvds), se)
    assert np.mean(biased) > 10 * np.std(biased, ddof=1) / np.sqrt(len(biased))


# --- `vdbench kvd` --------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _json(res):
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


def _assert_one_error(res, *fragments):
    """The shared one-line-error rule (tests/test_cli_errors.py), the line naming every
    fragment."""
    line = assert_one_error(res, fragments[0] if fragments else "")
    for fragment in fragments[1:]:
        assert fragment in line, line


def test_kvd_command_on_feature_files(tmp_path, fidelity_kid):
    real, gen = _features(50, 400, seed=10), _features(40, 400, 0.1, seed=11)
    np.save(tmp_path / "real.npy", real.astype(np.float32))
    np.save(tmp_path / "gen.npy", gen.astype(np.float32))
    out = _json(run("kvd", tmp_path / "real.npy", tmp_path / "gen.npy", "--json"))
    as_read = real.astype(np.float32).astype(np.float64), gen.astype(np.float32).astype(np.float64)
    mean, std = _fidelity(fidelity_kid, *as_read, size=40)
    assert out["kvd"] == pytest.approx(mean, rel=1e-6)
    assert out["kvd_std"] == pytest.approx(std, rel=1e-6)
    assert (out["metric"], out["n_real"], out["n_generated"]) == ("kvd", 50, 40)
    assert (out["subset_size"], out["subsets"], out["seed"]) == (40, 100, 2020)
    text = run("kvd", tmp_path / "real.npy", tmp_path / "gen.npy")
    assert text.exit_code == 0 and text.output.startswith(f"KVD {out['kvd']:.6g} ± ")
    # the interval: a bootstrap over videos, seeded and recorded, bracketing the value
    lo, hi = out["kvd_ci"]
    assert lo < out["kvd"] < hi and out["kvd_se"] > 0
    assert (out["bootstrap"]["replicates"], out["bootstrap"]["seed"]) == (1000, 0)
    assert "95% interval [" in text.output
    again = _json(run("kvd", tmp_path / "real.npy", tmp_path / "gen.npy", "--json",
                      "--bootstrap", "200", "--bootstrap-seed", "5"))
    assert again["kvd"] == out["kvd"] and again["kvd_ci"] != out["kvd_ci"]


def test_kvd_command_bad_inputs(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, _features(5, 400).astype(np.float32))
    np.save(tmp_path / "one.npy", _features(1, 400).astype(np.float32))
    _assert_one_error(run("kvd", good, tmp_path / "one.npy"), "one.npy", "at least 2")
    np.save(tmp_path / "d300.npy", _features(5, 300).astype(np.float32))
    _assert_one_error(run("kvd", tmp_path / "d300.npy", good), "d300.npy", "dimension 300",
                      "have 400")
    _assert_one_error(run("kvd", good, good, "--network", "inception"), "good.npy",
                      "dimension 400", "have 2048")
    _assert_one_error(run("kvd", good, good, "--network", "c3d"), "kernel distance", "c3d")
    nan = _features(5, 400)
    nan[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    _assert_one_error(run("kvd", good, tmp_path / "nan.npy"), "nan.npy", "NaN")
    from vdbench.metrics.frechet import GaussianStats
    GaussianStats.from_features(_features(5, 400)).save(tmp_path / "stats.npz")
    _assert_one_error(run("kvd", tmp_path / "stats.npz", good), "stats.npz",
                      "Gaussian statistics only")
    _assert_one_error(run("kvd", tmp_path / "missing.npy", good), "missing.npy")


# --- in a run ---------------------------------------------------------------------------------

def test_run_computes_kvd_beside_fvd_and_export_carries_it(tmp_path, i3d_extractor):
    """`--metrics fvd,kvd` on shapes (whose own metrics are FVD's): KVD of the I3D features of
    the run's videos, recomputed here, with how it was computed recorded and exported."""
    from tests.helpers_run import records
    from tests.test_metric_registry import _shapes_run_videos
    from vdbench.protocols.registry import get_protocol

    res = run("run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
              "--clips", "3", "--samples-per-clip", "2", "--batch-size", "3",
              "--metrics", "fvd,kvd", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path)
    real, draws = _shapes_run_videos(get_protocol("shapes", "quick").with_counts(3, 2))
    expect = kernel_distance(i3d_extractor(real),
                             np.concatenate([i3d_extractor(d) for d in draws]))
    assert expect.subset_size == 3  # 100 subsets of 3 of the 6 samples: row order matters
    assert rec["metrics"]["kvd"] == pytest.approx(expect.mean, rel=1e-4)
    assert rec["metrics"]["kvd_std"] == pytest.approx(expect.std, rel=1e-4)
    assert rec["protocol"]["metrics"] == ["fvd", "kvd"]
    assert rec["metric_settings"]["kvd"]["seed"] == 2020
    export = run("export", "--runs", tmp_path)
    assert export.exit_code == 0, export.output
    header, row = export.output.strip().splitlines()[:2]
    assert {"metric.kvd", "metric.kvd_std"} <= set(header.split(","))
    # a metric of a network the protocol does not run is refused, naming what it offers
    _assert_one_error(run("run", "shapes", "--model", "tests.fast_generator:factory",
                          "--metrics", "fvd,kid_avg", "--out", tmp_path / "no"),
                      "--metrics", "shapes computes fvd, fvd_per_draw, context_consistency", "kvd")


def test_fvd_takes_feature_files_and_kvd_needs_two_clips(tmp_path):
    from vdbench.metrics.frechet import GaussianStats, frechet_distance

    real, gen = _features(30, 400, seed=12), _features(20, 400, 0.3, seed=13)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "gen.npy", gen)
    out = _json(run("fvd", tmp_path / "real.npy", tmp_path / "gen.npy", "--json"))
    expect = frechet_distance(GaussianStats.from_features(real), GaussianStats.from_features(gen))
    assert out["fvd"] == pytest.approx(expect, rel=1e-9) and out["n_generated"] == 20
    _assert_one_error(run("run", "shapes", "--model", "tests.fast_generator:factory",
                          "--clips", "1", "--metrics", "kvd", "--out", tmp_path / "one"),
                      "at least 2 clips")  # (the bootstrap's refusal comes first)
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.registry import get_metric

    with pytest.raises(InputError, match="kvd.*at least 2 clips"):
        get_metric("kvd").check(1, 1)
