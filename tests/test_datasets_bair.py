"""BAIR readers on tiny datasets in the real formats: softmotion30_44k TFRecords written with
TensorFlow, and the TFDS dataset built from them by TFDS's own bair_robot_pushing_small builder."""

import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import open_dataset
from vdbench.protocols.datasets.bair import BairTFRecords, bair_tfds, open_bair
from vdbench.protocols.datasets.tfrecord import example_bytes_features, index_records

def _bytes(value: bytes):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _floats(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def bair_example(video: np.ndarray) -> bytes:
    """One trajectory as softmotion30_44k stores it: both cameras, actions, positions."""
    feature = {}
    for t, frame in enumerate(video):
        feature[f"{t}/image_aux1/encoded"] = _bytes(frame.tobytes())
        feature[f"{t}/image_main/encoded"] = _bytes(frame[::-1].tobytes())
        feature[f"{t}/action"] = _floats([0.5, -1.0, 2.0, 3.0])
        feature[f"{t}/endeffector_pos"] = _floats([0.1, 0.2, 0.3])
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_bair(folder: Path, videos: np.ndarray, per_file: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for start in range(0, len(videos), per_file):
        stop = min(start + per_file, len(videos))
        path = folder / f"traj_{start}_to_{stop - 1}.tfrecords"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for video in videos[start:stop]:
                writer.write(bair_example(video))
        paths.append(path)
    return paths


def bair_videos(n: int, frames: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, frames, 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def raw_bair(tmp_path_factory):
    root = tmp_path_factory.mktemp("bair")
    test, train = bair_videos(5, seed=1), bair_videos(3, seed=2)
    # 5 test videos over 3 files: traj_0_to_1, traj_2_to_3, traj_4_to_4.
    write_bair(root / "softmotion30_44k" / "test", test)
    write_bair(root / "softmotion30_44k" / "train", train, per_file=3)
    return root, test, train


def test_raw_tfrecords_read_back_exactly(raw_bair):
    root, test, train = raw_bair
    dataset = open_bair(root, "test")
    assert isinstance(dataset, BairTFRecords) and len(dataset) == 5
    for i in (0, 3, 4):
        clip = dataset.clip(i)
        assert clip.dtype == np.uint8 and clip.shape == (30, 64, 64, 3)
        np.testing.assert_array_equal(clip, test[i])
    np.testing.assert_array_equal(np.concatenate(list(dataset.batches(2))), test)
    np.testing.assert_array_equal(open_bair(root, "train").clip(2), train[2])


def test_raw_files_are_ordered_by_trajectory_number(tmp_path):
    videos = bair_videos(12, frames=2)
    write_bair(tmp_path / "test", videos, per_file=5)  # traj_10_to_11 sorts before traj_5 as text
    dataset = BairTFRecords(tmp_path, "test")
    names = [p.name for p in dataset.files]
    assert names == ["traj_0_to_4.tfrecords", "traj_5_to_9.tfrecords", "traj_10_to_11.tfrecords"]
    np.testing.assert_array_equal(np.concatenate(list(dataset.batches(5))), videos)


def test_protocol_view_first_16_frames_of_every_test_video(raw_bair):
    root, test, _ = raw_bair
    selection = open_dataset("bair", root, "test").select(frames=16)
    np.testing.assert_array_equal(np.concatenate(list(selection.batches(4))), test[:, :16])


def test_example_parser_agrees_with_tensorflow(raw_bair):
    root, test, _ = raw_bair
    path = root / "softmotion30_44k" / "test" / "traj_2_to_3.tfrecords"
    records = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]
    offsets = index_records(path)
    assert [length for _, length in offsets] == [len(r) for r in records]
    parsed = example_bytes_features(records[1])
    reference = tf.train.Example.FromString(records[1]).features.feature
    bytes_keys = {k for k, v in reference.items() if v.WhichOneof("kind") == "bytes_list"}
    assert set(parsed) == bytes_keys  # float features skipped, every bytes feature found
    for key in bytes_keys:
        assert parsed[key] == list(reference[key].bytes_list.value)
    wanted = example_bytes_features(records[1], {"7/image_aux1/encoded"})
    assert wanted == {"7/image_aux1/encoded": [test[3, 7].tobytes()]}


def test_example_parser_skips_every_other_feature_kind():
    feature = {"ints": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, -2, 2**40])),
               "floats": _floats([1.5, -0.25]), "empty": tf.train.Feature(),
               "none": tf.train.Feature(bytes_list=tf.train.BytesList(value=[])),
               "two": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a", b"\x00b"]))}
    record = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    assert example_bytes_features(record) == {"none": [], "two": [b"a", b"\x00b"]}


def test_sequence_example_context_is_read_like_an_example(tmp_path):
    video = bair_videos(1, frames=3)[0]
    context = tf.train.Features(feature={f"{t}/image_aux1/encoded": _bytes(video[t].tobytes())
                                         for t in range(3)})
    (tmp_path / "test").mkdir()
    with tf.io.TFRecordWriter(str(tmp_path / "test" / "traj_0_to_0.tfrecords")) as writer:
        writer.write(tf.train.SequenceExample(context=context).SerializeToString())
    np.testing.assert_array_equal(open_bair(tmp_path).clip(0), video)


def test_missing_folder_says_what_to_put_where(tmp_path):
    with pytest.raises(InputError) as err:
        open_bair(tmp_path / "nowhere")
    message = str(err.value)
    assert "nowhere" in message and "softmotion30_44k/test/traj_*.tfrecords" in message
    assert "bair_robot_pushing_dataset_v0.tar" in message and "tfds build" in message
    with pytest.raises(InputError, match=r"holds no BAIR TFRecords.*softmotion30_44k/test/"):
        open_bair(tmp_path)


