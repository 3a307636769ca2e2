"""Kinetics-600 reader on a tiny copy in the real layout: mp4 clips written with PyAV, named
{youtube_id}_{start:06d}_{end:06d}.mp4 (flat or under label folders), and the official CSVs."""

import csv
from pathlib import Path

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import open_dataset
from vdbench.protocols.datasets.base import window_start
from vdbench.protocols.datasets.generic import decode_video
from vdbench.protocols.datasets.kinetics import Kinetics600Clips, clip_stem, open_kinetics600
from vdbench.protocols.datasets.spatial import fit_frames
from tests.videos import write_video

ROWS = [  # label, youtube_id, time_start, time_end, split
    ("playing guitar", "-abc_DEF123", 16, 26, "test"),
    ("playing guitar", "zz9", 0, 10, "test"),
    ("yoga", "Yq-0_1", 125, 135, "test"),
    ("yoga", "gone00", 3, 13, "test"),  # not downloaded: YouTube took it down
    ("yoga", "train1", 30, 40, "train"),
]


def _frames(n: int, seed: int, h: int = 72, w: int = 128) -> np.ndarray:
    """Flat 8x8 colour blocks of 16x16 pixels in the centre, bright 28-column side bands."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 216, (n, h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(blocks, 16, axis=1), 16, axis=2)[:, :h, :w].copy()
    frames[:, :, :28] = 255
    frames[:, :, -28:] = 255
    return frames


def _write_csv(path: Path, rows, columns=("label", "youtube_id", "time_start", "time_end",
                                          "split")) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row[:len(columns)] if columns[0] == "label" else row[1:])
    return path


@pytest.fixture(scope="module")
def kinetics(tmp_path_factory):
    root = tmp_path_factory.mktemp("k600")
    for n, (label, yid, start, end, _) in enumerate(ROWS):
        if yid == "gone00":
            continue
        folder = root / "videos" / label if n % 2 == 0 else root / "videos"  # mixed layouts
        folder.mkdir(parents=True, exist_ok=True)
        write_video(folder / f"{clip_stem(yid, start, end)}.mp4", _frames(20 + n, seed=n))
    _write_csv(root / "test.csv", ROWS)
    return root


def test_present_clips_of_the_split_in_csv_order(kinetics):
    dataset = open_kinetics600(kinetics / "videos", annotations=kinetics / "test.csv")
    assert len(dataset) == 3 and dataset.missing == 1
    assert [p.name for p in dataset.files] == [
        "-abc_DEF123_000016_000026.mp4", "zz9_000000_000010.mp4", "Yq-0_1_000125_000135.mp4"]
    assert dataset.labels == ["playing guitar", "playing guitar", "yoga"]
    assert dataset.describe()["missing"] == 1
    train = Kinetics600Clips(kinetics / "videos", kinetics / "test.csv", split="train")
    assert [p.name for p in train.files] == ["train1_000030_000040.mp4"]


def test_clips_are_centre_crops_at_64(kinetics):
    dataset = Kinetics600Clips(kinetics / "videos", kinetics / "test.csv")
    clip = dataset.clip(2)
    assert clip.dtype == np.uint8 and clip.shape == (22, 64, 64, 3)
    np.testing.assert_array_equal(clip, fit_frames(decode_video(dataset.files[2]), 64, "crop"))
    assert clip[:, :, :3].mean() < 230  # the 72x72 centre of 128 columns: bands cut off
    original = fit_frames(_frames(22, seed=2), 64, "crop")
    assert np.abs(clip.astype(int) - original).mean() < 8  # lossy codec; RGB/BGR gives ~40


def test_paper_protocol_same_window_for_conditioning_and_truth(kinetics):
    dataset = open_dataset("kinetics600", kinetics / "videos", "test",
                           annotations=kinetics / "test.csv")
    truth = dataset.select(2, frames=16, seed=7)
    again = dataset.select(2, frames=16, seed=7)
    np.testing.assert_array_equal(truth.indices, again.indices)
    clips = np.concatenate(list(truth.batches(2)))
    np.testing.assert_array_equal(clips, np.stack([again.clip(k) for k in range(2)]))
    for k, i in enumerate(truth.indices):
        full = dataset.clip(int(i))
        start = window_start(len(full), 16, 7, int(i))
        np.testing.assert_array_equal(clips[k], full[start:start + 16])
        np.testing.assert_array_equal(clips[k, :5], full[start:start + 5])  # the 5 context frames
    other = dataset.select(2, frames=16, seed=8, replace=True)  # the "different seed" variant
    assert len(other) == 2 and other.indices.max() < 3


def test_annotations_found_beside_the_clips_and_test_csv_without_labels(kinetics, tmp_path):
    root = tmp_path / "k600"
    (root / "test").mkdir(parents=True)
    for path in (kinetics / "videos").rglob("zz9_*.mp4"):
        (root / "test" / path.name).write_bytes(path.read_bytes())
    _write_csv(root / "test.csv", ROWS, columns=("youtube_id", "time_start", "time_end",
                                                 "split"))
    dataset = open_kinetics600(root)
    assert len(dataset) == 1 and dataset.missing == 3 and dataset.labels == [""]


def test_missing_data_and_bad_csv(kinetics, tmp_path):
    with pytest.raises(InputError, match=r"nowhere: no such folder.*test\.csv.*kinetics600\.tar"
                                         r"\.gz.*cvdfoundation"):
        open_kinetics600(tmp_path / "nowhere")
    with pytest.raises(InputError, match=r"no annotation CSV; expected one of .*test\.csv"):
        open_kinetics600(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("label,video,start\nyoga,abc,1\n")
    with pytest.raises(InputError, match=r"bad\.csv: not a Kinetics annotation CSV; columns "
                                         r"\['youtube_id', 'time_start', 'time_end'\] missing"):
        Kinetics600Clips(kinetics / "videos", bad)
    with pytest.raises(InputError, match=r"none of the 4 clips of test\.csv is there, e\.g\. "
                                         r"-abc_DEF123_000016_000026\.mp4"):
        Kinetics600Clips(tmp_path, kinetics / "test.csv")


def test_too_few_clips_and_frames(kinetics):
    dataset = Kinetics600Clips(kinetics / "videos", kinetics / "test.csv")
    with pytest.raises(InputError, match=r"kinetics600 test .*50000 clips requested.*has 3"):
        dataset.select(50_000, frames=16, seed=0)
    with pytest.raises(InputError, match=r"zz9_000000_000010\.mp4: has 21 frames, 40 needed"):
        dataset.select(frames=40).clip(1)
