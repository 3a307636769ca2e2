"""The shared reader interface: seeded clip and window choice, batching, the generic readers."""

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import (
    _splitmix64, choose_indices, seeded_hash, window_start)
from vdbench.protocols.datasets.generic import ArrayVideos, open_videos
from tests.videos import random_videos, write_video


def test_splitmix64_matches_the_reference_generator():
    # Outputs of Vigna's splitmix64.c seeded with 1234567 (state += golden gamma, then mix).
    gamma = 0x9E3779B97F4A7C15
    states = np.array([(1234567 + n * gamma) % 2**64 for n in range(3)], dtype=np.uint64)
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423]
    assert [int(v) for v in _splitmix64(states)] == expected


def test_seeded_hash_broadcasts_like_scalar_calls():
    many = seeded_hash(7, 2, np.arange(5), 0)
    assert [int(v) for v in many] == [int(seeded_hash(7, 2, i, 0)) for i in range(5)]
    assert int(seeded_hash(7, 2, 1, 0)) != int(seeded_hash(8, 2, 1, 0))


def test_choice_without_replacement_is_sorted_unique_and_nested():
    small, large = choose_indices(1000, 16, seed=5), choose_indices(1000, 400, seed=5)
    assert np.all(np.diff(large) > 0) and len(large) == 400
    assert set(small) <= set(large)  # a quick run's clips are among a paper run's
    assert not np.array_equal(small, choose_indices(1000, 16, seed=6))
    assert np.array_equal(choose_indices(10, None, seed=5), np.arange(10))
    assert np.array_equal(choose_indices(10, 3, seed=None), np.arange(3))


def test_choice_with_replacement_repeats_and_covers():
    draws = choose_indices(20, 2000, seed=1, replace=True)
    assert len(draws) == 2000 and draws.min() >= 0 and draws.max() < 20
    counts = np.bincount(draws, minlength=20)
    assert counts.min() > 60 and counts.max() < 140  # ~100 each; all indices reachable


def test_choice_errors():
    with pytest.raises(InputError, match="5 clips requested.*has 4"):
        choose_indices(4, 5, seed=0)
    with pytest.raises(InputError, match="needs a seed"):
        choose_indices(4, 5, seed=None, replace=True)


def test_window_starts_cover_the_range_uniformly():
    starts = [window_start(30, 16, seed=3, index=i) for i in range(3000)]
    assert min(starts) == 0 and max(starts) == 14
    counts = np.bincount(starts, minlength=15)
    assert counts.min() > 140 and counts.max() < 260  # 200 expected per start
    assert window_start(30, 16, seed=None, index=9) == 0
    assert window_start(16, 16, seed=3, index=9) == 0


@pytest.fixture
def array_dataset(tmp_path):
    videos = random_videos(12, t=20, h=8, w=8, seed=1)
    np.save(tmp_path / "v.npy", videos)
    return ArrayVideos(tmp_path / "v.npy"), videos


def test_selection_windows_are_slices_of_the_chosen_videos(array_dataset):
    dataset, videos = array_dataset
    selection = dataset.select(5, frames=16, seed=11)
    assert len(selection) == 5
    for k, i in enumerate(selection.indices):
        start = window_start(20, 16, 11, int(i))
        np.testing.assert_array_equal(selection.clip(k), videos[i, start:start + 16])
    assert len({window_start(20, 16, 11, int(i)) for i in range(12)}) > 1


def test_selection_batches_do_not_depend_on_batch_size(array_dataset):
    dataset, _ = array_dataset
    selection = dataset.select(7, frames=9, seed=2)
    one = np.concatenate(list(selection.batches(1)))
    three = list(selection.batches(3))
    assert [b.shape[0] for b in three] == [3, 3, 1]
    np.testing.assert_array_equal(one, np.concatenate(three))
    np.testing.assert_array_equal(one, np.stack([selection.clip(k) for k in range(7)]))


