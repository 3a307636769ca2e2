"""`vdbench run` / `compare` end to end on the shapes protocol with a tiny untrained model."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.protocols.datasets.shapes import ShapesDataset
from tests.helpers_run import tiny_checkpoint
from tests.record_check import check_record, chunk_rows
from vdbench.cli import main

COUNTS = ["--preset", "quick", "--clips", "3", "--samples-per-clip", "2", "--batch-size", "3"]
SMALL = COUNTS + ["--steps", "2"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def _records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def test_run_writes_a_complete_record(checkpoint, tmp_path, i3d_extractor):
    res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", str(checkpoint),
                                    "--out", str(tmp_path), *SMALL])
    assert res.exit_code == 0, res.output
    (rec,) = _records(tmp_path)
    assert rec["schema"] == "vdbench.result/1"
    assert rec["protocol"]["preset"] == "custom" and rec["protocol"]["num_clips"] == 3
    assert rec["counts"] == {"real": 3, "generated": 6, "clips": 3, "samples_per_clip": 2}
    m = rec["metrics"]
    assert np.isfinite(m["fvd"]) and m["fvd"] > 0
    assert 0 <= m["context_consistency"] <= 1 and m["context_consistency_real"] > 0.5
    assert set(m) >= {"fvd_per_draw_mean", "fvd_per_draw_std"}
    # each value is the one computed from the cached features (a swap or misassignment fails),
    # and the cached features are those of the cached samples
    check_record(rec)
    gen, _ = chunk_rows(Path(rec["cache"]["folder"]))
    np.testing.assert_allclose(gen["i3d"], i3d_extractor(gen["videos"]), rtol=1e-4, atol=1e-4)
    assert len(rec["model"]["sha256"]) == 64 and rec["sampler"]["steps"] == 2
    assert rec["environment"]["packages"]["torch"]
    assert rec["timing"]["generation_s"] > 0


def test_generation_does_not_depend_on_batch_size(checkpoint):
    from vdbench.engine.included_model import DiffusionGenerator
    from vdbench.model.settings import SamplingSettings
    from vdbench.engine.generator import GenerationRequest

    context = np.stack([ShapesDataset("test", 3).video(i)[:1] for i in range(3)])
    request = GenerationRequest((11, 22, 33), 16, 32, context)
    settings = SamplingSettings(sampler="langevin", steps=2, conditioning="reconstruction")
    a = DiffusionGenerator(settings, checkpoint, batch_size=1).generate(request)
    b = DiffusionGenerator(settings, checkpoint, batch_size=3).generate(request)
    assert np.array_equal(a, b)
    assert np.array_equal(a[:, 0], context[:, 0])  # the observed frame is the data's own


def test_compare_uses_the_same_clips_and_seeds(checkpoint, tmp_path, i3d_weights):
    res = CliRunner().invoke(main, ["compare", "shapes", "--checkpoint", str(checkpoint),
                                    "--conditioning", "replacement,reconstruction",
                                    "--out", str(tmp_path), *SMALL])
    assert res.exit_code == 0, res.output
    recs = _records(tmp_path)
    assert sorted(r["sampler"]["conditioning"] for r in recs) == ["reconstruction",
                                                                   "replacement"]
    assert recs[0]["metrics"]["context_consistency_real"] == \
        recs[1]["metrics"]["context_consistency_real"]
    assert "replacement" in res.output and "reconstruction" in res.output


def test_user_model_factory(tmp_path, i3d_weights):
    res = CliRunner().invoke(main, ["run", "shapes", "--model", "tests.test_generator:make",
                                    "--out", str(tmp_path), *COUNTS])
    assert res.exit_code == 0, res.output
    (rec,) = _records(tmp_path)
    assert rec["model"]["factory"] == "tests.test_generator:make"
    # the record states what the generator reports, not our sampler's defaults
    assert rec["sampler"] == {"reported_by": "generator"}


@pytest.mark.parametrize("args,fragment", [
    (["run", "nope", "--model", "x:y"], "unknown protocol"),
    (["run", "shapes"], "exactly one of"),
    (["run", "bair", "--model", "tests.test_generator:make"], "needs --data-dir"),
    (["compare", "shapes", "--model", "tests.test_generator:make", "--conditioning", "magic"],
     "unknown conditioning"),
    (["run", "shapes", "--model", "tests.test_generator:make", "--steps", "4"],
     "--steps: does not apply to --model"),
    (["run", "shapes", "--model", "tests.test_generator:make", "--gamma", "0.3"],
     "--gamma: does not apply to --model"),
    (["run", "shapes", "--model", "tests.test_generator:make", "--with-replacement"],
     "has no with-replacement variant"),
    (["run", "shapes", "--model", "tests.test_generator:make", "--c3d-weights", "."],
     "--c3d-weights: no metric of protocol shapes"),
])
def test_bad_input(args, fragment, tmp_path):
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert fragment in res.output
    assert not list(tmp_path.glob("*.json"))


def test_checkpoint_resolution_must_match(checkpoint, tmp_path):
    res = CliRunner().invoke(main, ["run", "bair", "--checkpoint", str(checkpoint),
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "32×32" in res.output and "64×64" in res.output


def test_slim_export_loads_the_set_it_names(checkpoint, tmp_path):
    import torch

    from vdbench.model.checkpoint import CheckpointError
    from vdbench.model.diffusion import load_denoiser

    for which in ("ema", "model"):
        res = CliRunner().invoke(main, ["model", "export", str(checkpoint), "-o",
                                        str(tmp_path / which), "--weights", which])
        assert res.exit_code == 0, res.output
    full_model, _ = load_denoiser(checkpoint, ema=False)
    slim, _ = load_denoiser(tmp_path / "model")  # ema=None: the exported set
    z, lam = torch.randn(1, 3, 16, 32, 32), torch.zeros(1)
    with torch.no_grad():
        assert torch.equal(full_model(z, lam), slim(z, lam))
    with pytest.raises(CheckpointError, match="exported with its model weights"):
        load_denoiser(tmp_path / "model", ema=True)
    size = sum(p.stat().st_size for p in (tmp_path / "ema").iterdir())
    assert size < sum(p.stat().st_size for p in checkpoint.glob("ckpt-*.safetensors")) / 2


def test_extension_to_64_frames(checkpoint, tmp_path, i3d_weights):
    res = CliRunner().invoke(main, ["run", "shapes-extension", "--checkpoint", str(checkpoint),
                                    "--conditioning", "replacement", "--out", str(tmp_path),
                                    "--clips", "2", "--samples-per-clip", "1", "--steps", "1"])
    assert res.exit_code == 0, res.output
    (rec,) = _records(tmp_path)
    assert rec["protocol"]["frames"] == 64 and rec["counts"]["generated"] == 2


def test_oracle_protocol_runs_in_seconds(tmp_path):
    res = CliRunner().invoke(main, ["run", "oracle", "--samples-per-clip", "64", "--steps", "16",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (rec,) = _records(tmp_path)
    m = rec["metrics"]
    assert rec["protocol"]["preset"] == "custom" and rec["counts"]["samples"] == 64
    # Section 3.1: reconstruction guidance (w_r = 5) is closer to the exact conditional mean
    # than replacement, for both plans.
    for plan in ("extension", "interpolation"):
        assert m[f"{plan}/ancestral/reconstruction/w_r=5"]["mean_rel"] < \
            m[f"{plan}/ancestral/replacement"]["mean_rel"]
