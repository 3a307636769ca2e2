"""TGANv2's C3D (UCF101 FID/IS): our network, preprocessing and npz loader against chainer."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vdbench.metrics.c3d import C3DFeatures, preprocess
from vdbench.metrics.c3d_weights import (MEAN_FILE, MODEL_FILE, expected_shapes, load_c3d,
                                         read_c3d_npz, read_mean)
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.resize import resize_bilinear_align_corners

GOLDEN = Path(__file__).parent / "fixtures" / "c3d_chainer.npz"


def _golden():
    with np.load(GOLDEN) as g:
        return {k: g[k] for k in g.files}, json.loads(str(g["meta"]))


def _random_release(seed):
    """The arrays tests/fixtures/make_c3d_chainer.py draws (same generator, same order)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for key, shape in expected_shapes().items():
        if key.endswith("/W"):
            fan_in = int(np.prod(shape[1:]))
            bound = np.sqrt(6.0 / fan_in)
            arrays[key] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        else:
            arrays[key] = rng.uniform(-0.1, 0.1, size=shape).astype(np.float32)
    mean = rng.uniform(80.0, 120.0, size=(3, 16, 128, 171)).astype(np.float32)
    videos = [rng.integers(0, 256, size=(2, 16, 64, 64, 3), dtype=np.uint8),
              rng.integers(0, 256, size=(1, 16, 48, 80, 3), dtype=np.uint8)]
    return arrays, mean, videos


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Random weights written in the TGANv2 release layout, and the golden chainer outputs."""
    golden, meta = _golden()
    arrays, mean, videos = _random_release(meta["seed"])
    for key, total in meta["weight_sums"].items():  # the generator drew the same numbers
        assert np.sum(arrays[key], dtype=np.float64) == pytest.approx(total, rel=1e-9), key
    folder = tmp_path_factory.mktemp("c3d")
    np.savez(folder / MODEL_FILE, **arrays)
    np.savez(folder / MEAN_FILE, mean=mean)
    return folder, videos, golden, meta


def test_npz_layout_is_chainers(release):
    _, _, _, meta = release
    assert {k: tuple(v) for k, v in meta["npz_keys"].items()} == expected_shapes()


def test_features_and_logits_match_chainer(release):
    folder, videos, golden, _ = release
    c3d = C3DFeatures(weights_dir=folder)
    for i, video in enumerate(videos):  # 64×64 (batch of 2) and a non-square 48×80 clip
        feats, logits = c3d.features_and_logits(video)
        for ours, name in ((feats, f"fc7_{i}"), (logits, f"logits_{i}")):
            ref = golden[name].astype(np.float64)
            rel = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
            assert rel < 1e-4, f"{name}: relative L2 error {rel:.2e}"
        assert feats.shape == (video.shape[0], 4096) and logits.shape == (video.shape[0], 101)
        assert (feats >= 0).all()  # fc7 after its ReLU


def test_float_input_uses_tgan2_scaling(release):
    """'-1-1' input x enters as 128·x + 128 (TGANv2's pre + mean layers), uint8 v as v."""
    folder, videos, _, _ = release
    mean = read_mean(folder / MEAN_FILE)
    v = videos[1]
    x = (v.astype(np.float32) - 128.0) / 128.0  # TGANv2's dataset scaling; within [-1, 1]
    assert torch.allclose(preprocess(x, mean, "-1-1"), preprocess(v, mean), atol=1e-4)


def test_resize_matches_torch_align_corners():
    frames = torch.rand(2, 5, 48, 80, 3, generator=torch.Generator().manual_seed(0)) * 255
    ours = resize_bilinear_align_corners(frames, (112, 112))
    ref = torch.nn.functional.interpolate(frames.flatten(0, 1).permute(0, 3, 1, 2), (112, 112),
                                          mode="bilinear", align_corners=True)
    assert torch.allclose(ours.flatten(0, 1).permute(0, 3, 1, 2), ref, atol=1e-3)


def test_wrong_frame_count_is_refused(release):
    folder, _, _, _ = release
    mean = read_mean(folder / MEAN_FILE)
    with pytest.raises(InputError, match="exactly 16 frames"):
        preprocess(np.zeros((1, 15, 64, 64, 3), np.uint8), mean)


def test_loader_refuses_wrong_keys_and_shapes(tmp_path):
    small = {k: np.zeros(shape if k.startswith("conv1a") else (1,), np.float32)
             for k, shape in expected_shapes().items()}
    bad = dict(small)
    del bad["fc8/b"]
    np.savez(tmp_path / "missing.npz", **bad)
    with pytest.raises(InputError, match=r"missing\.npz: not TGANv2's C3D weights.*fc8/b"):
        read_c3d_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "shape.npz", **small)  # conv1a is right; conv2a/W comes next
    with pytest.raises(InputError, match=r"shape\.npz: conv2a/W is float32 \(1,\), expected"):
        read_c3d_npz(tmp_path / "shape.npz")
    ints = dict(small, **{"conv1a/b": np.zeros(64, np.int64)})
    np.savez(tmp_path / "ints.npz", **ints)
    with pytest.raises(InputError, match=r"conv1a/b is int64 \(64,\), expected float"):
        read_c3d_npz(tmp_path / "ints.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="junk.npz: cannot read"):
        read_c3d_npz(tmp_path / "junk.npz")


def test_mean_file_is_checked(tmp_path):
    np.savez(tmp_path / MEAN_FILE, mean=np.zeros((3, 16, 112, 112), np.float32))
    with pytest.raises(InputError, match=r"mean2\.npz: 'mean' must be \[3, 16, H, W\]"):
        read_mean(tmp_path / MEAN_FILE)
    np.savez(tmp_path / MEAN_FILE, average=np.zeros((3, 16, 128, 171), np.float32))
    with pytest.raises(InputError, match="has no 'mean' array"):
        read_mean(tmp_path / MEAN_FILE)
    np.savez(tmp_path / MEAN_FILE, mean=np.full((3, 16, 128, 171), np.nan, np.float32))
    with pytest.raises(InputError, match="finite floats"):
        read_mean(tmp_path / MEAN_FILE)


def test_missing_files_name_what_to_put_where(tmp_path):
    with pytest.raises(WeightsUnavailableError) as err:
        load_c3d(tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and MODEL_FILE in msg and MEAN_FILE in msg
    assert "releases/download" in msg and "vdbench weights fetch c3d" in msg
