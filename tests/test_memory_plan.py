"""`vdbench model plan`: per-device training memory. Parameter-sized terms are exact closed forms
of the parameter count; activations are measured on small shapes, extrapolated, and checked here
against the peak measured on real CPU tensors at the tiny preset's training shape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.model.configs import preset
from vdbench.model.memory import (ActivationModel, LiveBytes, ParallelSetup, fit_activations,
                                  measure_activations, plan_memory, small_shapes, train_frames)
from vdbench.model.unet3d import UNet3D, count_parameters

ROOT = Path(__file__).resolve().parents[1]
APPENDIX_A = ("ucf101", "bair", "kinetics600", "t2v-small", "t2v-large", "t2v-9x128")


def test_live_bytes_counts_each_storage_once_while_alive():
    tracker = LiveBytes()
    with tracker:
        a = torch.zeros(1000)  # 4000 bytes
        view = a.view(10, 100)  # same storage: not counted again
        b = torch.ones(500, dtype=torch.float64)  # 4000 bytes
        assert tracker.current == 8000
        del b
        c = torch.zeros(250, dtype=torch.int8)  # 250 bytes
        assert tracker.current == 4250
    assert tracker.peak == 8000
    del a, view, c


@pytest.fixture(scope="module")
def tiny_fit():
    return fit_activations(preset("tiny"))


def test_small_shapes_are_below_the_training_shape():
    for name in ("tiny", *APPENDIX_A):
        cfg = preset(name)
        for b, t, h, w in small_shapes(cfg):
            assert b <= 2 and t <= train_frames(cfg)
            assert h * w <= cfg.video.height * cfg.video.width // 4


def test_fake_trace_equals_the_real_cpu_peak():
    """The planner traces on fake tensors; the same step on real CPU tensors peaks the same."""
    cfg = preset("tiny")
    fake = measure_activations(cfg, 1, 6, 16, 16)
    real = measure_activations(cfg, 1, 6, 16, 16, fake=False)
    assert fake == pytest.approx(real, rel=0.02)


def _peak_rss(batch: int) -> int:
    """The OS's measure: peak RSS growth over one training step (tests/peak_rss_step.py)."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "tests.peak_rss_step", str(batch)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("batch", [1, 2, 4])
def test_estimate_matches_measured_cpu_peak_of_tiny(tiny_fit, batch):
    """Acceptance: the extrapolated activations of the tiny preset (20 frames of 32×32 with the
    joint-training images) against the peak memory the OS measures for one training step on
    this CPU, within 20%."""
    cfg = preset("tiny")
    v = cfg.video
    measured = _peak_rss(batch)
    estimate = tiny_fit.bytes(batch, train_frames(cfg), v.height, v.width)
    assert estimate == pytest.approx(measured, rel=0.20)


def test_bf16_and_checkpointing_shrink_activations(tiny_fit):
    v = preset("tiny").video
    shape = (4, train_frames(preset("tiny")), v.height, v.width)
    fp32 = tiny_fit.bytes(*shape)
    bf16 = fit_activations(preset("tiny"), precision="bf16").bytes(*shape)
    ckpt = fit_activations(preset("tiny"), checkpoint=True).bytes(*shape)
    # autocast halves what matmuls and convolutions save; GroupNorm and softmax stay fp32
    assert 0.45 * fp32 < bf16 < 0.7 * fp32
    # per-stage checkpointing keeps stage inputs and one stage's inside only
    assert ckpt < 0.5 * fp32


def _fixed_model() -> ActivationModel:
    return ActivationModel(a=3.0, b=0.5, d=100.0, c=1e6, points=())


