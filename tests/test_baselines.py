"""Trivial generators as rows of `vdbench compare --baselines` (vdbench.engine.baselines): what
each returns, and the scores they get against values known without the runner."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers_run import records
from vdbench.cli import main
from vdbench.engine.baselines import BASELINES, make_baselines
from vdbench.engine.generator import GenerationRequest, sample_seed
from vdbench.engine.protocol_data import open_protocol_data
from vdbench.protocols.registry import get_protocol
from vdbench.protocols.shapes_consistency import context_consistency
from vdbench.protocols.shapes_dynamics import sprite_dynamics

FAST = ["--preset", "quick", "--clips", "3", "--samples-per-clip", "2", "--batch-size", "4",
        "--metrics", "context_consistency,sprite_dynamics"]


def test_generators_return_what_they_promise():
    protocol = get_protocol("shapes", "quick").with_counts(3, 2)
    clips, _ = open_protocol_data(protocol, None)
    real = np.stack(list(clips.iter_clips(range(3))))
    repeat, fresh, truth = make_baselines(protocol, list(BASELINES), clips)
    seeds = tuple(sample_seed(protocol.seed, c, s) for s in range(2) for c in range(3))
    request = GenerationRequest(seeds, 16, 32, np.concatenate([real[:, :1]] * 2))
    out = repeat.generate(request)
    assert out.shape == (6, 16, 32, 32, 3) and (out == out[:, :1]).all()
    assert np.array_equal(truth.generate(request), np.concatenate([real, real]))
    drawn = fresh.generate(request)
    assert np.array_equal(drawn[:, 0], request.context[:, 0])  # the observed frame is kept
    assert np.array_equal(drawn, fresh.generate(request))  # a function of the seeds
    assert not np.array_equal(drawn[:3, 1:], drawn[3:, 1:])  # other seeds, other sprites


def test_compare_baselines_rows_score_as_computed_directly(tmp_path):
    res = CliRunner().invoke(main, ["compare", "shapes", *FAST, "--out", str(tmp_path),
                                    "--baselines", "repeat-last,ground-truth"])
    assert res.exit_code == 0, res.output
    recs = {r["model"]["baseline"]: r["metrics"] for r in records(tmp_path)}
    protocol = get_protocol("shapes", "quick").with_counts(3, 2)
    clips, _ = open_protocol_data(protocol, None)
    real = np.stack(list(clips.iter_clips(range(3))))
    still = np.repeat(real[:, :1], 16, axis=1)
    assert recs["repeat-last"]["sprite_dynamics"] == 0.0
    assert recs["repeat-last"]["context_consistency"] == pytest.approx(
        np.mean(context_consistency(real, still, 1)))
    truth = recs["ground-truth"]
    assert truth["sprite_dynamics"] == pytest.approx(sprite_dynamics(real, real, 1).mean())
    assert truth["sprite_dynamics"] == pytest.approx(truth["sprite_dynamics_real"])
    assert truth["context_consistency"] == pytest.approx(truth["context_consistency_real"])
    assert "baseline-repeat-last" in res.output


@pytest.mark.parametrize("args, fragment", [
    (["shapes-uncond", "--baselines", "repeat-last"], "observes no frames"),
    (["bair", "--baselines", "random-sprites"], "applies to the shapes data"),
    (["shapes", "--baselines", "repeat-last,nothing"], "unknown baseline 'nothing'"),
    (["shapes", "--baselines", "repeat-last", "--steps", "3"], "--steps"),
    (["oracle", "--baselines", "ground-truth"], "evaluates no generated videos"),
])
def test_baselines_that_cannot_apply_are_refused(tmp_path, args, fragment):
    res = CliRunner().invoke(main, ["compare", *args, "--preset", "quick", "--out",
                                    str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert res.output.count("error:") == 1 and fragment in res.output, res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("reference, fragment", [
    ("nothing", "names no row of this compare"),
    ("langevin/nothing", "names no row of this compare"),
])
def test_a_reference_no_row_has_is_refused_before_any_work(tmp_path, reference, fragment):
    res = CliRunner().invoke(main, ["compare", "shapes", *FAST, "--out", str(tmp_path / "o"),
                                    "--baselines", "repeat-last", "--baseline", reference])
    assert res.exit_code == 2, res.output
    assert res.output.count("error:") == 1 and fragment in res.output, res.output
    assert not (tmp_path / "o").exists()


def test_compare_prints_and_records_paired_verdicts(tmp_path):
    """Against the ground truth, repeat-last's dynamics are lower by exactly the ground
    truth's score (repeat-last scores 0 on every clip), on 8 clips: p ≤ 2/2⁸ + noise."""
    res = CliRunner().invoke(main, [
        "compare", "shapes", *FAST[:2], "--clips", "8", "--samples-per-clip", "1",
        "--metrics", "sprite_dynamics", "--bootstrap", "200", "--out", str(tmp_path),
        "--baselines", "repeat-last,ground-truth", "--baseline", "ground-truth"])
    assert res.exit_code == 0, res.output
    recs = {r["model"]["baseline"]: r for r in records(tmp_path)}
    truth = recs["ground-truth"]["metrics"]["sprite_dynamics"]
    judged = recs["repeat-last"]["paired"]
    assert judged["against"] == "ground-truth" and judged["name"] == "repeat-last"
    got = judged["values"]["sprite_dynamics"]
    assert got["delta"] == pytest.approx(-truth) and got["p_value"] < 0.05
    assert got["verdict"].startswith(f"repeat-last lower by {truth:.3g} [")
    assert got["verdict"] in res.output and "(reference)" in res.output
    assert recs["ground-truth"]["paired"]["values"] == {}