def test_duplicate_draws_get_their_own_windows(array_dataset):
    dataset, _ = array_dataset
    selection = dataset.select(200, frames=4, seed=0, replace=True)
    clips = np.stack(list(selection.iter_clips(range(len(selection)))))
    first = {}
    differing = 0
    for k, i in enumerate(selection.indices):
        if i in first:
            differing += not np.array_equal(clips[k], clips[first[i]])
        first.setdefault(i, k)
    assert differing > 0


def test_selection_errors_name_the_dataset(array_dataset):
    dataset, _ = array_dataset
    with pytest.raises(InputError, match=r"v\.npy: 13 clips requested.*has 12"):
        dataset.select(13)
    with pytest.raises(InputError, match="has 20 frames, 21 needed"):
        dataset.select(2, frames=21).clip(0)
    with pytest.raises(InputError, match="seed must be >= 0"):
        dataset.select(2, seed=-1)
    with pytest.raises(IndexError):
        dataset.clip(12)


def test_file_videos_fit_and_batch(tmp_path):
    frames = np.zeros((6, 48, 80, 3), np.uint8)
    frames[..., 0] = 200
    for n in range(3):
        write_video(tmp_path / f"{n}.mp4", frames)
    dataset = open_videos(tmp_path, size=32)
    assert len(dataset) == 3
    clip = dataset.clip(1)
    assert clip.shape == (6, 32, 32, 3) and clip.dtype == np.uint8
    assert abs(float(clip[..., 0].mean()) - 200) < 4
    assert [b.shape for b in dataset.batches(2)] == [(2, 6, 32, 32, 3), (1, 6, 32, 32, 3)]


def test_open_videos_rejects_wrong_array_resolution(tmp_path):
    np.save(tmp_path / "v.npy", random_videos(2, t=4, h=8, w=8))
    with pytest.raises(InputError, match="videos are 8x8, expected 64x64"):
        open_videos(tmp_path / "v.npy", size=64)


def test_frameskip_one_is_the_original_window(array_dataset):
    dataset, videos = array_dataset
    plain, skip1 = dataset.select(6, frames=5, seed=4), dataset.select(6, frames=5, seed=4,
                                                                       frameskip=1)
    np.testing.assert_array_equal(np.concatenate(list(plain.batches(4))),
                                  np.concatenate(list(skip1.batches(4))))
    for k, i in enumerate(plain.indices):  # the start as hashed before frameskip existed
        start = int(seeded_hash(4, 2, int(i), 0) % np.uint64(20 - 5 + 1))
        np.testing.assert_array_equal(plain.clip(k), videos[i, start:start + 5])


def test_frameskip_windows_are_strided_slices(array_dataset):
    dataset, videos = array_dataset
    selection = dataset.select(12, frames=4, seed=9, frameskip=5)  # span 16 of 20 frames
    for k, i in enumerate(selection.indices):
        start = window_start(20, 4, 9, int(i), frameskip=5)
        np.testing.assert_array_equal(selection.clip(k), videos[i, start:start + 16:5])
    whole = dataset.select(2, frameskip=3)
    np.testing.assert_array_equal(whole.clip(1), videos[1, ::3])
    assert selection.describe()["frameskip"] == 5


def test_frameskip_starts_cover_exactly_the_valid_starts():
    starts = [window_start(30, 4, seed=3, index=i, frameskip=4) for i in range(2000)]
    assert min(starts) == 0 and max(starts) == 30 - 13  # span (4 - 1) * 4 + 1 = 13
    assert window_start(13, 4, seed=3, index=5, frameskip=4) == 0


@pytest.mark.parametrize("frameskip", [0, -2, 1.5, True, "2"])
def test_frameskip_must_be_a_positive_integer(array_dataset, frameskip):
    with pytest.raises(InputError, match="frameskip must be an integer >= 1"):
        array_dataset[0].select(2, frames=4, frameskip=frameskip)


def test_frameskip_span_longer_than_the_video(array_dataset):
    with pytest.raises(InputError, match=r"has 20 frames, 22 needed \(4 at frameskip 7\)"):
        array_dataset[0].select(2, frames=4, frameskip=7).clip(0)
