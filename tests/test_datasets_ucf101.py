"""UCF101 readers on tiny datasets in the real formats: a UCF-101/ tree of .avi files written with
PyAV beside official-style split lists, and a TFDS ucf101 dataset in its on-disk format."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from vdbench.engine.protocol_data import open_protocol_data
from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import open_dataset
from vdbench.protocols.datasets.base import choose_indices, window_start
from vdbench.protocols.registry import get_protocol
from vdbench.protocols.datasets.generic import decode_video
from vdbench.protocols.datasets.spatial import fit_frames
from vdbench.protocols.datasets.ucf101 import UCF101Videos, open_ucf101, ucf101_tfds
from tests.videos import write_video

CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
TRAIN = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "YoYo/v_YoYo_g09_c02.avi",
         "HandstandPushups/v_HandStandPushups_g08_c01.avi"]
TEST = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", "YoYo/v_YoYo_g01_c03.avi"]


def _frames(n: int, seed: int, h: int = 72, w: int = 96) -> np.ndarray:
    """Flat 24x24-pixel blocks (which the codec keeps), with bright 12-column side bands."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 216, (n, -(-h // 24), -(-w // 24), 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(blocks, 24, axis=1), 24, axis=2)[:, :h, :w].copy()
    frames[:, :, :12] = 255
    frames[:, :, -12:] = 255
    return frames


def _write_lists(lists: Path, train: list[str], test: list[str]) -> None:
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text("".join(f"{n} {c}\n" for n, c in enumerate(CLASSES, 1)))
    label = {c: n for n, c in enumerate(CLASSES, 1)}
    (lists / "trainlist01.txt").write_text(
        "".join(f"{e} {label[e.split('/')[0]]}\n" for e in train))
    (lists / "testlist01.txt").write_text("".join(f"{e}\n" for e in test))


@pytest.fixture(scope="module")
def ucf_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("ucf")
    for n, entry in enumerate(TRAIN + TEST):
        folder, name = entry.split("/")
        name = name.replace("HandStandPushups", "HandstandPushups")  # the archive's spelling
        (root / "UCF-101" / folder).mkdir(parents=True, exist_ok=True)
        write_video(root / "UCF-101" / folder / name, _frames(18 + n, seed=n))
    _write_lists(root / "ucfTrainTestlist", TRAIN, TEST)
    return root


def test_splits_follow_the_official_lists(ucf_tree):
    train, test = UCF101Videos(ucf_tree, "train"), UCF101Videos(ucf_tree, "test")
    every = open_dataset("ucf101", ucf_tree, "all")
    assert (len(train), len(test), len(every)) == (3, 2, 5)
    assert [p.name for p in train.files] == [
        "v_ApplyEyeMakeup_g08_c01.avi", "v_YoYo_g09_c02.avi", "v_HandstandPushups_g08_c01.avi"]
    assert [train.label(i) for i in range(3)] == [0, 2, 1]
    assert every.files == train.files + test.files


@pytest.mark.parametrize("fit", ["squash", "crop"])
def test_clips_are_the_decoded_frames_fitted_to_64(ucf_tree, fit):
    dataset = UCF101Videos(ucf_tree, "train", fit=fit)
    clip = dataset.clip(1)
    assert clip.dtype == np.uint8 and clip.shape == (19, 64, 64, 3)
    np.testing.assert_array_equal(clip, fit_frames(decode_video(dataset.files[1]), 64, fit))
    original = fit_frames(_frames(19, seed=1), 64, fit)  # what was encoded, before the codec
    assert np.abs(clip.astype(int) - original).mean() < 8  # lossy codec; RGB/BGR gives ~40
    assert dataset.describe()["fit"] == fit


def test_the_default_fit_is_the_papers_tfds_squash(ucf_tree):
    assert UCF101Videos(ucf_tree, "test").fit == "squash"
    assert open_dataset("ucf101", ucf_tree, "test").describe()["fit"] == "squash"


def test_crop_drops_the_side_bands_and_squash_keeps_them(ucf_tree):
    cropped = UCF101Videos(ucf_tree, "test", fit="crop").clip(0)
    squashed = UCF101Videos(ucf_tree, "test", fit="squash").clip(0)
    assert cropped[:, :, :4].mean() < 230  # 72x72 centre of 96 columns: bands cut off
    assert squashed[:, :, :4].mean() > 245


def test_protocol_windows_are_seeded_and_reproducible(ucf_tree):
    first = UCF101Videos(ucf_tree, "all").select(4, frames=16, seed=9)
    again = UCF101Videos(ucf_tree, "all").select(4, frames=16, seed=9)
    np.testing.assert_array_equal(first.indices, again.indices)
    batches = list(first.batches(3))
    assert [b.shape for b in batches] == [(3, 16, 64, 64, 3), (1, 16, 64, 64, 3)]
    np.testing.assert_array_equal(np.concatenate(batches), np.stack(list(again.batches(4)))[0])