def test_wrong_resolution_is_refused(tmp_path):
    write_bair(tmp_path / "test", np.zeros((1, 2, 32, 32, 3), np.uint8))
    with pytest.raises(InputError, match=r"0/image_aux1/encoded holds \[3072\] bytes, expected "
                                         r"one raw 64x64x3"):
        open_bair(tmp_path).clip(0)


def test_other_camera_only_is_refused(tmp_path):
    (tmp_path / "test").mkdir()
    with tf.io.TFRecordWriter(str(tmp_path / "test" / "traj_0_to_0.tfrecords")) as writer:
        feature = {"0/image_main/encoded": _bytes(bytes(12288))}
        writer.write(tf.train.Example(features=tf.train.Features(feature=feature))
                     .SerializeToString())
    with pytest.raises(InputError, match=r"no '0/image_aux1/encoded'.*\['image_main'\]"):
        open_bair(tmp_path).clip(0)


def test_truncated_and_corrupt_files(tmp_path, raw_bair):
    root, _, _ = raw_bair
    data = (root / "softmotion30_44k" / "test" / "traj_0_to_1.tfrecords").read_bytes()
    (tmp_path / "test").mkdir()
    path = tmp_path / "test" / "traj_0_to_1.tfrecords"
    path.write_bytes(data[:-1000])
    with pytest.raises(InputError, match=r"traj_0_to_1.tfrecords: record 1 at byte \d+: needs"):
        open_bair(tmp_path)
    damaged = bytearray(data)
    damaged[3] ^= 0xFF  # the first record's length header
    path.write_bytes(bytes(damaged))
    with pytest.raises(InputError, match="record 0 at byte 0: corrupt record header"):
        open_bair(tmp_path)


def test_garbage_record_payload_is_an_input_error(tmp_path):
    (tmp_path / "test").mkdir()
    with tf.io.TFRecordWriter(str(tmp_path / "test" / "traj_0_to_0.tfrecords")) as writer:
        writer.write(b"\x0a\xff\xff\xff\x0f not a protobuf")
    with pytest.raises(InputError, match=r"record at byte 0: not a tf.train.Example"):
        open_bair(tmp_path).clip(0)


def test_too_few_videos_for_the_protocol(raw_bair):
    root, _, _ = raw_bair
    with pytest.raises(InputError, match=r"softmotion30_44k test .*256 clips requested"):
        open_bair(root).select(256, frames=16)


# --- TFDS bair_robot_pushing_small, built by TFDS's own builder from the raw records above ---

@pytest.fixture(scope="module")
def tfds_bair(raw_bair, tmp_path_factory):
    root, test, train = raw_bair
    data_dir = tmp_path_factory.mktemp("tfds")
    builder = tfds.builder("bair_robot_pushing_small", data_dir=str(data_dir))
    # The builder's only network step is fetching the tar; hand it the extracted fake instead.
    with mock.patch.object(tfds.download.DownloadManager, "download_and_extract",
                           return_value=str(root)):
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return data_dir, test, train


def _same_videos(got: np.ndarray, expected: np.ndarray) -> None:
    """Same set of videos (TFDS stores them in its own shuffled order)."""
    key = lambda v: v.tobytes()  # noqa: E731
    assert sorted(map(key, got)) == sorted(map(key, expected))


def test_tfds_reads_the_same_videos_as_the_raw_reader(tfds_bair):
    data_dir, test, train = tfds_bair
    dataset = open_bair(data_dir, "test")
    assert len(dataset) == 5 and dataset.describe()["split"] == "test"
    batches = list(dataset.batches(2))
    assert [b.shape for b in batches] == [(2, 30, 64, 64, 3)] * 2 + [(1, 30, 64, 64, 3)]
    everything = np.concatenate(batches)
    _same_videos(everything, test)
    np.testing.assert_array_equal(dataset.clip(3), everything[3])  # random access, same order
    _same_videos(np.stack([bair_tfds(data_dir, "train").clip(i) for i in range(3)]), train)


def test_tfds_seeded_selection_streams_and_matches_random_access(tfds_bair):
    data_dir, _, _ = tfds_bair
    selection = bair_tfds(data_dir, "test").select(3, frames=16, seed=4)
    streamed = np.concatenate(list(selection.batches(2)))
    np.testing.assert_array_equal(streamed, np.stack([selection.clip(k) for k in range(3)]))


def test_tfds_missing_and_unprepared(tmp_path, tfds_bair):
    with pytest.raises(InputError, match=r"no such data directory.*bair_robot_pushing_small/"
                                         r"<version>/dataset_info.json.*tfds build"):
        bair_tfds(tmp_path / "absent")
    (tmp_path / "bair_robot_pushing_small" / "incomplete.X_2.0.0").mkdir(parents=True)
    with pytest.raises(InputError, match="holds no prepared TFDS dataset"):
        open_bair(tmp_path)
    with pytest.raises(InputError, match="has no split 'validation' \\(has test, train\\)"):
        bair_tfds(tfds_bair[0], "validation")


def test_tfds_truncated_shard_is_an_input_error(tfds_bair, tmp_path):
    data_dir, _, _ = tfds_bair
    shutil.copytree(data_dir / "bair_robot_pushing_small", tmp_path / "bair_robot_pushing_small")
    shard = next((tmp_path / "bair_robot_pushing_small").rglob("*-test.tfrecord-*"))
    shard.write_bytes(shard.read_bytes()[:-5000])
    dataset = bair_tfds(tmp_path, "test")
    with pytest.raises(InputError, match=r"2\.0\.0: cannot read split test examples 0\.\.4 "
                                         r"\(DataLossError"):
        list(dataset.batches(8))