@pytest.mark.parametrize("shard", ["none", "grad", "full"])
def test_state_terms_follow_the_sharding_mode(shard):
    cfg = preset("tiny")
    params = count_parameters(UNet3D(cfg))  # a real network, counted independently
    n = 4
    plan = plan_memory(cfg, ParallelSetup(n, 2, "fp32", shard), 80.0, model=_fixed_model())
    assert plan.params == params
    div_all = n if shard == "full" else 1
    div_grad = n if shard in ("grad", "full") else 1
    assert plan.rows["parameters"] == 4 * params / div_all
    assert plan.rows["ema"] == 4 * params / div_all
    assert plan.rows["gradients"] == 4 * params / div_grad
    assert plan.rows["optimizer"] == 2 * 4 * params / div_grad
    assert (plan.rows["gathered"] > 0) == (shard == "full")
    v = cfg.video
    t, s = train_frames(cfg), v.height * v.width
    assert plan.rows["activations"] == 2 * (3.0 * t * s + 0.5 * t * t * s + 100.0 * t) + 1e6


def test_largest_micro_batch_is_the_last_that_fits():
    cfg = preset("bair")
    model = _fixed_model()
    gib = 6.0
    best = plan_memory(cfg, ParallelSetup(8, 1, "fp32", "grad"), gib, model=model)
    assert best.max_micro_batch >= 1
    fit = plan_memory(cfg, ParallelSetup(8, best.max_micro_batch, "fp32", "grad"), gib,
                      model=model)
    over = plan_memory(cfg, ParallelSetup(8, best.max_micro_batch + 1, "fp32", "grad"), gib,
                       model=model)
    assert fit.fits and not over.fits


def test_plan_command_for_a_paper_preset():
    res = CliRunner().invoke(main, ["model", "plan", "bair", "--gpus", "8", "--gpu-memory", "80",
                                    "--precision", "bf16", "--shard", "grad"])
    assert res.exit_code == 0, res.output
    params = count_parameters(_meta(preset("bair")))
    assert f"{params / 1e6:.1f}M parameters" in res.output
    assert "global batch 128 = 8 devices × 16 clips × 1 accumulation steps" in res.output
    for row in ("parameters (fp32)", "gradients (fp32)", "optimizer (AdamW", "EMA (fp32)",
                "activations (micro-batch 16)", "total"):
        assert row in res.output
    assert "fit; largest micro-batch that fits:" in res.output


def _meta(cfg):
    with torch.device("meta"):
        return UNet3D(cfg)


@pytest.mark.parametrize("args, fragment", [
    (["tiny", "--gpus", "1", "--gpu-memory", "8", "--shard", "full"], "--shard"),
    (["tiny", "--gpus", "3", "--gpu-memory", "8"], "--gpus"),
    (["tiny", "--gpus", "2", "--gpu-memory", "8", "--micro-batch", "3"], "--micro-batch"),
    (["tiny", "--gpus", "1", "--gpu-memory", "1", "--reserve", "2"], "--reserve"),
    (["nope", "--gpus", "1", "--gpu-memory", "8"], "nope"),
])
def test_plan_refuses_bad_input(args, fragment):
    res = CliRunner().invoke(main, ["model", "plan", *args])
    assert res.exit_code == 2 and fragment in res.output
    assert res.output.startswith("error:")


@pytest.mark.slow
@pytest.mark.parametrize("name", APPENDIX_A)
def test_every_appendix_a_preset_plans_and_extrapolates(name):
    """The extrapolation against a direct trace at the preset's full training shape."""
    cfg = preset(name)
    v = cfg.video
    frames = train_frames(cfg)
    model = fit_activations(cfg, precision="bf16")
    direct = measure_activations(cfg, 2, frames, v.height, v.width, precision="bf16")
    assert model.bytes(2, frames, v.height, v.width) == pytest.approx(direct, rel=0.20)
    res = CliRunner().invoke(main, ["model", "plan", name, "--gpus", "16", "--gpu-memory", "80",
                                    "--precision", "bf16", "--shard", "full"])
    assert res.exit_code == 0, res.output
    assert "largest micro-batch that fits" in res.output
