"""`vdbench fid | is | stats --network | features c3d` end to end (C3D on random weights)."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from vdbench.metrics import c3d_weights
from vdbench.metrics.c3d import C3DFeatures
from vdbench.metrics.frechet import GaussianStats
from vdbench.metrics.inception_score import inception_score
from tests.test_c3d import _random_release
from tests.test_cli_errors import assert_one_error
from tests.videos import random_videos
from vdbench.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _json(res):
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


@pytest.fixture(scope="module")
def c3d_dir(tmp_path_factory):
    arrays, mean, _ = _random_release(7)
    folder = tmp_path_factory.mktemp("c3d-weights")
    np.savez(folder / c3d_weights.MODEL_FILE, **arrays)
    np.savez(folder / c3d_weights.MEAN_FILE, mean=mean)
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    real, gen = folder / "real.npy", folder / "gen.npy"
    np.save(real, random_videos(2, 16, 32, 32, seed=1))
    np.save(gen, random_videos(2, 16, 32, 32, seed=2) // 2)
    return real, gen


def test_c3d_stats_features_and_is_agree_with_the_library(tmp_path, c3d_dir, clips):
    real, gen = clips
    c3d = C3DFeatures(weights_dir=c3d_dir)
    fg, lg = c3d.features_and_logits(np.load(gen))
    # statistics of one side, with its real-data IS
    stats = tmp_path / "gen_c3d.npz"
    res = run("stats", gen, "--network", "c3d", "--weights", c3d_dir, "-o", stats)
    assert res.exit_code == 0, res.output
    saved = GaussianStats.load(stats)
    np.testing.assert_allclose(saved.sum, fg.astype(np.float64).sum(axis=0), rtol=1e-5)
    with np.load(stats) as s:
        assert float(s["meta_is_mean"]) == pytest.approx(inception_score(lg)[0], rel=1e-5)
        assert "c3d" in str(s["meta_network"]) and int(s["meta_is_splits"]) == 1
    # the statistics are refused for another network, before any weights are needed
    res = run("fid", stats, real, "--network", "inception")
    assert_one_error(res, "statistics of network")
    # logits written by `features --logits` score like the library
    logits = tmp_path / "logits.npy"
    res = run("features", "c3d", gen, "--weights", c3d_dir, "--logits", "-o", logits)
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(np.load(logits), lg, rtol=1e-5, atol=1e-4)
    out = _json(run("is", logits, "--splits", 2, "--json"))
    assert (out["is_mean"], out["is_std"]) == pytest.approx(inception_score(lg, 2), rel=1e-5)


def rank_one_fid(a, b):
    """FID of two 2-sample sets in closed form: each covariance is u uᵀ with
    u = (x₁ − x₂)/√2, and Tr((u uᵀ v vᵀ)^{1/2}) = |u·v|."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    u, v = (a[0] - a[1]) / np.sqrt(2), (b[0] - b[1]) / np.sqrt(2)
    mean = np.sum((a.mean(0) - b.mean(0)) ** 2)
    return mean + u @ u + v @ v - 2 * abs(u @ v)


def test_inception_fid_first_matches_closed_form(tmp_path, clips):
    from vdbench.metrics.inception import InceptionFeatures
    from vdbench.metrics.inception_weights import load_inception
    from tests.test_inception import _random_state

    weights = tmp_path / "inception.pth"
    torch.save(_random_state(5), weights)
    real, gen = clips
    inc = InceptionFeatures("first", model=load_inception(weights))
    expect = rank_one_fid(inc(np.load(real)), inc(np.load(gen)))
    out = _json(run("fid", real, gen, "--network", "inception", "--frame-mode", "first",
                    "--weights", weights, "--json"))
    assert out["fid"] == pytest.approx(expect, rel=1e-5) and "frames first" in out["network"]


