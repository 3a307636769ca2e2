"""`vdbench sample --checkpoint` with a micro U-Net from the model branch (random weights)."""

import numpy as np
from click.testing import CliRunner

from vdbench.model.checkpoint import save_checkpoint
from vdbench.model.unet3d import UNet3D
from tests.helpers_model import micro_config, randomize
from vdbench.cli import main


def _checkpoint(tmp_path, **overrides):
    config = micro_config(**overrides)
    net = randomize(UNet3D(config), scale=0.05)
    tensors = {f"ema/{k}": v for k, v in net.state_dict().items()}
    save_checkpoint(tmp_path / "run", 1, config, tensors)
    return tmp_path / "run"


def _sample(run, out, *args):
    return CliRunner().invoke(main, ["sample", "--checkpoint", str(run), "--steps", "3",
                                     "-n", "2", "--out", str(out), *args])


def test_checkpoint_sampling_with_extension(tmp_path):
    run = _checkpoint(tmp_path)
    result = _sample(run, tmp_path / "a.npy", "--frames", "6", "--conditioning",
                     "reconstruction", "--sampler", "langevin")
    assert result.exit_code == 0, result.output
    x = np.load(tmp_path / "a.npy")
    assert x.shape == (2, 6, 16, 16, 3) and x.dtype == np.uint8
    assert _sample(run, tmp_path / "b.npy", "--frames", "6", "--conditioning", "reconstruction",
                   "--sampler", "langevin", "--batch-size", "1").exit_code == 0
    assert np.array_equal(np.load(tmp_path / "b.npy"), x)  # float32 network, still per-sample


def test_class_conditional_checkpoint_with_cfg(tmp_path):
    run = _checkpoint(tmp_path, **{"unet.cond": "class", "unet.num_classes": 3})
    result = _sample(run, tmp_path / "c.npy", "--label", "1", "--cfg-weight", "2")
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "c.npy").shape == (2, 4, 16, 16, 3)
    result = _sample(run, tmp_path / "d.npy", "--cfg-weight", "2")
    assert result.exit_code == 2 and "needs --label" in result.output


def test_missing_checkpoint_is_one_line(tmp_path):
    result = _sample(tmp_path / "nothing", tmp_path / "e.npy")
    assert result.exit_code == 2 and result.output.count("error: ") == 1


def test_cfg_weight_and_null_reach_the_guidance(tmp_path, monkeypatch):
    """`sample`'s --cfg-weight reaches classifier-free guidance (eq. 6) with the null label the
    model was trained with (−1 for classes), and --cfg-null overrides it."""
    from vdbench.model import conditioning

    seen = []
    real = conditioning.ClassifierFreeGuidance

    class Spy(real):
        def __init__(self, denoiser, w, null_value=0):
            seen.append((w, null_value))
            super().__init__(denoiser, w, null_value)

    monkeypatch.setattr(conditioning, "ClassifierFreeGuidance", Spy)
    run = _checkpoint(tmp_path, **{"unet.cond": "class", "unet.num_classes": 3})
    assert _sample(run, tmp_path / "c.npy", "--label", "1", "--cfg-weight", "2").exit_code == 0
    assert _sample(run, tmp_path / "d.npy", "--label", "1", "--cfg-weight", "3",
                   "--cfg-null", "2").exit_code == 0
    assert seen == [(2.0, -1.0), (3.0, 2.0)]
    result = _sample(run, tmp_path / "e.npy", "--label", "1", "--cfg-null", "2")
    assert result.exit_code == 2 and "--cfg-null: does not apply" in result.output
