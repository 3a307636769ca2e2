"""Fingerprints of the data a protocol reads: per file read, its path relative to the dataset
root, size and mtime (ns). Every dataset here is built from files that cannot be decoded
(empty or junk 'videos'), so computing a fingerprint provably decodes nothing."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vdbench.engine.protocol_data import open_protocol_data
from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import open_dataset
from vdbench.protocols.datasets.base import fingerprint_files
from vdbench.protocols.datasets.generic import ArrayVideos
from vdbench.protocols.datasets.shapes import ShapesDataset
from vdbench.protocols.registry import get_protocol
from tests.test_datasets_bair import bair_videos, write_bair
from tests.test_datasets_ucf101 import ucf_tfds  # noqa: F401  (fixture)

CLASSES = ("ApplyEyeMakeup", "YoYo")


def replace_in_place(path: Path, data: bytes) -> None:
    """Overwrite ``path`` (same name) and move its mtime a second on, as a copy would."""
    before = path.stat().st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def ucf_tree(root: Path, videos: int = 6) -> list[str]:
    entries = [f"{CLASSES[k % 2]}/v_{CLASSES[k % 2]}_g{k + 1:02d}_c01.avi" for k in range(videos)]
    for c in CLASSES:
        (root / "UCF-101" / c).mkdir(parents=True)
    for k, entry in enumerate(entries):
        (root / "UCF-101" / entry).write_bytes(b"not a video %d" % k)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    (lists / "trainlist01.txt").write_text("".join(f"{e} 1\n" for e in entries[:4]))
    (lists / "testlist01.txt").write_text("".join(f"{e}\n" for e in entries[4:]))
    return entries


def test_the_digest_is_of_relative_path_size_and_mtime(tmp_path):
    entries = ucf_tree(tmp_path)
    dataset = open_dataset("ucf101", tmp_path, "all")
    lists = ["ucfTrainTestlist/classInd.txt", "ucfTrainTestlist/trainlist01.txt",
             "ucfTrainTestlist/testlist01.txt"]
    chosen = [f"UCF-101/{entries[k]}" for k in (1, 4)]
    lines = "".join(f"{rel}\t{(tmp_path / rel).stat().st_size}\t"
                    f"{(tmp_path / rel).stat().st_mtime_ns}\n" for rel in lists + chosen)
    assert dataset.fingerprint([4, 1]) == hashlib.sha256(lines.encode()).hexdigest()


def test_replacing_a_read_file_in_place_changes_the_fingerprint(tmp_path):
    entries = ucf_tree(tmp_path)
    clips = open_dataset("ucf101", tmp_path, "all").select(3, frames=16, seed=1)
    read = {int(i) for i in clips.indices}
    unread = next(k for k in range(6) if k not in read)
    before = clips.fingerprint()
    assert len(before) == 64 and clips.fingerprint() == before  # stable
    replace_in_place(tmp_path / "UCF-101" / entries[unread], b"another unread video")
    assert clips.fingerprint() == before  # a file the selection does not read
    target = tmp_path / "UCF-101" / entries[int(clips.indices[0])]
    same_size = bytes(reversed(target.read_bytes()))
    replace_in_place(target, same_size)  # same name and size, new content and mtime
    after = clips.fingerprint()
    assert after != before
    replace_in_place(tmp_path / "ucfTrainTestlist" / "classInd.txt", b"1 ApplyEyeMakeup\n")
    assert clips.fingerprint() != after  # listing files count too


def test_a_moved_copy_has_the_same_fingerprint(tmp_path):
    ucf_tree(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copy2)  # keeps mtimes
    a, b = (open_dataset("ucf101", tmp_path / x, "all").select(4, seed=0) for x in "ab")
    assert a.fingerprint() == b.fingerprint()
    a.dataset.files[0].unlink()
    with pytest.raises(InputError, match=r"v_ApplyEyeMakeup_g01_c01.avi: cannot read its size"):
        a.dataset.fingerprint()


def test_bair_counts_the_record_files_its_clips_are_in(tmp_path):
    write_bair(tmp_path / "softmotion30_44k" / "test", bair_videos(5, frames=2), per_file=2)
    protocol = get_protocol("bair").with_counts(3, 1)
    clips, _ = open_protocol_data(protocol, str(tmp_path))  # videos 0-2: files 0_to_1, 2_to_3
    before = clips.fingerprint()
    last = tmp_path / "softmotion30_44k" / "test" / "traj_4_to_4.tfrecords"
    replace_in_place(last, last.read_bytes())
    assert clips.fingerprint() == before
    first = tmp_path / "softmotion30_44k" / "test" / "traj_0_to_1.tfrecords"
    replace_in_place(first, first.read_bytes())
    assert clips.fingerprint() != before


def test_kinetics_and_captioned_cover_their_annotation_files(tmp_path):
    (tmp_path / "k" / "videos").mkdir(parents=True)
    for yid in ("a", "b"):
        (tmp_path / "k" / "videos" / f"{yid}_000000_000010.mp4").write_bytes(b"junk")
    csv = tmp_path / "k" / "videos" / "test.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\nx,a,0,10,test\ny,b,0,10,test\n")
    kinetics = open_dataset("kinetics600", tmp_path / "k" / "videos", "test")
    before = kinetics.fingerprint()
    replace_in_place(csv, csv.read_bytes().replace(b"x,a", b"z,a"))
    assert kinetics.fingerprint() != before

    folder = tmp_path / "c" / "validation"
    folder.mkdir(parents=True)
    (folder / "v0.mp4").write_bytes(b"junk")
    (folder / "captions.jsonl").write_text(json.dumps({"video": "v0.mp4", "caption": "a"}))
    np.save(folder / "text_embeddings.npy", np.zeros((1, 4), np.float32))
    captioned = open_dataset("captioned-videos", tmp_path / "c", "validation")
    before = captioned.select(1, frames=4, seed=0).fingerprint()
    np.save(folder / "text_embeddings.npy", np.ones((1, 4), np.float32))
    os.utime(folder / "text_embeddings.npy", ns=(1, 1))
    assert captioned.select(1, frames=4, seed=0).fingerprint() != before


def test_arrays_and_tfds_shards(tmp_path, ucf_tfds):  # noqa: F811
    path = tmp_path / "videos.npy"
    np.save(path, np.zeros((3, 4, 8, 8, 3), np.uint8))
    before = ArrayVideos(path).select(2).fingerprint()
    np.save(path, np.ones((3, 4, 8, 8, 3), np.uint8))
    os.utime(path, ns=(1, 1))
    assert ArrayVideos(path).select(2).fingerprint() != before

    data_dir, _ = ucf_tfds
    train, test = (open_dataset("ucf101", data_dir, s) for s in ("train", "test"))
    root, files = train.data_files([0])
    assert {f.name for f in files} >= {"dataset_info.json"} and all(
        "-test." not in f.name for f in files) and any("-train." in f.name for f in files)
    fingerprints = train.fingerprint(), test.fingerprint()
    (shard,) = [f for f in test.data_files([0])[1] if "-test." in f.name]
    stat = shard.stat()
    os.utime(shard, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert train.fingerprint() == fingerprints[0] and test.fingerprint() != fingerprints[1]


def test_shapes_fingerprint_is_its_generator_parameters():
    a, b = ShapesDataset("test", 256, 32, 30), ShapesDataset("test", 256, 32, 30)
    assert a.fingerprint() == b.fingerprint() == a.select(4).fingerprint()
    assert ShapesDataset("test", 256, 64, 30).fingerprint() != a.fingerprint()
    assert ShapesDataset("train", 256, 32, 30).fingerprint() != a.fingerprint()
    clips, _ = open_protocol_data(get_protocol("shapes", "quick"), None)
    assert clips.fingerprint() == a.fingerprint()


def test_fingerprint_files_counts_each_file_once(tmp_path):
    (tmp_path / "x").write_bytes(b"1")
    once = fingerprint_files(tmp_path, [tmp_path / "x"])
    assert fingerprint_files(tmp_path, [tmp_path / "x", tmp_path / "x"]) == once
