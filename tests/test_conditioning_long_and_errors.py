"""Long-video window plans and the errors users see for bad conditioning input."""

import pytest
import torch

from vdbench.model.conditioning import (ClassifierFreeGuidance, FrameObservation,
                                        ReconstructionGuidance, check_video, condition,
                                        extension_windows, fill_video, interpolation_windows,
                                        window_seeds)
from vdbench.model.errors import ConditioningInputError
from vdbench.model.oracle import GaussianVideoOracle
from vdbench.model.samplers import PerSampleNoise, ancestral


def test_extension_windows():
    assert extension_windows(8, 8, 4) == [0]
    assert extension_windows(20, 8, 4) == [0, 4, 8, 12]
    assert extension_windows(21, 8, 4) == [0, 4, 8, 12, 13]  # last block shifted to end at 21
    assert extension_windows(16, 8, 2, given=1) == [0, 6, 8]  # BAIR-style: 1 given frame
    assert extension_windows(16, 8, 2, given=5) == [3, 8]


def test_interpolation_windows():
    assert interpolation_windows(15, 8, 3) == [0, 6, 7]
    assert interpolation_windows(22, 8, 3) == [0, 6, 12, 14]


def test_fill_video_conditions_each_window_on_what_exists():
    calls = []

    def fake(x_a, frames, index, start):
        calls.append((index, start, frames, x_a[0, 0, :, 0, 0].tolist()))
        return torch.arange(start, start + 4, dtype=torch.float64).reshape(1, 1, 4, 1, 1) + 100

    video = torch.zeros(1, 1, 10, 1, 1, dtype=torch.float64)
    video[0, 0, 0] = 7.0
    out = fill_video(fake, video=video, known=[True] + [False] * 9, window=4,
                     starts=extension_windows(10, 4, 2, given=1))
    assert calls[0] == (0, 0, [0], [7.0])
    assert calls[1] == (1, 2, [0, 1], [102.0, 103.0])  # context = last 2 generated frames
    assert out[0, 0, :, 0, 0].tolist() == [7.0] + [100.0 + i for i in range(1, 10)]


def test_autoregressive_oracle_extension_keeps_context_and_is_seeded():
    oracle = GaussianVideoOracle.power_law()
    seeds = [3, 4]

    def window(x_a, frames, index, start):
        denoiser, replace = (oracle, None) if not frames else condition(
            oracle, method="reconstruction", x_a=x_a, frames=frames, w_r=2.0)
        noise = PerSampleNoise(window_seeds(seeds, index), oracle.shape)
        return ancestral(denoiser, noise=noise, steps=4, replace=replace)

    video = torch.zeros(2, 3, 14, 8, 8, dtype=torch.float64)
    out = fill_video(window, video=video, known=[False] * 14, window=8,
                     starts=extension_windows(14, 8, 4))
    again = fill_video(window, video=video, known=[False] * 14, window=8,
                       starts=extension_windows(14, 8, 4))
    assert torch.equal(out, again) and out[:, :, 8:].abs().sum() > 0
    assert window_seeds([3], 1) != window_seeds([3], 2) != window_seeds([4], 1)


def test_bad_window_plans():
    with pytest.raises(ConditioningInputError, match="context"):
        extension_windows(20, 8, 8)
    with pytest.raises(ConditioningInputError, match="context"):
        extension_windows(20, 8, 0)
    with pytest.raises(ConditioningInputError, match="shorter"):
        extension_windows(6, 8, 4)
    with pytest.raises(ConditioningInputError, match="nothing to generate"):
        extension_windows(16, 8, 4, given=16)
    with pytest.raises(ConditioningInputError, match="stride"):
        interpolation_windows(16, 8, 8)


@pytest.mark.parametrize("video, kwargs, match", [
    (torch.zeros(3, 8, 8, 8), {}, r"\[B, C, T, H, W\]"),
    (torch.zeros(1, 3, 2, 4, 4), {}, "4x4"),
    (torch.zeros(1, 1, 2, 8, 8), {}, "1 channels"),
    (torch.zeros(1, 3, 2, 8, 8), {"frames": 3}, "2 frames"),
    (torch.full((1, 3, 2, 8, 8), float("nan")), {}, "NaN"),
    (torch.full((1, 3, 2, 8, 8), 255.0), {"value_range": (-1.0, 1.0)}, "outside"),
])
def test_bad_conditioning_video(video, kwargs, match):
    with pytest.raises(ConditioningInputError, match=match):
        check_video(video, what="context", channels=3, size=(8, 8), **kwargs)


def test_bad_conditioning_options():
    oracle = GaussianVideoOracle.power_law()
    x_a = torch.zeros(1, 3, 2, 8, 8, dtype=torch.float64)
    with pytest.raises(ConditioningInputError, match="w_r"):
        condition(oracle, method="reconstruction", x_a=x_a, frames=[0, 1], w_r=-0.5)
    with pytest.raises(ConditioningInputError, match="w_r"):
        ReconstructionGuidance(oracle, [FrameObservation(x_a, (0, 1))], w_r=-1)
    with pytest.raises(ConditioningInputError, match="unknown conditioning"):
        condition(oracle, method="inpaint", x_a=x_a, frames=[0, 1])
    with pytest.raises(ConditioningInputError, match="needs a condition"):
        ClassifierFreeGuidance(oracle, 1.0)(x_a, torch.zeros(1, dtype=torch.float64), None)


@pytest.mark.parametrize("frames, x_frames, match", [
    ([0, 9], 2, "distinct indices"), ([1, 1], 2, "distinct indices"),
    (list(range(8)), 8, "frames to spare"), ([0, 1], 3, "3 frames"),
])
def test_bad_known_frames_are_caught_when_sampling(frames, x_frames, match):
    oracle = GaussianVideoOracle.power_law()
    x_a = torch.zeros(1, 3, x_frames, 8, 8, dtype=torch.float64)
    denoiser, replace = condition(oracle, method="replacement", x_a=x_a, frames=frames)
    with pytest.raises(ConditioningInputError, match=match):
        ancestral(denoiser, noise=PerSampleNoise([0], oracle.shape), steps=2, replace=replace)
