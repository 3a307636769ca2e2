"""The feature-network and metric registries: a metric added by registration alone is computed
by a run and by the standalone path; per-draw metrics (BAIR's per-trajectory FVD, TGANv2's
sets) against independent computations; names in the CLI and tables come from the registries."""

import dataclasses

import numpy as np
import pytest
import scipy.linalg
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.metrics import networks, registry
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats, Keep
from vdbench.metrics.networks import Array, FeatureNetwork, register_network
from vdbench.metrics.base import FrechetDistance, InceptionScore, Metric
from vdbench.metrics.registry import register_metric

TOY_LABEL = "mean colour of all pixels (test network)"


class PixelMean:
    """A toy feature network: each video's mean colour, [B, 3]."""

    network, preprocessing, dim = TOY_LABEL, "none", 3

    def __init__(self, device="cpu", weights=None):
        self.weights_sha256 = {}

    def __call__(self, videos, value_range=None):
        return np.asarray(videos, np.float64).reshape(len(videos), -1, 3).mean(axis=1)

    def features_and_logits(self, videos, value_range=None):
        f = self(videos)
        return f, f


@dataclasses.dataclass(frozen=True)
class MeanFeatureNorm(Metric):
    """A toy metric: the mean L2 norm of the generated videos' features."""

    def needs(self):
        return {self.array.key: Keep(rows=True)}

    def compute(self, gen, real):
        return {self.name: float(np.linalg.norm(gen.all_rows(self.array.key), axis=1).mean())}


@pytest.fixture
def toy_registered(monkeypatch):
    """Register the toy network and metric (one line each), undone after the test."""
    import vdbench.protocols.registry  # noqa: F401  (its own registrations stay in place)

    monkeypatch.setattr(networks, "NETWORKS", dict(networks.NETWORKS))
    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))
    register_network(FeatureNetwork("pixel_mean", "pixel_mean", "toy", f"{__name__}:PixelMean",
                                    f"{__name__}:TOY_LABEL"))
    return register_metric(MeanFeatureNorm("mean_feature_norm", Array("pixel_mean"), "toy"))


def _shapes_run_videos(protocol):
    """The real clips of a shapes run and the videos tests.fast_generator makes for them, per
    draw (recomputed here from the seeding rule, not read from the run)."""
    from tests.fast_generator import NoiseGenerator
    from vdbench.engine.generator import GenerationRequest, sample_seed
    from vdbench.engine.protocol_data import open_protocol_data

    clips, _ = open_protocol_data(protocol, None)
    real = np.stack(list(clips.iter_clips(range(protocol.num_clips))))
    gen = NoiseGenerator(protocol.resolution, protocol.frames)
    draws = [gen.generate(GenerationRequest(
        tuple(sample_seed(protocol.seed, i, s) for i in range(protocol.num_clips)),
        protocol.frames, protocol.resolution, real[:, :protocol.context_frames]))
        for s in range(protocol.samples_per_clip)]
    return real, draws


def test_a_registered_metric_runs_in_a_run_and_standalone(toy_registered, tmp_path):
    from vdbench.engine.runner import RunOptions, run_variants
    from vdbench.engine.streaming import stream_stats
    from vdbench.protocols.datasets.generic import open_source
    from vdbench.protocols.registry import get_protocol

    protocol = dataclasses.replace(get_protocol("shapes", "quick"),
                                   metrics=("mean_feature_norm",)).with_counts(3, 2)
    (rec,) = run_variants(protocol, [{}], RunOptions(
        model="tests.fast_generator:factory", out=str(tmp_path), batch_size=2))
    _, draws = _shapes_run_videos(protocol)
    videos = np.concatenate(draws)
    expect = np.mean([np.linalg.norm(v.reshape(-1, 3).astype(np.float64).mean(0))
                      for v in videos])
    assert rec["metrics"] == {"mean_feature_norm": pytest.approx(expect, rel=1e-9)}
    assert rec["feature_networks"] == {"pixel_mean": {
        "network": TOY_LABEL, "preprocessing": "none", "weights_sha256": {}}}
    # the standalone path: the same statistics, the same metric
    np.save(tmp_path / "gen.npy", videos)
    stats = stream_stats(open_source(tmp_path / "gen.npy"), PixelMean(), "pixel_mean",
                         toy_registered.needs(), batch_size=4)
    assert toy_registered.compute(stats, None)["mean_feature_norm"] == pytest.approx(expect)


