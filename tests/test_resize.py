"""Our TF1-convention bilinear resize against TensorFlow's own op."""

import numpy as np
import pytest
import torch

from vdbench.metrics.resize import resize_bilinear_tf1

import tensorflow as tf  # noqa: E402  (the `test` extra installs it)


@pytest.mark.parametrize(
    "in_hw,out_hw",
    [((64, 64), (224, 224)), ((48, 80), (224, 224)), ((300, 257), (224, 224)),
     ((7, 5), (3, 11)), ((224, 224), (224, 224))],
)
def test_matches_tf_compat_v1_resize_bilinear(in_hw, out_hw):
    rng = np.random.default_rng(sum(in_hw) + sum(out_hw))
    frames = rng.integers(0, 256, size=(3, *in_hw, 3), dtype=np.uint8)
    expect = tf.compat.v1.image.resize_bilinear(frames, out_hw, align_corners=False).numpy()
    ours = resize_bilinear_tf1(torch.from_numpy(frames), out_hw).numpy()
    assert ours.shape == expect.shape
    assert np.abs(ours - expect).max() <= 1e-3


def test_differs_from_half_pixel_convention():
    """A guard that the test above can fail: TF2's half-pixel resize gives other pixels."""
    frames = np.random.default_rng(0).integers(0, 256, size=(1, 64, 64, 3), dtype=np.uint8)
    half_pixel = tf.image.resize(frames, (224, 224), method="bilinear").numpy()
    ours = resize_bilinear_tf1(torch.from_numpy(frames), (224, 224)).numpy()
    assert np.abs(ours - half_pixel).max() > 10


def test_leading_dims_and_rank_check():
    x = torch.rand(2, 4, 8, 8, 3)
    assert resize_bilinear_tf1(x, (16, 12)).shape == (2, 4, 16, 12, 3)
    with pytest.raises(ValueError):
        resize_bilinear_tf1(torch.rand(8, 3), (4, 4))
