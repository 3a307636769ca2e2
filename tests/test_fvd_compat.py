"""FVD parity modes (vdbench.metrics.compat): each mode's preprocessing and statistics against
independent computations written here with the cited code's formulas and flags; `vdbench fvd
--compat` and `vdbench stats --compat` end to end, and their refusals."""

import json
import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from tests.test_cli_errors import assert_one_error
from vdbench.cli import main
from vdbench.metrics.compat import MODES, get_mode, metric_of_mode
from vdbench.metrics.compat_frechet import covariance, mode_frechet
from vdbench.metrics.compat_preprocess import short_side_size, stylegan_v, videogpt
from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.metrics.fvd import preprocess as tf_preprocess
from vdbench.metrics.networks import NETWORKS, families, get_network
from vdbench.metrics.registry import METRICS, frechet_of


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def result(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


# --- registry ------------------------------------------------------------------------------

def test_modes_metrics_and_networks_are_registered():
    assert list(MODES)[:3] == ["tf", "stylegan-v", "videogpt"]
    assert metric_of_mode() == {"tf": "fvd", "stylegan-v": "fvd_stylegan_v",
                                "videogpt": "fvd_videogpt"}
    labels = set()
    for mode in MODES.values():
        metric, net = METRICS[mode.metric], get_network(mode.network)
        assert metric.array.network == mode.network and frechet_of(net.name) is metric
        labels.add(net.network_label)
        assert mode.preprocessing.sources and mode.statistics.sources
        assert "not measured" in mode.network_port or mode.name == "tf"
    assert len(labels) == len(MODES)  # statistics of different modes never mix
    assert families() == ["i3d", "c3d", "inception"]  # `--network` choices unchanged


# --- preprocessing -------------------------------------------------------------------------

def _videos(n=2, t=9, h=20, w=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)


def test_stylegan_v_preprocessing_is_the_torchscript_rescale_then_trilinear_resize():
    v = _videos()
    # StyleGAN-V feeds uint8 [b, c, t, h, w]; the torchscript with rescale=True computes
    # x / 255 * 2 - 1, with resize=True a trilinear resize to [t, 224, 224].
    x = torch.from_numpy(v).permute(0, 4, 1, 2, 3).float()
    expect = F.interpolate(x / 255 * 2 - 1, size=(9, 224, 224), mode="trilinear",
                           align_corners=False)
    got = stylegan_v(v)
    assert got.shape == (2, 3, 9, 224, 224)
    assert torch.equal(got, expect)
    # In time the trilinear resize keeps each frame: it equals a per-frame bilinear resize.
    frames = x.permute(0, 2, 1, 3, 4).reshape(18, 3, 20, 28) / 255 * 2 - 1
    per_frame = F.interpolate(frames, size=(224, 224), mode="bilinear", align_corners=False)
    assert torch.allclose(got, per_frame.reshape(2, 9, 3, 224, 224).permute(0, 2, 1, 3, 4),
                          atol=1e-6)


def test_videogpt_preprocessing_is_short_side_resize_centre_crop_and_scaling():
    v = _videos(h=20, w=28)
    expect = []
    for video in torch.from_numpy(v):
        f = video.permute(0, 3, 1, 2).float() / 255.0  # [T, C, H, W]
        f = F.interpolate(f, size=(224, math.ceil(28 * 224 / 20)), mode="bilinear",
                          align_corners=False)  # 224 x 314
        left = (314 - 224) // 2
        f = f[:, :, :, left:left + 224].permute(1, 0, 2, 3) - 0.5
        expect.append(f)
    got = videogpt(v)
    assert got.shape == (2, 3, 9, 224, 224)
    assert torch.equal(got, torch.stack(expect) * 2)
    assert got.min() >= -1 and got.max() <= 1


def test_videogpt_target_size_follows_python_float_ceil():
    assert short_side_size(64, 64) == (224, 224)
    assert short_side_size(100, 100) == (225, 224)  # 100 * (224/100) = 224.00000000000003
    assert short_side_size(30, 20) == (336, 224)
    assert videogpt(_videos(n=1, h=100, w=100)).shape == (1, 3, 9, 224, 224)


def test_tf_preprocessing_is_the_reference_one():
    v = _videos()
    assert torch.equal(get_preprocessor("tf")(v), tf_preprocess(v))


def get_preprocessor(mode):
    from vdbench.metrics.compat_preprocess import PREPROCESSORS

    return PREPROCESSORS[get_mode(mode).preprocessing.key]


# --- statistics ----------------------------------------------------------------------------

def _features(n, d=12, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) / 3 + shift) \
        .astype(np.float32)