def _scipy_frechet(a, b):
    """Independent formula: scipy.linalg.sqrtm of Σ₁Σ₂, np.cov (n − 1)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def _is_one_split(logits):
    """exp(E KL(p(y|x) ‖ p(y))) with plain softmax (TGANv2/improved-GAN, one split)."""
    z = logits - logits.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    p = np.exp(log_p)
    log_py = np.log(p.mean(0, keepdims=True))
    kl = np.where(p > 0, p * (log_p - log_py), 0.0).sum(axis=1)
    return float(np.exp(kl.mean()))


def test_per_draw_metrics_are_tganv2s_sets_and_bairs_trajectories():
    """Rows arrive in chunk order (block of clips × draw); draw s is every clip's s-th sample.
    Each set is scored alone; mean and population std over sets (numpy ddof=0, as TGANv2)."""
    rng = np.random.default_rng(0)
    draws, clips = 3, 40
    feats = rng.normal(size=(draws, clips, 5)) * np.array([1, 2, 3, 1, 1])
    feats += np.arange(draws)[:, None, None]  # the sets differ
    logits = rng.normal(size=(draws, clips, 7)) * 2
    real = rng.normal(size=(60, 5))
    fd = FrechetDistance("fd", Array("c3d"), "", per_draw=True)
    score = InceptionScore("is", Array("c3d", logits=True), "", per_draw=True)
    gen = FeatureStats({"c3d": Keep(gaussian=True, per_draw=True), "c3d_logits": Keep(rows=True)},
                       draws)
    for start in range(0, clips, 8):  # the runner's chunk order
        for s in range(draws):
            gen.add({"c3d": feats[s, start:start + 8], "c3d_logits": logits[s, start:start + 8]},
                    draw=s)
    ref = FeatureStats({"c3d": Keep(gaussian=True)})
    ref.add({"c3d": real})
    fds = [_scipy_frechet(real, feats[s]) for s in range(draws)]
    got = fd.compute(gen, ref)
    assert got["fd_mean"] == pytest.approx(np.mean(fds), rel=1e-6)
    assert got["fd_std"] == pytest.approx(np.std(fds), rel=1e-5)
    scores = [_is_one_split(logits[s]) for s in range(draws)]
    got = score.compute(gen, ref)
    assert got == {"is_mean": pytest.approx(np.mean(scores), rel=1e-9),
                   "is_std": pytest.approx(np.std(scores), rel=1e-9)}


def test_every_protocol_metric_is_registered_and_names_reach_the_cli():
    from vdbench.cli.scores import fid
    from vdbench.protocols.registry import PROTOCOLS
    from vdbench.reporting.tables import check_names

    for p in PROTOCOLS.values():
        if p.dataset != "gaussian-oracle":  # its metrics compare with an exact law, not features
            for m in p.metrics:
                assert registry.get_metric(m).name == m
    (network,) = [p for p in fid.params if p.name == "network"]
    assert list(network.type.choices) == networks.families() == ["i3d", "c3d", "inception"]
    check_names()
    with pytest.raises(InputError, match="unknown metric 'fvd_typo'"):
        registry.get_metric("fvd_typo")
    with pytest.raises(ValueError, match="registered twice"):
        register_metric(registry.METRICS["fvd"])


def test_tables_refuse_a_name_no_metric_produces(monkeypatch):
    from vdbench.reporting import tables

    monkeypatch.setitem(tables.METRIC_COLUMNS, "2", {"fvd_typo": "fvd"})
    with pytest.raises(InputError, match="fvd_typo"):
        tables.build_table("2")


def test_fvd_exclude_context_is_refused_where_it_cannot_apply():
    res = CliRunner().invoke(main, ["run", "shapes-uncond", "--model",
                                    "tests.fast_generator:factory", "--fvd-exclude-context"])
    assert res.exit_code == 2 and "fvd_exclude_context needs conditioning frames" in res.output
    res = CliRunner().invoke(main, ["run", "shapes", "--model", "tests.fast_generator:factory",
                                    "--metrics", "context_consistency", "--fvd-exclude-context"])
    assert res.exit_code == 2 and "applies to FVD metrics" in res.output


def _fvd(real_feats, gen_feats):
    from vdbench.metrics.frechet import GaussianStats, frechet_distance

    return frechet_distance(GaussianStats.from_features(real_feats),
                            GaussianStats.from_features(gen_feats))


@pytest.mark.parametrize("exclude", [False, True])
def test_shapes_records_pooled_and_per_draw_fvd_with_or_without_the_context(
        exclude, tmp_path, i3d_extractor, i3d_weights):
    """The BAIR protocol's two figures (shapes mirrors it with 1 → 15 frames), and FitVid's
    variant that scores the 15 generated frames only; the I3D weights' sha256 is recorded."""
    import hashlib

    from tests.helpers_run import records
    from vdbench.protocols.registry import get_protocol

    args = ["run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
            "--clips", "3", "--samples-per-clip", "2", "--batch-size", "3",
            "--metrics", "fvd,fvd_per_draw", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args + (["--fvd-exclude-context"] if exclude else []))
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path)
    assert rec["protocol"]["fvd_exclude_context"] is exclude
    protocol = get_protocol("shapes", "quick").with_counts(3, 2)
    real, draws = _shapes_run_videos(protocol)
    first = 1 if exclude else 0  # the conditioning frame, dropped on both sides
    real_f = i3d_extractor(real[:, first:])
    draw_f = [i3d_extractor(d[:, first:]) for d in draws]
    per_draw = [_fvd(real_f, f) for f in draw_f]
    m = rec["metrics"]
    assert m["fvd"] == pytest.approx(_fvd(real_f, np.concatenate(draw_f)), rel=1e-4)
    assert m["fvd_per_draw_mean"] == pytest.approx(np.mean(per_draw), rel=1e-4)
    assert m["fvd_per_draw_std"] == pytest.approx(np.std(per_draw), rel=1e-3, abs=1e-3)
    digest = hashlib.sha256(i3d_weights.read_bytes()).hexdigest()
    assert rec["feature_networks"]["i3d"]["weights_sha256"] == {i3d_weights.name: digest}
    key = "i3d_after_context" if exclude else "i3d"
    assert rec["feature_arrays"] == [key]
