"""PSNR and SSIM of generated continuations (vdbench.metrics.prediction): equal to
scikit-image's implementations to 1e-6, best-of-N and mean-of-N on constructed cases, in a
`vdbench run` of the shapes prediction protocol, refused on unconditional protocols."""

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.metrics.base import best_and_mean
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.prediction import (PSNR_MAX, PSNRScore, SSIMScore, psnr_frames,
                                        ssim_frames)
from vdbench.metrics.registry import get_metric

skimage_metrics = pytest.importorskip("skimage.metrics")  # the `test` extra installs it


def _sk_psnr(pred, truth):
    return skimage_metrics.peak_signal_noise_ratio(truth / 255.0, pred / 255.0, data_range=1.0)


def _sk_ssim(pred, truth):
    return skimage_metrics.structural_similarity(
        truth / 255.0, pred / 255.0, data_range=1.0, channel_axis=-1, gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False)


def _pair(shape, noise, seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 256, shape, dtype=np.uint8)
    pred = np.clip(truth.astype(np.int16) + rng.integers(-noise, noise + 1, shape), 0, 255)
    return pred.astype(np.uint8), truth


@pytest.mark.parametrize("shape,noise", [((3, 5, 32, 32, 3), 30), ((2, 4, 64, 48, 3), 90),
                                         ((1, 2, 11, 13, 3), 5)])
def test_per_frame_values_equal_scikit_image(shape, noise):
    pred, truth = _pair(shape, noise, seed=sum(shape))
    got_p, got_s = psnr_frames(pred, truth), ssim_frames(pred, truth)
    assert got_p.shape == got_s.shape == shape[:2]
    for i in np.ndindex(*shape[:2]):
        assert abs(got_p[i] - _sk_psnr(pred[i], truth[i])) < 1e-6
        assert abs(got_s[i] - _sk_ssim(pred[i], truth[i])) < 1e-6


def test_closed_forms_exact_frame_and_constant_offset():
    truth = np.full((1, 16, 16, 3), 100, np.uint8)
    # an exact frame: PSNR +inf counts as the cap (PSNR_MAX, 100 dB); SSIM 1
    assert psnr_frames(truth, truth)[0] == PSNR_MAX == 100.0
    assert ssim_frames(truth, truth)[0] == 1.0
    # a constant offset of 10 levels: MSE = (10/255)², PSNR = 20 log10(25.5)
    assert psnr_frames(truth + 10, truth)[0] == pytest.approx(20 * np.log10(25.5), abs=1e-12)
    # constant frames: SSIM reduces to its luminance term (2μxμy + C1) / (μx² + μy² + C1)
    mx, my, c1 = 110 / 255, 100 / 255, 0.01 ** 2
    assert ssim_frames(truth + 10, truth)[0] == pytest.approx(
        (2 * mx * my + c1) / (mx * mx + my * my + c1), abs=1e-12)


def test_scorers_use_the_generated_frames_only():
    pred, truth = _pair((2, 6, 16, 16, 3), 40, seed=3)
    videos = pred.copy()
    videos[:, :2] = 0  # conditioning frames are ignored, whatever they hold
    for scorer, per_frame in ((PSNRScore(), psnr_frames), (SSIMScore(), ssim_frames)):
        got = scorer.score(videos, truth, context_frames=2)
        assert got == pytest.approx(per_frame(pred[:, 2:], truth[:, 2:]).mean(axis=1), abs=1e-12)
        with pytest.raises(InputError, match="conditioning frames"):
            scorer.score(videos, truth, context_frames=0)
        with pytest.raises(InputError, match="shapes"):
            scorer.score(videos[:, 1:], truth, context_frames=2)
    with pytest.raises(InputError, match="at least 11x11"):
        ssim_frames(pred[:, :, :10], truth[:, :, :10])


def test_best_of_n_and_mean_of_n_on_constructed_scores():
    # 3 clips × 2 draws: clip 0's best is draw 1, clip 1's draw 0, clip 2 ties
    draws = [np.array([10.0, 30.0, 20.0]), np.array([14.0, 22.0, 20.0])]
    assert best_and_mean("psnr", draws) == {"psnr_best": pytest.approx((14 + 30 + 20) / 3),
                                            "psnr_mean": pytest.approx(116 / 6)}
    # through the metric: rows arrive per chunk (a block of clips × one draw), in global order
    stats = FeatureStats(get_metric("ssim").needs(), draws=2)
    stats.add({"ssim": np.array([0.1, 0.9])}, draw=0)
    stats.add({"ssim": np.array([0.5, 0.2])}, draw=1)
    stats.add({"ssim": np.array([0.4])}, draw=0)
    stats.add({"ssim": np.array([0.3])}, draw=1)
    got = get_metric("ssim").compute(stats, None)
    assert got["ssim_best"] == pytest.approx((0.5 + 0.9 + 0.4) / 3)
    assert got["ssim_mean"] == pytest.approx(2.4 / 6)
    # one sample per clip: best-of-1 is the mean
    one = best_and_mean("x", [np.array([1.0, 2.0, 6.0])])
    assert one["x_best"] == one["x_mean"] == pytest.approx(3.0)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_reports_psnr_and_ssim_of_the_shapes_continuations(tmp_path):
    """`vdbench run shapes --metrics psnr,ssim`: the values recomputed here with scikit-image
    from the run's real clips and generated videos, conventions in the record."""
    from tests.helpers_run import records
    from tests.test_metric_registry import _shapes_run_videos
    from vdbench.protocols.registry import get_protocol

    res = run("run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
              "--clips", "3", "--samples-per-clip", "2", "--batch-size", "2",
              "--metrics", "psnr,ssim", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path)
    protocol = get_protocol("shapes", "quick").with_counts(3, 2)
    real, draws = _shapes_run_videos(protocol)
    k = protocol.context_frames
    for name, sk in (("psnr", _sk_psnr), ("ssim", _sk_ssim)):
        per = np.array([[np.mean([sk(d[c, t], real[c, t]) for t in range(k, protocol.frames)])
                         for c in range(3)] for d in draws])  # [draws, clips]
        assert rec["metrics"][f"{name}_best"] == pytest.approx(per.max(axis=0).mean(), abs=1e-6)
        assert rec["metrics"][f"{name}_mean"] == pytest.approx(per.mean(), abs=1e-6)
        assert rec["metric_settings"][name]["value_range"].startswith("[0, 1]")
    assert "sigma 1.5" in rec["metric_settings"]["ssim"]["ssim"]


