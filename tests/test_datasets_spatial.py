"""Fitting frames to 64x64: geometry of crop/squash, the filter against PIL, streaming decode."""

import numpy as np
import pytest
from PIL import Image

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.generic import decode_video
from vdbench.protocols.datasets.spatial import center_square, fit_frames, read_video
from tests.videos import write_video


def _pil_bilinear(frame: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((size, size), Image.BILINEAR))


@pytest.mark.parametrize("fit", ["crop", "squash"])
def test_filter_matches_pil_antialiased_bilinear(fit):
    frames = np.random.default_rng(0).integers(0, 256, (2, 240, 320, 3), dtype=np.uint8)
    ours = fit_frames(frames, 64, fit)
    source = frames[:, :, 40:280] if fit == "crop" else frames
    reference = np.stack([_pil_bilinear(f, 64) for f in source])
    diff = np.abs(ours.astype(int) - reference)
    assert ours.shape == (2, 64, 64, 3) and ours.dtype == np.uint8
    assert diff.max() <= 1 and diff.mean() < 0.2  # rounding differences only


def test_crop_keeps_the_centre_and_squash_keeps_the_borders():
    frames = np.full((1, 60, 80, 3), 100, np.uint8)
    frames[:, :, :10] = 255  # a bright band in the left 10 of 80 columns, outside the centre
    cropped, squashed = fit_frames(frames, 30, "crop"), fit_frames(frames, 30, "squash")
    assert cropped.max() == 100  # the centre 60x60 starts at column 10
    assert squashed[0, :, 0].min() == 255 and squashed[0, :, -1].max() == 100


def test_center_square_of_portrait_and_odd_margins():
    frames = np.arange(7 * 4).reshape(1, 7, 4, 1)
    assert center_square(frames)[0, :, :, 0].tolist() == frames[0, 1:5, :, 0].tolist()


def test_exact_size_passes_through_and_small_frames_are_refused():
    frames = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(fit_frames(frames, 64), frames)
    with pytest.raises(InputError, match="clip.avi: frames are 48x64, smaller than the 64x64"):
        fit_frames(frames[:, :48], 64, source="clip.avi")
    with pytest.raises(InputError, match="unknown fit"):
        fit_frames(frames, 32, fit="stretch")


def test_read_video_streams_like_decode_then_fit(tmp_path):
    rng = np.random.default_rng(2)
    frames = np.repeat(rng.integers(0, 256, (40, 6, 8, 3), dtype=np.uint8), 10, axis=1)
    frames = np.repeat(frames, 10, axis=2)  # 40 frames of 60x80 blocks (> one chunk of 32)
    path = write_video(tmp_path / "v.avi", frames)
    streamed = read_video(path, 32, "crop")
    np.testing.assert_array_equal(streamed, fit_frames(decode_video(path), 32, "crop"))
    assert streamed.shape == (40, 32, 32, 3)


def test_corrupt_video_is_an_input_error(tmp_path):
    path = tmp_path / "bad.avi"
    path.write_bytes(b"RIFF not really a video" * 10)
    with pytest.raises(InputError, match="bad.avi: cannot decode video"):
        read_video(path)


def test_long_videos_are_resized_in_chunks_like_frame_by_frame():
    frames = np.random.default_rng(3).integers(0, 256, (70, 66, 70, 3), dtype=np.uint8)
    whole = fit_frames(frames, 64, "squash")
    one_by_one = np.concatenate([fit_frames(f[None], 64, "squash") for f in frames])
    np.testing.assert_array_equal(whole, one_by_one)


def test_non_uint8_frames_are_refused():
    with pytest.raises(InputError, match="expected uint8 frames"):
        fit_frames(np.zeros((1, 64, 64, 3), np.float32), 32)
