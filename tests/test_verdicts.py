"""`vdbench compare`'s paired verdicts (vdbench.engine.verdicts) on constructed per-sample
scores and features, against values computed here."""

from __future__ import annotations

import numpy as np
import pytest

from vdbench.engine.verdicts import paired_verdicts, pick_reference, variant_name
from vdbench.metrics.errors import InputError
from vdbench.metrics.feature_stats import FeatureStats
from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.metrics.registry import get_metric
from vdbench.metrics.uncertainty import Bootstrap
from vdbench.protocols import registry as _protocols  # noqa: F401  (registers the shapes scores)

SCORE = get_metric("context_consistency")  # a MeanScore: the mean of per-video scores
FVD = get_metric("fvd")
CONFIG = Bootstrap(replicates=400, seed=3)


def scored(values: np.ndarray, clips: np.ndarray, key: str = "context_consistency"
           ) -> FeatureStats:
    """Per-sample rows of ``key`` for samples of ``clips`` (one draw), rows kept."""
    metric = SCORE if key == "context_consistency" else FVD
    stats = FeatureStats(metric.needs(), 1, bootstrap=True)
    stats.add({key: values}, draw=0, clusters=clips)
    return stats


def test_a_constant_shift_is_found_with_an_exact_interval():
    rng = np.random.default_rng(0)
    clips = np.arange(16)
    a = rng.uniform(0.2, 0.6, 16)
    (row_a, row_b) = paired_verdicts([SCORE], ["A", "B"], [scored(a, clips),
                                                         scored(a + 0.25, clips)],
                                     None, 0, CONFIG, paired=False, permutations=400)
    assert row_a == {}
    got = row_b["context_consistency"]
    assert got["delta"] == pytest.approx(0.25) and got["delta_ci"] == pytest.approx([0.25] * 2)
    # every permutation that is not all-swapped or none-swapped shrinks |Δ|: p ≈ 1/401
    assert got["p_value"] < 0.01
    assert got["verdict"].startswith("B higher by 0.250 [0.250, 0.250], p ")
    assert got["against"] == "A"


def test_identical_variants_are_no_significant_difference():
    clips = np.arange(12)
    a = np.linspace(0, 1, 12)
    (_, row_b) = paired_verdicts([SCORE], ["A", "B"], [scored(a, clips), scored(a, clips)],
                                 None, 0, CONFIG, paired=False, permutations=200)
    got = row_b["context_consistency"]
    assert got["delta"] == 0 and got["p_value"] == 1.0
    assert got["verdict"].startswith("no significant difference at this sample size")


def test_the_interval_is_the_paired_cluster_bootstrap_of_the_mean_difference():
    """Clips of two samples each: one multinomial draw of clips per replicate for both
    variants, as computed here from the same seeded generator."""
    rng = np.random.default_rng(1)
    clips = np.repeat(np.arange(10), 2)
    a, b = rng.normal(0, 1, 20), rng.normal(0.3, 1, 20)
    (_, row_b) = paired_verdicts([SCORE], ["A", "B"], [scored(a, clips), scored(b, clips)],
                                 None, 0, CONFIG, paired=False, permutations=50)
    counts = np.random.default_rng(CONFIG.seed).multinomial(10, np.full(10, 0.1),
                                                           size=CONFIG.replicates)
    w = counts[:, clips]
    deltas = (w @ b - w @ a) / w.sum(1)
    got = row_b["context_consistency"]
    assert got["delta"] == pytest.approx(b.mean() - a.mean())
    assert got["delta_se"] == pytest.approx(np.std(deltas, ddof=1), rel=1e-9)
    lo, hi = got["delta_ci"]  # percentile interval, or recentred on the value: same width
    assert hi - lo == pytest.approx(np.diff(np.percentile(deltas, [2.5, 97.5]))[0], rel=1e-9)


def test_fvd_delta_is_the_difference_of_the_two_distances():
    rng = np.random.default_rng(2)
    clips, dim = np.arange(24), 5
    real_x = rng.normal(size=(24, dim))
    a_x, b_x = rng.normal(size=(24, dim)), rng.normal(1.0, 1, size=(24, dim))
    real, a, b = (scored(x, clips, "i3d") for x in (real_x, a_x, b_x))
    (_, row_b) = paired_verdicts([FVD], ["A", "B"], [a, b], real, 0, CONFIG, paired=True,
                                 permutations=100)
    gauss = [GaussianStats(dim).update(x) for x in (real_x, a_x, b_x)]
    expect = frechet_distance(gauss[0], gauss[2]) - frechet_distance(gauss[0], gauss[1])
    got = row_b["fvd"]
    assert got["delta"] == pytest.approx(expect, rel=1e-6)
    assert got["p_value"] < 0.05 and got["verdict"].startswith("B higher by")


def test_variants_on_other_clips_or_seeds_are_refused():
    a = scored(np.zeros(8), np.arange(8))
    b = scored(np.zeros(6), np.arange(6))
    with pytest.raises(InputError, match="compare A with B: .*share clips and seeds"):
        paired_verdicts([SCORE], ["A", "B"], [a, b], None, 0, CONFIG, paired=False)


def test_reference_is_picked_by_name_or_unique_part():
    names = ["langevin/replacement", "langevin/reconstruction", "repeat-last"]
    assert pick_reference(names, None) == 0
    assert pick_reference(names, "reconstruction") == 1
    assert pick_reference(names, "repeat-last") == 2
    for bad, problem in (("langevin", "names several rows"), ("nope", "names no row")):
        with pytest.raises(InputError, match=f"--baseline '{bad}': {problem}"):
            pick_reference(names, bad)


def test_row_names():
    assert variant_name({"model": {"kind": "baseline", "baseline": "repeat-last"}}) \
        == "repeat-last"
    assert variant_name({"model": {"kind": "checkpoint"}, "sampler": {
        "sampler": "langevin", "conditioning": "replacement"}}) == "langevin/replacement"
    assert variant_name({"model": {"name": "mine"}, "sampler": {"reported_by": "x"}}) == "mine"