def test_stylegan_v_statistics_are_biased_covariance_and_scipy_sqrtm():
    real, gen = _features(40, seed=1), _features(30, seed=2, shift=0.5)
    # StyleGAN-V: FeatureStats.get_mean_cov (÷ n) and compute_fvd (sqrtm of Σ_gen Σ_real).
    mu_r, mu_g = real.astype(np.float64).mean(0), gen.astype(np.float64).mean(0)
    sig_r = np.cov(real.astype(np.float64), rowvar=False, bias=True)
    sig_g = np.cov(gen.astype(np.float64), rowvar=False, bias=True)
    s = scipy.linalg.sqrtm(sig_g @ sig_r)
    expect = float(np.real(((mu_g - mu_r) ** 2).sum() + np.trace(sig_g + sig_r - 2 * s)))
    a, b = GaussianStats.from_features(real), GaussianStats.from_features(gen)
    assert np.allclose(covariance(a, "n"), sig_r, rtol=1e-10, atol=1e-12)
    st = get_mode("stylegan-v").statistics
    assert mode_frechet(a, b, st.covariance, st.sqrt) == pytest.approx(expect, rel=1e-9)
    # and it differs from TF-GAN's by the ÷n covariance (not by rounding)
    assert abs(frechet_distance(a, b) - expect) > 1e-3


def test_videogpt_statistics_are_tf_gan_formula():
    real, gen = _features(40, seed=3), _features(30, seed=4, shift=0.3)
    # VideoGPT's frechet_distance: cov with 1/(n-1), TF-GAN's SVD square roots, in float64
    # here (theirs: torch float32).
    x1, x2 = real.astype(np.float64), gen.astype(np.float64)
    sig1, sig2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)

    def sqrt_svd(m):
        u, s, vt = np.linalg.svd(m)
        return (u * np.where(s < 1e-10, s, np.sqrt(s))) @ vt

    r = sqrt_svd(sig1)
    expect = np.trace(sig1 + sig2) - 2 * np.trace(sqrt_svd(r @ sig2 @ r)) \
        + ((x1.mean(0) - x2.mean(0)) ** 2).sum()
    st = get_mode("videogpt").statistics
    a, b = GaussianStats.from_features(real), GaussianStats.from_features(gen)
    assert mode_frechet(a, b, st.covariance, st.sqrt) == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize("mode", ["stylegan-v", "videogpt"])
def test_bootstrap_replicates_use_the_modes_statistics(mode):
    """The interval's replicates (weighted rows) at weight 1 everywhere are the mode's value;
    with integer weights, the mode's value of the repeated rows."""
    from vdbench.metrics.uncertainty import weighted_frechet

    real, gen = _features(40, seed=5), _features(30, seed=6, shift=0.4)
    metric, st = METRICS[get_mode(mode).metric], get_mode(mode).statistics
    w1 = np.vstack([np.ones(40), np.arange(40) % 3])
    w2 = np.vstack([np.ones(30), np.arange(30) % 2 + 1])
    got = weighted_frechet(real, w1, gen, w2, metric.ddof())
    for r in range(2):
        a = GaussianStats.from_features(np.repeat(real, w1[r].astype(int), 0))
        b = GaussianStats.from_features(np.repeat(gen, w2[r].astype(int), 0))
        assert got[r] == pytest.approx(mode_frechet(a, b, st.covariance, st.sqrt), rel=1e-8)


def test_biased_covariance_needs_a_count(tmp_path):
    from vdbench.metrics.errors import InputError
    from vdbench.metrics.frechet import save_mu_sigma

    stats = GaussianStats.from_features(_features(20))
    save_mu_sigma(tmp_path / "ms.npz", stats)
    loaded = GaussianStats.load(tmp_path / "ms.npz")
    with pytest.raises(InputError, match="no sample count"):
        covariance(loaded, "n")


# --- end to end ----------------------------------------------------------------------------

# the `arrays` fixture (3 + 3 small videos): tests/conftest.py


