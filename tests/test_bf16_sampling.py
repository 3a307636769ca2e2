"""`--precision bf16`: the U-Net in bfloat16 autocast, the sampler and samples in float32;
recorded in the settings and the record, and part of the cache key."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from tests.helpers_model import micro_config, randomize
from tests.helpers_run import records, tiny_checkpoint
from vdbench.cli import main
from vdbench.model.diffusion import DiffusionDenoiser
from vdbench.model.generate import Bf16Autocast, SampleRequest, generate
from vdbench.model.settings import SamplingSettings
from vdbench.model.unet3d import UNet3D


def test_the_network_runs_in_bf16_autocast_and_returns_float32():
    seen = []

    def denoiser(z_t, logsnr, cond=None):
        w = torch.ones(z_t.shape[-1], z_t.shape[-1])
        out = z_t @ w  # a matmul: bf16 under CPU autocast
        seen.append((torch.is_autocast_enabled("cpu"), out.dtype))
        return out

    z = torch.randn(1, 3, 2, 4, 4)
    out = Bf16Autocast(denoiser)(z, torch.zeros(1))
    assert seen == [(True, torch.bfloat16)]
    assert out.dtype == torch.float32
    assert torch.allclose(out, z.sum(-1, keepdim=True).expand_as(z), rtol=1e-2, atol=1e-2)


def _samples(precision: str) -> torch.Tensor:
    cfg = micro_config()
    torch.manual_seed(0)
    net = randomize(UNet3D(cfg).eval(), scale=0.2)
    den = DiffusionDenoiser(net, "eps")
    settings = SamplingSettings(steps=4, precision=precision)
    req = SampleRequest(settings, frames=4, num_samples=2, batch_size=2)
    with torch.no_grad():
        return generate(den, (3, 4, 16, 16), req, seeds=[0, 1])


def test_bf16_samples_are_float32_and_close_to_fp32():
    fp32, bf16 = _samples("fp32"), _samples("bf16")
    assert bf16.dtype == fp32.dtype == torch.float32
    diff = (bf16 - fp32).abs()
    assert 0 < float(diff.max())  # the network really ran in bf16 …
    assert float(diff.mean()) < 0.05 * float(fp32.abs().mean())  # … with bf16's rounding only


def test_precision_reaches_settings_record_and_cache_key(tmp_path):
    assert SamplingSettings(precision="bf16").digest() != SamplingSettings().digest()
    (tmp_path / "ckpt").mkdir()
    ckpt = tiny_checkpoint(tmp_path / "ckpt")
    quick = ["--preset", "quick", "--clips", "2", "--samples-per-clip", "1", "--batch-size", "2",
             "--metrics", "context_consistency", "--steps", "1", "--out", str(tmp_path / "o")]
    for precision in ("fp32", "bf16"):
        res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", str(ckpt), *quick,
                                        "--precision", precision])
        assert res.exit_code == 0, res.output
    recs = {r["sampler"]["precision"]: r for r in records(tmp_path / "o")}
    assert set(recs) == {"fp32", "bf16"}
    assert recs["bf16"]["sampler"]["sources"]["precision"] == "option"
    assert recs["bf16"]["cache"]["folder"] != recs["fp32"]["cache"]["folder"]
    assert recs["bf16"]["metric_precision"] == {"dtype": "float32", "tf32": False}


@pytest.mark.parametrize("bad", ["fp16", "bfloat16"])
def test_unknown_precision_is_refused(tmp_path, bad):
    res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", "x", "--precision", bad,
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--precision" in res.output