@pytest.mark.slow
def test_c3d_fid_matches_closed_form(c3d_dir, clips):
    """4096-d: two SVDs of 4096×4096 take about a minute on one core."""
    real, gen = clips
    c3d = C3DFeatures(weights_dir=c3d_dir)
    expect = rank_one_fid(c3d(np.load(real)), c3d(np.load(gen)))
    out = _json(run("fid", real, gen, "--network", "c3d", "--weights", c3d_dir, "--json"))
    assert out["fid"] == pytest.approx(expect, rel=1e-5) and "c3d" in out["network"]


def test_c3d_needs_16_frames(tmp_path, c3d_dir):
    short = tmp_path / "short.npy"
    np.save(short, random_videos(2, 10, 32, 32, seed=3))
    res = run("is", short, "--network", "c3d", "--weights", c3d_dir)
    assert_one_error(res, "exactly 16 frames")


def test_stats_of_a_dataset_needs_its_folder(tmp_path):
    out = tmp_path / "ucf.npz"
    res = run("stats", "ucf101", "--network", "c3d", "-o", out)
    assert_one_error(res, "--data-dir", leftovers=[out])
    res = run("stats", "ucf101", "--data-dir", tmp_path, "--network", "c3d", "-o", out)
    assert_one_error(res, "ucfTrainTestlist", leftovers=[out])


def test_weights_fetch_offline_says_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))

    def offline(url, dest, what, timeout=60.0):
        from vdbench.metrics.errors import WeightsUnavailableError
        raise WeightsUnavailableError(f"cannot download {what}: unreachable")

    monkeypatch.setattr(c3d_weights, "download", offline)
    res = run("weights", "fetch", "c3d")
    line = assert_one_error(res, c3d_weights.MODEL_FILE)
    for text in (c3d_weights.MEAN_FILE, str(tmp_path / "weights" / "c3d"), c3d_weights.RELEASE):
        assert text in line


def test_stats_then_fid_with_defaults_agree(tmp_path, clips, c3d_dir, i3d_weights):
    """`vdbench stats` writes I3D statistics by default; `vdbench fid` without --network takes
    the network a statistics file records, so the pair gives the FVD (not an error)."""
    real, gen = clips
    assert run("stats", real, "-o", tmp_path / "real.npz").exit_code == 0
    out = _json(run("fid", tmp_path / "real.npz", gen, "--json"))
    fvd = _json(run("fvd", real, gen, "--json"))
    assert out["metric"] == "fvd" and out["fid"] == pytest.approx(fvd["fvd"], rel=1e-6)
    assert out["network"] == fvd["network"]
    # an explicit --network keeps its meaning: those statistics are refused
    res = run("fid", tmp_path / "real.npz", gen, "--network", "c3d", "--weights", c3d_dir)
    assert_one_error(res, "statistics of network")
    # two statistics files of different networks cannot be compared
    assert run("stats", gen, "--network", "c3d", "--weights", c3d_dir,
               "-o", tmp_path / "gen_c3d.npz").exit_code == 0
    res = run("fid", tmp_path / "real.npz", tmp_path / "gen_c3d.npz")
    assert_one_error(res, "statistics of different networks")
    assert "default: the network a statistics file" in run("fid", "--help").output


def test_extractors_record_the_sha256_of_the_weights_they_loaded(tmp_path, c3d_dir):
    import hashlib

    from vdbench.metrics.inception import InceptionFeatures
    from tests.test_inception import _random_state

    def sha(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    from vdbench.metrics.networks import FeatureExtractor

    c3d = C3DFeatures(weights_dir=c3d_dir)
    assert isinstance(c3d, FeatureExtractor)
    assert c3d.weights_sha256 == {f: sha(c3d_dir / f) for f in c3d_weights.FILES}
    weights = tmp_path / "inception.pth"
    torch.save(_random_state(6), weights)
    inception = InceptionFeatures("avg", weights=weights)
    assert isinstance(inception, FeatureExtractor)
    assert inception.weights_sha256 == {"inception.pth": sha(weights)}
    model, mean = c3d.model, c3d.mean_crop
    assert C3DFeatures(model, mean).weights_sha256 is None  # handed in memory: unknown
