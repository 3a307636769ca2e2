"""BAIR Robot Pushing (Ebert et al. 2017), the 64x64 video prediction benchmark of Section 4.2.

Two local forms of the same data, each read lazily, video by video:

- ``BairTFRecords``: the original ``softmotion30_44k`` TFRecords, ``{split}/traj_*.tfrecords``,
  one tf.train.Example per trajectory with key ``{t}/image_aux1/encoded`` holding frame ``t``
  (t = 0..29) as raw uint8 64x64x3 bytes. The ``test`` folder has the 256 test videos of the
  paper's protocol (one file, ``traj_0_to_255.tfrecords``). Read without TensorFlow.
- ``bair_tfds``: TFDS ``bair_robot_pushing_small`` prepared in a local ``data_dir`` (feature
  ``image_aux1``, 30 frames; splits ``train``/``test``; the same videos in TFDS's stored order).

``open_bair(path)`` tells the two apart. Frames are returned as stored (already 64x64); any other
frame size is an error, not a resize.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import VideoDataset
from vdbench.protocols.datasets.tfds_source import TfdsVideos, find_prepared
from vdbench.protocols.datasets.tfrecord import example_bytes_features, index_records, read_record

CAMERA = "image_aux1"  # the camera every BAIR video-prediction paper evaluates
FRAME_SHAPE = (64, 64, 3)
TFDS_NAME = "bair_robot_pushing_small"
RAW_URL = "http://rail.eecs.berkeley.edu/datasets/bair_robot_pushing_dataset_v0.tar"
RAW_HOW = (f"Download {RAW_URL} and extract it there: "
           f"tar -xf bair_robot_pushing_dataset_v0.tar gives softmotion30_44k/{{train,test}}/.")
TFDS_HOW = (f"Prepare it where there is network access with `tfds build {TFDS_NAME} "
            f"--data_dir DIR` (it downloads {RAW_URL}) and copy DIR here.")


def _trajectory_order(path: Path) -> tuple:
    numbers = re.findall(r"\d+", path.name)
    return (int(numbers[0]) if numbers else -1, path.name)


def find_split_files(root: Path, split: str) -> list[Path]:
    """``traj_*.tfrecords`` of a split under ``root`` (the folder holding softmotion30_44k, that
    folder itself, or the split folder), ordered by first trajectory number."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; expected softmotion30_44k/{split}/"
                         f"traj_*.tfrecords under it. {RAW_HOW}")
    for folder in (root / "softmotion30_44k" / split, root / split, root):
        files = sorted(folder.glob("traj_*.tfrecords"), key=_trajectory_order)
        if files:
            return files
    raise InputError(f"{root}: holds no BAIR TFRecords; expected "
                     f"{root}/softmotion30_44k/{split}/traj_*.tfrecords. {RAW_HOW}")


class BairTFRecords(VideoDataset):
    """The ``softmotion30_44k`` TFRecords of one split; ``clip(i)`` -> uint8 [30, 64, 64, 3]."""

    def __init__(self, root: str | Path, split: str = "test", camera: str = CAMERA):
        self.root, self.split, self.camera = Path(root), split, camera
        self.files = find_split_files(self.root, split)
        self._records = [(f, offset, length) for f in self.files
                         for offset, length in index_records(f)]
        self.name = f"bair softmotion30_44k {split} ({self.files[0].parent})"

    def __len__(self) -> int:
        return len(self._records)

    def locate(self, i: int) -> str:
        path, offset, _ = self._records[i]
        return f"{path} record at byte {offset - 12}"

    def _read(self, i: int) -> np.ndarray:
        path, offset, length = self._records[i]
        where = self.locate(i)
        try:
            features = example_bytes_features(read_record(path, offset, length))
        except ValueError as err:
            raise InputError(f"{where}: not a tf.train.Example ({err})") from err
        return frames_from_features(features, self.camera, where)

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        return self.root, [self._records[int(i)][0] for i in indices]

    def describe(self) -> dict:
        return {"dataset": "bair_softmotion30_44k", "split": self.split, "videos": len(self),
                "files": [str(f) for f in self.files], "camera": self.camera}


def frames_from_features(features: dict[str, list[bytes]], camera: str, where: str
                         ) -> np.ndarray:
    """Frames ``{t}/{camera}/encoded``, t = 0, 1, ... while present, as uint8 [T, 64, 64, 3]."""
    frames: list[np.ndarray] = []
    size = int(np.prod(FRAME_SHAPE))
    while (key := f"{len(frames)}/{camera}/encoded") in features:
        values = features[key]
        if len(values) != 1 or len(values[0]) != size:
            got = [len(v) for v in values]
            raise InputError(f"{where}: {key} holds {got} bytes, expected one raw 64x64x3 uint8 "
                             f"image of {size} bytes (wrong resolution or not softmotion30_44k)")
        frames.append(np.frombuffer(values[0], dtype=np.uint8).reshape(FRAME_SHAPE))
    if not frames:
        cameras = sorted({k.split("/")[1] for k in features if k.count("/") == 2})
        raise InputError(f"{where}: no '0/{camera}/encoded' feature (cameras found: {cameras})")
    return np.stack(frames)


def _check_bair_video(video: np.ndarray, where: str) -> np.ndarray:
    if video.ndim != 4 or video.shape[1:] != FRAME_SHAPE or video.dtype != np.uint8:
        raise InputError(f"{where}: {CAMERA} is {video.dtype} {video.shape}, expected uint8 "
                         f"[T, 64, 64, 3]")
    return video


def bair_tfds(data_dir: str | Path, split: str = "test") -> TfdsVideos:
    """TFDS ``bair_robot_pushing_small`` from a local ``data_dir``; ``clip(i)`` -> uint8
    [30, 64, 64, 3]."""
    path = find_prepared(Path(data_dir), TFDS_NAME, None, TFDS_HOW)
    dataset = TfdsVideos(path, split, CAMERA, _check_bair_video)
    shape = dataset.feature_shape()
    if tuple(shape[1:]) != FRAME_SHAPE:
        raise InputError(f"{path}: {CAMERA} frames are {shape[1:]}, expected {FRAME_SHAPE}")
    return dataset


def open_bair(path: str | Path, split: str = "test") -> VideoDataset:
    """BAIR from a folder: a TFDS ``data_dir`` holding ``bair_robot_pushing_small/`` or the raw
    TFRecords (see `find_split_files`)."""
    path = Path(path)
    if (path / TFDS_NAME).is_dir():
        return bair_tfds(path, split)
    if not path.is_dir():
        raise InputError(f"{path}: no such folder; expected either the raw TFRecords "
                         f"({path}/softmotion30_44k/{split}/traj_*.tfrecords; {RAW_HOW}) or a "
                         f"TFDS data_dir with {TFDS_NAME}/ ({TFDS_HOW})")
    return BairTFRecords(path, split)
