"""Window reads of video files: one decoding pass, identical to decoding everything and slicing."""

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import files as files_module
from vdbench.protocols.datasets.files import VideoFiles, decode_window
from tests.videos import write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(0)
    paths = []
    for n, suffix in enumerate([".avi", ".mp4"]):
        blocks = rng.integers(0, 256, (23 + n, 5, 6, 3), dtype=np.uint8)
        frames = np.repeat(np.repeat(blocks, 16, axis=1), 16, axis=2)  # 80x96
        paths.append(write_video(folder / f"v{n}{suffix}", frames))
    return paths


@pytest.mark.parametrize("size", [None, 64])
def test_windows_equal_slices_of_the_whole_video(videos, size):
    dataset = VideoFiles(videos, size=size)
    for i in range(2):
        whole = dataset.clip(i)
        assert whole.shape[1:3] == ((80, 96) if size is None else (64, 64))
        for start in (0, 5, len(whole) - 16):
            window = dataset.read_window(i, 16, lambda length, s=start: s)
            np.testing.assert_array_equal(window, whole[start:start + 16])


def test_start_is_placed_from_the_true_frame_count(videos, monkeypatch):
    dataset = VideoFiles(videos)
    lengths = []

    def last_16(length):
        lengths.append(length)
        return length - 16

    whole = dataset.clip(1)
    for wrong in (len(whole) + 3, 4):  # a packet count that overstates, or is below 16
        lengths.clear()
        monkeypatch.setattr(files_module, "count_video_packets", lambda path, n=wrong: n)
        np.testing.assert_array_equal(dataset.read_window(1, 16, last_16), whole[-16:])
        assert lengths[-1] == len(whole)


def test_decode_window_counts_without_converting(videos):
    window, total = decode_window(videos[0], None, 16)
    assert window == [] and total == 23
    window, total = decode_window(videos[0], 20, 16)  # runs past the end: a short window
    assert len(window) == 3 and total == 23


def test_selection_uses_windows_and_reports_short_videos(videos):
    dataset = VideoFiles(videos)
    with pytest.raises(InputError, match=r"v0\.avi: has 23 frames, 24 needed"):
        list(dataset.select(frames=24, seed=1).batches(2))
    selection = dataset.select(frames=20, seed=3)
    np.testing.assert_array_equal(np.concatenate(list(selection.batches(2))),
                                  np.stack([selection.clip(k) for k in range(2)]))