@pytest.mark.parametrize("mode", ["stylegan-v", "videogpt"])
def test_fvd_compat_equals_its_preprocessing_and_statistics(arrays, i3d_extractor, mode):
    real, gen = arrays
    out = result(run("fvd", real, gen, "--json", "--compat", mode, "--batch-size", 2))
    m = get_mode(mode)
    pre = get_preprocessor(mode)
    feats = [i3d_extractor.model(pre(np.load(p))).numpy() for p in (real, gen)]
    a, b = (GaussianStats.from_features(f) for f in feats)
    expect = mode_frechet(a, b, m.statistics.covariance, m.statistics.sqrt)
    assert out["fvd"] == pytest.approx(expect, rel=1e-5)
    assert out["compat"] == mode and out["compat_mode"]["metric"] == m.metric
    assert out["compat_mode"]["statistics"]["sqrt"] == m.statistics.sqrt
    assert out["network"] == NETWORKS[m.network].network_label
    assert out["fvd_inf"] is None and "TF-GAN" in out["fvd_inf_fit"]["not_computed"]


def test_tf_mode_is_plain_fvd_bit_for_bit(arrays, i3d_extractor):
    real, gen = arrays
    plain = result(run("fvd", real, gen, "--json", "--batch-size", 3))
    tf = result(run("fvd", real, gen, "--json", "--compat", "tf", "--batch-size", 3))
    # the reference pipeline, called directly: the same bits
    expect = frechet_distance(GaussianStats.from_features(i3d_extractor(np.load(real))),
                              GaussianStats.from_features(i3d_extractor(np.load(gen))))
    assert tf["fvd"] == plain["fvd"] == expect
    assert tf["fvd_ci"] == plain["fvd_ci"] and tf["fvd_inf"] == plain["fvd_inf"]
    assert tf["compat"] == "tf" == plain["compat"]
    assert tf["preprocessing"] == plain["preprocessing"]
    assert tf["network"] == get_network("i3d").network_label


def test_stats_under_a_mode_round_trip_and_refuse_other_modes(tmp_path, arrays):
    real, gen = arrays
    out = tmp_path / "sgv.npz"
    res = run("stats", real, "-o", out, "--compat", "stylegan-v")
    assert res.exit_code == 0, res.output
    direct = result(run("fvd", real, gen, "--json", "--compat", "stylegan-v"))
    from_stats = result(run("fvd", out, gen, "--json", "--compat", "stylegan-v"))
    assert from_stats["fvd"] == pytest.approx(direct["fvd"], rel=1e-9)
    assert_one_error(run("fvd", out, gen, "--compat", "videogpt"), "--compat stylegan-v")
    assert_one_error(run("fvd", out, gen), "--compat stylegan-v")
    plain = tmp_path / "tf.npz"
    assert run("stats", real, "-o", plain).exit_code == 0
    assert_one_error(run("fvd", plain, gen, "--compat", "stylegan-v"), "--compat tf")


def test_compat_refuses_other_networks_and_count_free_statistics(tmp_path, arrays):
    real, gen = arrays
    assert_one_error(run("stats", real, "-o", tmp_path / "x.npz", "--network", "c3d",
                         "--compat", "videogpt"), "--compat", leftovers=[tmp_path / "x.npz"])
    ms = tmp_path / "ms.npz"
    assert_one_error(run("stats", real, "-o", ms, "--compat", "stylegan-v", "--format",
                         "mu-sigma"), "--format mu-sigma", leftovers=[ms])
    # a mu/sigma file of another program (no label): the ÷n covariance needs the count
    from vdbench.metrics.frechet import save_mu_sigma

    save_mu_sigma(ms, GaussianStats.from_features(_features(5, d=400)))
    assert_one_error(run("fvd", ms, gen, "--compat", "stylegan-v"), "no sample count")
    # under videogpt (÷(n − 1), as mu/sigma's sigma) it is read
    assert run("stats", real, "-o", ms, "--compat", "videogpt", "--format",
               "mu-sigma").exit_code == 0
    assert result(run("fvd", ms, gen, "--compat", "videogpt", "--json"))["fvd"] > 0


# --- a peer's published values on reproducible inputs ----------------------------------------

# JunyaoHu/common_metrics_on_video_quality (README, demo.py): 8 all-zero vs 8 all-one videos,
# 30 frames of 64×64, FVD of the first n frames. Its TensorFlow run (calculate_fvd_tensorflow.py,
# the reference pipeline) gives 151.39244 at n = 30; its StyleGAN-V route (i3d_torchscript.pt,
# StyleGAN-V's port of the TF-Hub I3D) gives these:
TORCHSCRIPT_PORT = {10: 569.2296293622766, 13: 146.36638178542628, 30: 151.2564750365302}
TF_PUBLISHED_30 = 151.39244


