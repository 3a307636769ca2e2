"""Training loop: exact resume, atomic checkpoints, config checks, data validation."""

import json

import numpy as np
import pytest
import torch

from tests.helpers_model import micro_config
from vdbench.model import checkpoint as ckpt
from vdbench.model.data import ClipSampler, load_video_array
from vdbench.model.diffusion import load_denoiser
from vdbench.model.errors import CheckpointError, DataError
from vdbench.model.train import train


def _videos(n=3, frames=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, frames, 16, 16, 3), dtype=np.uint8)


def _sampler(cfg, videos=None):
    return ClipSampler(_videos() if videos is None else videos, cfg.video,
                       cfg.train.image_frames, cfg.train.flip)


def _all_state(state):
    out = {f"net.{k}": v for k, v in state.net.state_dict().items()}
    out.update({f"ema.{k}": v for k, v in state.ema.state_dict().items()})
    for pid, entry in state.optimizer.state_dict()["state"].items():
        out.update({f"opt.{pid}.{k}": v for k, v in entry.items()})
    return out


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    # Dropout on, flips on, joint image frames on: every random stream must be restored.
    cfg = micro_config(**{"unet.dropout": 0.1, "train.flip": True, "train.warmup_steps": 2})
    full = train(cfg, _sampler(cfg), tmp_path / "a", steps=4, progress=False)
    train(cfg, _sampler(cfg), tmp_path / "b", steps=2, progress=False)  # "killed" after 2
    resumed = train(cfg, _sampler(cfg), tmp_path / "b", steps=4, progress=False)
    assert resumed.step == full.step == 4
    a, b = _all_state(full), _all_state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    logs = [json.loads(r) for r in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [1, 2, 3, 4]
    # And the run did learn something: weights moved away from their initial values.
    fresh = train(cfg, _sampler(cfg), tmp_path / "c", steps=1, progress=False)
    assert not torch.equal(fresh.net.conv_out.weight, full.net.conv_out.weight)


def test_checkpoint_files_atomic_and_latest_skips_corrupt(tmp_path):
    cfg = micro_config(**{"train.checkpoint_every": 1, "train.keep_checkpoints": 3})
    train(cfg, _sampler(cfg), tmp_path, steps=3, progress=False)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["ckpt-00000001.json", "ckpt-00000001.safetensors", "ckpt-00000002.json",
                     "ckpt-00000002.safetensors", "ckpt-00000003.json",
                     "ckpt-00000003.safetensors", "log.jsonl"]  # no temporary files left
    meta = json.loads((tmp_path / "ckpt-00000003.json").read_text())
    assert meta["config"]["name"] == cfg.name and meta["step"] == 3
    # A torn write of the newest weights: loading falls back to the previous checkpoint.
    (tmp_path / "ckpt-00000003.safetensors").write_bytes(b"torn")
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt-00000002.json"
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        ckpt.load_checkpoint(tmp_path / "ckpt-00000003.json")
    (tmp_path / "ckpt-00000002.json").unlink()  # sidecar missing = incomplete
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt-00000001.json"


def test_no_resume_refuses_to_mix_runs(tmp_path):
    cfg = micro_config()
    train(cfg, _sampler(cfg), tmp_path, steps=1, progress=False)
    with pytest.raises(CheckpointError, match="already holds checkpoints"):
        train(cfg, _sampler(cfg), tmp_path, steps=2, resume=False, progress=False)


def test_keep_prunes_old_checkpoints(tmp_path):
    cfg = micro_config(**{"train.checkpoint_every": 1, "train.keep_checkpoints": 2})
    train(cfg, _sampler(cfg), tmp_path, steps=4, progress=False)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [3, 4]


def test_resume_with_other_architecture_is_an_error(tmp_path):
    cfg = micro_config()
    train(cfg, _sampler(cfg), tmp_path, steps=1, progress=False)
    other = cfg.replace(**{"unet.base_channels": 16})
    with pytest.raises(CheckpointError, match=r"unet.base_channels: checkpoint 8 vs config 16"):
        train(other, _sampler(other), tmp_path, steps=2, progress=False)


def test_load_denoiser_uses_ema_and_rejects_bad_paths(tmp_path):
    cfg = micro_config()
    state = train(cfg, _sampler(cfg), tmp_path, steps=2, progress=False)
    den, loaded = load_denoiser(tmp_path)
    assert loaded == cfg and not den.training
    for name, p in den.net.state_dict().items():
        assert torch.equal(p, state.ema.state_dict()[name])
    raw, _ = load_denoiser(tmp_path / "ckpt-00000002.safetensors", ema=False)
    assert torch.equal(raw.net.conv_in.weight, state.net.conv_in.weight)
    z = torch.randn(1, 3, 4, 16, 16)
    assert den(z, torch.tensor(2.0)).shape == z.shape
    # A float64 sampler gets float64 x̂ from the float32 network, with gradients to z_t.
    z64 = z.double().requires_grad_()
    x64 = den(z64, torch.tensor([2.0], dtype=torch.float64))
    assert x64.dtype == torch.float64
    torch.testing.assert_close(x64.float(), den(z, torch.tensor([2.0])), rtol=1e-5, atol=1e-5)
    x64.square().sum().backward()
    assert z64.grad is not None and z64.grad.abs().sum() > 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        load_denoiser(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="expected a run directory"):
        load_denoiser(tmp_path / "log.jsonl")


def test_clip_sampler_batches():
    cfg = micro_config(**{"video.frameskip": 2, "train.image_frames": 3})
    videos = np.zeros((4, 9, 16, 16, 3), dtype=np.uint8)
    for i in range(4):
        videos[i] = np.arange(9, dtype=np.uint8)[:, None, None, None] * 10 + 100 * (i % 2)
    batch = ClipSampler(videos, cfg.video, 3).sample(5, torch.Generator().manual_seed(0))
    assert batch.x.shape == (5, 3, 7, 16, 16)
    assert batch.frame_is_image.tolist() == [False] * 4 + [True] * 3
    assert batch.x.min() >= -1 and batch.x.max() <= 1
    # Frameskip 2: consecutive clip frames differ by 2 source frames (20 grey levels).
    levels = (batch.x[:, 0, :4, 0, 0] + 1) * 127.5
    torch.testing.assert_close(levels.diff(dim=1), torch.full((5, 3), 20.0))


def test_data_validation(tmp_path):
    cfg = micro_config()
    with pytest.raises(DataError, match="uint8 array"):
        ClipSampler(np.zeros((2, 6, 16, 16, 3), dtype=np.float32), cfg.video)
    with pytest.raises(DataError, match="videos are 8×8 but the config expects 16×16"):
        ClipSampler(np.zeros((2, 6, 8, 8, 3), dtype=np.uint8), cfg.video)
    with pytest.raises(DataError, match="need at least 4"):
        ClipSampler(np.zeros((2, 3, 16, 16, 3), dtype=np.uint8), cfg.video)
    np.save(tmp_path / "v.npy", _videos())
    videos, labels = load_video_array(tmp_path / "v.npy")
    assert videos.shape == (3, 6, 16, 16, 3) and labels is None
    np.savez(tmp_path / "v.npz", videos=_videos(), labels=np.array([0, 1, 2]))
    assert load_video_array(tmp_path / "v.npz")[1].tolist() == [0, 1, 2]
    np.savez(tmp_path / "bad.npz", a=_videos(), b=_videos())
    with pytest.raises(DataError, match="named 'videos'"):
        load_video_array(tmp_path / "bad.npz")
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(DataError, match=r"\.npy or \.npz"):
        load_video_array(tmp_path / "x.txt")
    with pytest.raises(DataError, match="does not exist"):
        load_video_array(tmp_path / "missing.npy")