def test_unconditional_protocols_refuse_prediction_metrics(tmp_path):
    res = run("run", "shapes-uncond", "--model", "tests.fast_generator:factory", "--preset",
              "quick", "--metrics", "fvd,psnr", "--out", tmp_path)
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("error: --metrics psnr"), res.output
    assert "shapes-uncond is unconditional" in errors[0]
    from vdbench.protocols.registry import get_protocol

    assert {"psnr", "ssim"} <= set(get_protocol("bair").computable_metrics())
    assert {"psnr", "ssim"} <= set(get_protocol("kinetics600").computable_metrics())
    assert "psnr" not in get_protocol("ucf101").computable_metrics()


def strict_json(text: str):
    """json.loads refusing the non-JSON constants NaN, Infinity and -Infinity."""
    def refuse(name):
        raise ValueError(f"invalid JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_exact_continuations_give_finite_psnr_and_strict_json_records(tmp_path):
    """The ground-truth baseline's frames are exact: PSNR counts them as PSNR_MAX, every record
    (verdicts included) is strict JSON; a non-finite value elsewhere is written as null."""
    res = run("compare", "shapes", "--baselines", "ground-truth,repeat-last", "--preset",
              "quick", "--clips", "3", "--samples-per-clip", "2", "--batch-size", "3",
              "--metrics", "psnr,ssim", "--bootstrap", "20", "--out", tmp_path)
    assert res.exit_code == 0, res.output
    found = {}
    for path in tmp_path.glob("shapes-*.json"):
        rec = strict_json(path.read_text())
        found[rec["model"]["baseline"]] = rec
    exact = found["ground-truth"]
    assert exact["metrics"]["psnr_best"] == exact["metrics"]["psnr_mean"] == PSNR_MAX
    assert exact["metrics"]["ssim_best"] == 1.0
    assert exact["intervals"]["psnr_mean"]["ci"] == [PSNR_MAX, PSNR_MAX]
    assert found["repeat-last"]["metrics"]["psnr_mean"] < PSNR_MAX
    assert "capped at 100 dB" in exact["metric_settings"]["psnr"]["psnr"]
    assert "non_finite" not in exact and "paired" in found["repeat-last"]

    from vdbench.reporting.records import json_safe, write_json_record

    write_json_record(tmp_path / "x.json", {"metrics": {"a": float("nan"), "b": [1.0, -np.inf]},
                                            "_private": object()})
    back = strict_json((tmp_path / "x.json").read_text())
    assert back["metrics"] == {"a": None, "b": [1.0, None]}
    assert back["non_finite"]["values"] == ["metrics.a: nan", "metrics.b[1]: -inf"]
    assert json_safe({"a": 1.5}) == {"a": 1.5}


def test_the_real_pass_scores_no_prediction_metric(tmp_path, monkeypatch):
    """PSNR/SSIM have no real-side value (a clip against itself): the real-pass plan leaves
    them out, so their scorers see generated videos only; a paired score with a real-side
    value (the shapes consistency) is still computed for the real clips."""
    from vdbench.engine.features import FeatureSet
    from vdbench.protocols.registry import get_protocol

    calls = []
    for cls in (PSNRScore, SSIMScore):
        original = cls.score

        def spy(self, videos, real, context_frames, original=original):
            calls.append(np.shares_memory(videos, real))
            return original(self, videos, real, context_frames)

        monkeypatch.setattr(cls, "score", spy)
    protocol = dataclasses.replace(get_protocol("shapes", "quick"),
                                   metrics=("psnr", "ssim", "context_consistency"))
    features = FeatureSet(protocol, "cpu")
    assert set(features.plan) == {"psnr", "ssim", "context_consistency"}
    assert set(features.real_plan) == {"context_consistency"}
    res = run("run", "shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
              "--clips", "3", "--samples-per-clip", "2", "--batch-size", "2",
              "--metrics", "psnr,ssim,context_consistency", "--bootstrap", "20",
              "--out", tmp_path)
    assert res.exit_code == 0, res.output
    # 3 clips in chunks of 2, for each of 2 samples: 4 generated chunks, per scorer
    assert calls == [False] * 8
    (path,) = tmp_path.glob("shapes-*.json")
    rec = strict_json(path.read_text())
    assert "context_consistency_real" in rec["metrics"] and rec["counts"]["real"] == 3
    assert {"psnr_best", "psnr_mean", "ssim_best", "ssim_mean"} <= set(rec["intervals"])