@pytest.mark.parametrize("mode", list(MODES))
def test_black_vs_white_against_published_values(i3d_extractor, mode):
    """Constant clips: every clip of a side has the same features, so both covariances are 0
    and no resize, scaling order or statistic can matter: FVD = ‖f(black) − f(white)‖². Each
    mode must give the TF reference's value; the peer's torchscript port differs by ~0.1%
    (the network-port difference, which this test bounds)."""
    from vdbench.metrics.compat_i3d import CompatI3DFeatures
    from vdbench.metrics.fvd import I3DFeatures

    ext = I3DFeatures(model=i3d_extractor.model) if mode == "tf" else \
        CompatI3DFeatures(mode, model=i3d_extractor.model)
    st = get_mode(mode).statistics
    black = np.zeros((1, 30, 64, 64, 3), np.uint8)
    white = np.full_like(black, 255)
    for n, port in TORCHSCRIPT_PORT.items():
        fb, fw = ext(black[:, :n]), ext(white[:, :n])
        value = mode_frechet(GaussianStats.from_features(np.repeat(fb, 2, 0)),
                             GaussianStats.from_features(np.repeat(fw, 2, 0)),
                             st.covariance, st.sqrt, warn=False)
        if n == 30:
            assert value == pytest.approx(TF_PUBLISHED_30, abs=2e-3)
        assert 5e-4 < (value - port) / port < 1.5e-3, (n, value, port)


def test_parity_metrics_run_in_a_protocol_beside_fvd(tmp_path, i3d_weights):
    """`vdbench run --metrics fvd,fvd_stylegan_v,fvd_videogpt`: each computed on the same clips
    and samples, recorded with its mode (settings); FVD∞ withdrawn for the parity modes."""
    out = tmp_path / "runs"
    res = run("run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
              "--clips", "3", "--samples-per-clip", "1", "--metrics",
              "fvd,fvd_stylegan_v,fvd_videogpt", "--out", out)
    assert res.exit_code == 0, res.output
    [record] = [json.loads(p.read_text()) for p in out.glob("*.json")]
    text = json.dumps(record)
    for mode in ("stylegan-v", "videogpt"):
        assert f'"compat": "{mode}"' in text
    assert "not computed for fvd_stylegan_v" in text  # FVD∞ withdrawn, with the reason
    values = {k: v for k, v in _walk(record) if k in ("fvd", "fvd_stylegan_v", "fvd_videogpt")}
    assert len(values) == 3 and len(set(values.values())) == 3, values


def _walk(obj, found=None):
    found = [] if found is None else found
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, float):
                found.append((k, v))
            _walk(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _walk(v, found)
    return found


def test_benchmark_decomposition_on_given_features():
    """benchmarks/fvd_compat.py's rows: Δ preprocessing only uses the mode's features with
    TF-GAN's statistics, Δ statistics only the TF features with the mode's statistics."""
    from benchmarks.fvd_compat import float32_frechet, markdown, mode_rows

    feats = {m: (_features(40, seed=10 + i), _features(40, seed=20 + i, shift=0.3))
             for i, m in enumerate(MODES)}
    rows = {r["mode"]: r for r in mode_rows("synthetic", feats)}
    stats = {m: [GaussianStats.from_features(x) for x in pair] for m, pair in feats.items()}
    base = frechet_distance(*stats["tf"])
    for mode, r in rows.items():
        st = get_mode(mode).statistics
        assert r["fvd"] == pytest.approx(mode_frechet(*stats[mode], st.covariance, st.sqrt))
        assert r["delta_preprocess"] == pytest.approx(frechet_distance(*stats[mode]) - base)
        assert r["delta_statistics"] == pytest.approx(
            mode_frechet(*stats["tf"], st.covariance, st.sqrt) - base)
        assert r["interaction"] == pytest.approx(
            r["delta"] - r["delta_preprocess"] - r["delta_statistics"], abs=1e-9)
    assert rows["tf"]["delta"] == 0 and rows["videogpt"]["delta_statistics"] == 0
    assert rows["videogpt"]["delta_float32"] == pytest.approx(
        float32_frechet(*feats["videogpt"]) - rows["videogpt"]["fvd"])
    assert rows["stylegan-v"]["delta_float32"] is None  # theirs is float64
    assert "not measured" in markdown(list(rows.values()))