def test_missing_data_says_what_to_place_where(tmp_path, ucf_tree):
    with pytest.raises(InputError, match=r"nowhere: no such folder; expected .*UCF-101/<Class>"
                                         r"/\*\.avi.*UCF101\.rar.*RecognitionTask\.zip"):
        open_ucf101(tmp_path / "nowhere")
    (tmp_path / "UCF-101" / "YoYo").mkdir(parents=True)
    write_video(tmp_path / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi", _frames(4, 0))
    with pytest.raises(InputError, match="ucfTrainTestlist/ not found"):
        open_ucf101(tmp_path)
    _write_lists(tmp_path / "ucfTrainTestlist", TRAIN, TEST)
    with pytest.raises(InputError, match="3 videos of the train list 1 are missing, e.g. "
                                         "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"):
        open_ucf101(tmp_path)
    with pytest.raises(InputError, match="trainlist02.txt: split list not found"):
        open_ucf101(ucf_tree, "train", fold=2)


def test_small_and_corrupt_videos_name_the_file(tmp_path):
    (tmp_path / "UCF-101" / "YoYo").mkdir(parents=True)
    write_video(tmp_path / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi", _frames(4, 0, h=40, w=48))
    (tmp_path / "UCF-101" / "YoYo" / "v_YoYo_g02_c01.avi").write_bytes(b"RIFF\x00junk" * 50)
    _write_lists(tmp_path / "ucfTrainTestlist", [], ["YoYo/v_YoYo_g01_c01.avi",
                                                     "YoYo/v_YoYo_g02_c01.avi"])
    dataset = open_ucf101(tmp_path, "test")
    with pytest.raises(InputError, match=r"v_YoYo_g01_c01.avi: frames are 40x48, smaller"):
        dataset.clip(0)
    with pytest.raises(InputError, match=r"v_YoYo_g02_c01.avi: cannot decode video"):
        dataset.clip(1)


def test_too_few_frames_or_videos_for_the_protocol(ucf_tree):
    dataset = UCF101Videos(ucf_tree, "test")
    with pytest.raises(InputError, match=r"v_ApplyEyeMakeup_g01_c01.avi: has 21 frames, 30 "):
        dataset.select(frames=30).clip(0)
    with pytest.raises(InputError, match=r"ucf101 test fold 1 .*10 clips requested.*has 2"):
        dataset.select(10, frames=16, seed=0)


# --- TFDS ucf101 (config ucf101_1_256) in TFDS's on-disk format --------------------------------

def _tfds_examples(n: int, seed: int) -> list[tuple[str, dict]]:
    rng = np.random.default_rng(seed)
    return [(f"v_{seed}_{i}.avi", {"video": np.repeat(np.repeat(
        rng.integers(0, 256, (int(t), 4, 4, 3), dtype=np.uint8), 64, 1), 64, 2),
        "label": int(rng.integers(0, 101))}) for i, t in enumerate(rng.integers(16, 20, n))]


@pytest.fixture(scope="module")
def ucf_tfds(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    # The real builder's features (256x256 jpeg-encoded video, 101 labels); its download step is
    # replaced by writing our examples with TFDS's own writer.
    features = tfds.builder("ucf101/ucf101_1_256", data_dir=str(data_dir)).info.features
    splits = {"train": _tfds_examples(3, 1), "test": _tfds_examples(2, 2)}
    tfds.dataset_builders.store_as_tfds_dataset(
        name="ucf101", version="2.0.0", features=features, config="ucf101_1_256",
        split_datasets=splits, data_dir=str(data_dir))
    return data_dir, splits


def _blocks(video: np.ndarray) -> np.ndarray:
    return video[:, 8::16, 8::16].astype(int)  # one pixel per 16x16 block at 64x64


def test_tfds_videos_fitted_to_64(ucf_tfds):
    data_dir, splits = ucf_tfds
    dataset = open_ucf101(data_dir, "train")
    assert len(dataset) == 3
    expected = {len(e["video"]): _blocks(fit_frames(e["video"], 64)) for _, e in splits["train"]}
    for i in range(3):
        clip = dataset.clip(i)
        assert clip.dtype == np.uint8 and clip.shape[1:] == (64, 64, 3)
        assert np.abs(_blocks(clip) - expected[len(clip)]).max() < 12  # jpeg-stored frames


def test_tfds_all_is_train_then_test(ucf_tfds):
    data_dir, _ = ucf_tfds
    every, train, test = (ucf101_tfds(data_dir, s) for s in ("train+test", "train", "test"))
    assert len(every) == 5
    streamed = list(every.iter_clips(range(5)))  # one pass over each part
    parts = list(train.iter_clips(range(3))) + list(test.iter_clips(range(2)))
    for got, expected in zip(streamed, parts, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(every.clip(3), parts[3])  # random access across the union
    windows = open_ucf101(data_dir, "all").select(frames=16, seed=1)
    assert np.concatenate(list(windows.batches(2))).shape == (5, 16, 64, 64, 3)


def test_tfds_missing_config_names_the_expected_folder(tmp_path):
    with pytest.raises(InputError, match=r"ucf101/ucf101_1_256/<version>/dataset_info.json.*"
                                         r"tfds build ucf101 --config ucf101_1_256"):
        ucf101_tfds(tmp_path)


# --- the ucf101 paper protocol: all 13,320 videos, frames squashed as TFDS does ----------------

@pytest.fixture(scope="module")
def full_size_index(tmp_path_factory):
    """The release's shape without its bytes: 13,320 empty .avi files in 101 class folders and
    fold-1 lists of 9,537 train + 3,783 test videos. Empty files cannot be decoded, so whatever
    works on this tree reads no video."""
    root = tmp_path_factory.mktemp("ucf-index")
    classes = [f"Class{c:03d}" for c in range(101)]
    entries = [f"{classes[k % 101]}/v_{classes[k % 101]}_g{k // 101 // 7 + 1:02d}_c"
               f"{k // 101 % 7 + 1:02d}.avi" for k in range(13_320)]
    for c in classes:
        (root / "UCF-101" / c).mkdir(parents=True)
    for entry in entries:
        (root / "UCF-101" / entry).touch()
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("".join(f"{n} {c}\n" for n, c in enumerate(classes, 1)))
    (lists / "trainlist01.txt").write_text("".join(f"{e} 1\n" for e in entries[:9_537]))
    (lists / "testlist01.txt").write_text("".join(f"{e}\n" for e in entries[9_537:]))
    return root, entries


def test_paper_preset_draws_10000_clips_from_all_13320_videos(full_size_index):
    root, entries = full_size_index
    protocol = get_protocol("ucf101")
    assert (protocol.split, protocol.fit, protocol.num_clips) == ("all", "squash", 10_000)
    clips, truth = open_protocol_data(protocol, str(root))
    assert truth is clips and len(clips) == 10_000
    indices = clips.indices
    assert len(set(indices.tolist())) == 10_000 and 0 <= indices.min() and indices.max() < 13_320
    assert indices.tolist() == choose_indices(13_320, 10_000, protocol.seed).tolist()
    described = clips.describe()
    assert (described["split"], described["videos"], described["fit"]) == ("all", 13_320,
                                                                          "squash")
    assert [clips.locate(k) for k in (0, 9_999)] == [
        str(root / "UCF-101" / entries[indices[0]]), str(root / "UCF-101" / entries[indices[-1]])]
    assert len(clips.fingerprint()) == 64  # 10,000 stats of empty files: nothing decoded
    # trainlist01 alone is 9,537 videos: too few for 10,000 clips without replacement
    with pytest.raises(InputError, match="10000 clips requested without replacement, the "
                                         "dataset has 9537"):
        open_protocol_data(dataclasses.replace(protocol, split="train"), str(root))


def _pil_fit(frame: np.ndarray, fit: str, size: int = 64) -> np.ndarray:
    """An independent square fit with PIL (antialiased bilinear): the whole frame (squash) or
    its centre square (crop)."""
    image = Image.fromarray(frame)
    if fit == "crop":
        h, w = frame.shape[:2]
        side = min(h, w)
        image = image.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2))
    return np.asarray(image.resize((size, size), Image.BILINEAR))


@pytest.fixture(scope="module")
def wide_tree(tmp_path_factory):
    """One 72x120 (5:3) video of 18 frames: squash and crop differ by a lot on it."""
    root = tmp_path_factory.mktemp("ucf-wide")
    (root / "UCF-101" / "YoYo").mkdir(parents=True)
    write_video(root / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi", _frames(18, seed=5, h=72,
                                                                           w=120))
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 YoYo\n")
    (lists / "trainlist01.txt").write_text("YoYo/v_YoYo_g01_c01.avi 1\n")
    (lists / "testlist01.txt").write_text("")
    return root


@pytest.mark.parametrize("fit", ["squash", "crop"])
def test_protocol_fit_squash_and_crop_against_pil(wide_tree, fit):
    protocol = dataclasses.replace(get_protocol("ucf101"), num_clips=1).with_fit(fit)
    assert protocol.preset == ("custom" if fit == "crop" else "paper")  # crop leaves the paper
    clips, _ = open_protocol_data(protocol, str(wide_tree))
    (clip,) = clips.batches(1)
    video = decode_video(wide_tree / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi")
    start = window_start(len(video), 16, protocol.seed, 0)  # the seeded window of video 0
    decoded = video[start:start + 16]
    expected = np.stack([_pil_fit(frame, fit) for frame in decoded])
    diff = np.abs(clip[0].astype(int) - expected)
    assert clip.shape == (1, 16, 64, 64, 3) and diff.max() <= 1 and diff.mean() < 0.2
    other = np.stack([_pil_fit(frame, "crop" if fit == "squash" else "squash")
                      for frame in decoded])
    assert np.abs(clip[0].astype(int) - other).mean() > 10  # the two fits really differ here
    assert clips.describe()["fit"] == fit  # in the data description: cache key and record


def test_fit_that_cannot_apply_is_refused():
    with pytest.raises(InputError, match="fit 'crop' does not apply to protocol bair"):
        get_protocol("bair").with_fit("crop")
    with pytest.raises(InputError, match="unknown fit 'stretch'"):
        dataclasses.replace(get_protocol("ucf101"), fit="stretch")
