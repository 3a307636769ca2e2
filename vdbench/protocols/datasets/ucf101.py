"""UCF101 (Soomro et al. 2012) at 64x64, the unconditional benchmark of Section 4.1.

Two local forms:

- ``UCF101Videos``: the original release, ``UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` beside the
  official ``ucfTrainTestlist/`` (``trainlist0N.txt``, ``testlist0N.txt``, ``classInd.txt``).
  Splits ``train``, ``test`` or ``all``. ``all`` is the union of fold N's two lists, train then
  test: each fold's lists partition the release, so this is every one of the 13,320 videos once
  (what the paper trains on, Section 4.1, and what the ``ucf101`` protocol draws its 10,000
  clips from; ``train`` alone is 9,537 videos). A video in the folder but in neither list (none
  in the official release) is not read. Frames are decoded and fitted to 64x64 as they stream.
- ``ucf101_tfds``: TFDS ``ucf101`` prepared in a local ``data_dir`` (feature ``video``, splits
  ``train``/``test``; config ``ucf101_1_256`` by default), fitted to 64x64.

Frame fitting. The paper uses the TFDS loader "without further processing" and models 64x64
frames. TFDS's builder (tensorflow_datasets 4.9.10, ``tensorflow_datasets/video/ucf101.py``)
makes ``ucf101_1_256``, its first and so default config, with ``width=256, height=256`` (lines
94-99) and encodes every video through ffmpeg with ``-vf scale=256x256`` (lines 125-133, passed
to ``tfds.features.Video`` at lines 144-149): ffmpeg scales to exactly that size, so each
320x240 frame is squashed to a square, the whole field of view kept and the aspect changed from
4:3 to 1:1. The paper's pipeline is therefore ``fit="squash"``, the default here and the
``ucf101`` protocol's. The works the paper compares with in Table 1 keep the aspect instead:
TGANv2 (whose C3D the paper uses for FID/IS) resizes frames to 64 rows (bicubic, width following
the aspect) and evaluates the centre 64 columns; VideoGPT resizes the short side (bilinear) and
centre-crops. ``fit="crop"`` (short side resized, centre square kept) reproduces that choice.
Our filter is antialiased bilinear in both cases (see `protocols.datasets.spatial` for why); the
choice is in the reader's ``describe()`` and so in every result's provenance and cache key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import VideoDataset
from vdbench.protocols.datasets.containment import inside
from vdbench.protocols.datasets.files import VideoFiles
from vdbench.protocols.datasets.spatial import FITS, describe_fit, fit_frames
from vdbench.protocols.datasets.tfds_source import TfdsVideos, find_prepared

VIDEOS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar"
SPLITS_URL = "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip"
RAW_HOW = (f"Download {VIDEOS_URL} and {SPLITS_URL} and extract both into the folder "
           f"(unrar x UCF101.rar; unzip UCF101TrainTestSplits-RecognitionTask.zip).")
TFDS_NAME, TFDS_CONFIG = "ucf101", "ucf101_1_256"
TFDS_HOW = (f"Prepare it where there is network access with `tfds build {TFDS_NAME} "
            f"--config {TFDS_CONFIG} --data_dir DIR` (needs ffmpeg) and copy DIR here.")
SPLITS = ("train", "test", "all")


def _list_files(lists_dir: Path, split: str, fold: int) -> list[Path]:
    """The official list file(s) of a split: ``all`` is fold ``fold``'s train then test list."""
    names = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[split]
    return [lists_dir / f"{name}list{fold:02d}.txt" for name in names]


def _split_lines(lists_dir: Path, split: str, fold: int) -> list[tuple[str, str]]:
    """Relative video paths ``Class/v_Class_gXX_cYY.avi`` of a split, in list order, each with
    the ``file:line`` that names it."""
    lines = []
    for path in _list_files(lists_dir, split, fold):
        if not path.is_file():
            raise InputError(f"{path}: split list not found; expected the official lists in "
                             f"{lists_dir}. {RAW_HOW}")
        text = path.read_text(encoding="utf-8", errors="replace")
        lines += [(line.split()[0], f"{path}:{n}")
                  for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return lines


def read_class_index(lists_dir: Path) -> dict[str, int]:
    """classInd.txt (``1 ApplyEyeMakeup`` ...) as {class name: 0-based label}."""
    path = lists_dir / "classInd.txt"
    if not path.is_file():
        raise InputError(f"{path}: class index not found. {RAW_HOW}")
    classes = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[0].isdigit():
            raise InputError(f"{path}:{n}: expected '<number> <ClassName>', got {line!r}")
        classes[parts[1]] = int(parts[0]) - 1
    return classes


def _locate_tree(root: Path) -> tuple[Path, Path]:
    """(videos folder, split-lists folder) for ``root`` holding UCF-101/ and ucfTrainTestlist/."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; expected {root}/UCF-101/<Class>/*.avi and "
                         f"{root}/ucfTrainTestlist/. {RAW_HOW}")
    videos = next((p for p in (root / "UCF-101", root / "UCF101", root) if p.is_dir() and
                   any(p.glob("*/v_*.avi"))), None)
    lists = next((p for p in (root / "ucfTrainTestlist", root.parent / "ucfTrainTestlist",
                              root) if (p / "classInd.txt").is_file()), None)
    if videos is None or lists is None:
        missing = "UCF-101/<Class>/v_*.avi" if videos is None else "ucfTrainTestlist/"
        raise InputError(f"{root}: {missing} not found; expected {root}/UCF-101/<Class>/*.avi "
                         f"and {root}/ucfTrainTestlist/classInd.txt. {RAW_HOW}")
    return videos, lists


def _case_insensitive_index(videos: Path) -> dict[str, Path]:
    return {f"{d.name}/{f.name}".lower(): f for d in videos.iterdir() if d.is_dir()
            for f in d.iterdir()}


def _resolve_all(videos: Path, entries: list[tuple[str, str]]
                 ) -> tuple[list[Path], list[str]]:
    """Files of split-list entries (name, ``file:line``) and the entries not found. Names are
    matched without case as a fallback: lists and archive disagree on case
    (``HandStandPushups``). A file resolving outside ``videos`` is refused (containment)."""
    found: list[Path] = []
    missing: list[str] = []
    index: dict[str, Path] | None = None
    for entry, where in entries:
        path = inside(videos / entry, videos, where)
        if not path.is_file():
            index = _case_insensitive_index(videos) if index is None else index
            match = index.get(entry.lower())
            if match is None:
                missing.append(entry)
                continue
            path = inside(match, videos, where)
        found.append(path)
    return found, missing


class UCF101Videos(VideoFiles):
    """The raw UCF101 tree of one split; ``clip(i)`` -> uint8 [T, 64, 64, 3], all T frames."""

    def __init__(self, root: str | Path, split: str = "train", fold: int = 1, size: int = 64,
                 fit: str = "squash"):
        if split not in SPLITS or fold not in (1, 2, 3) or fit not in FITS:
            raise InputError(f"UCF101: split must be one of {SPLITS}, fold 1-3, fit one of "
                             f"{FITS}; got {split!r}, {fold!r}, {fit!r}")
        self.root, self.split, self.fold = Path(root), split, fold
        videos, lists = _locate_tree(self.root)
        self.classes = read_class_index(lists)
        files, missing = _resolve_all(videos, _split_lines(lists, split, fold))
        super().__init__(files, size, fit, root=self.root,
                         metadata=[lists / "classInd.txt", *_list_files(lists, split, fold)])
        if missing:
            raise InputError(f"{videos}: {len(missing)} videos of the {split} list {fold} are "
                             f"missing, e.g. {missing[0]} (incomplete extraction?)")
        self.name = f"ucf101 {split} fold {fold} ({videos})"

    def label(self, i: int) -> int:
        """0-based class of video ``i`` (from classInd.txt, via the class folder name)."""
        folder = self.files[i].parent.name
        lower = {k.lower(): v for k, v in self.classes.items()}
        if folder.lower() not in lower:
            raise InputError(f"{self.files[i]}: class folder {folder!r} is not in classInd.txt")
        return lower[folder.lower()]

    def describe(self) -> dict:
        return {"dataset": "ucf101", "source": "avi", "split": self.split, "fold": self.fold,
                "videos": len(self), "root": str(self.root), **self.fitting()}


def ucf101_tfds(data_dir: str | Path, split: str = "train", config: str = TFDS_CONFIG,
                size: int = 64, fit: str = "squash") -> TfdsVideos:
    """TFDS ``ucf101`` from a local ``data_dir``; ``clip(i)`` -> uint8 [T, 64, 64, 3].

    ``split`` is a TFDS split expression: ``train``, ``test`` or ``train+test`` (all videos).
    Frames of ``ucf101_1_256`` are squashed squares already, so both fits only resize them;
    other configs keep 320x240 frames, which ``fit`` brings to the square.
    """
    if fit not in FITS:
        raise InputError(f"UCF101: fit must be one of {FITS}, got {fit!r}")
    path = find_prepared(Path(data_dir), TFDS_NAME, config, TFDS_HOW)

    def fitted(video: np.ndarray, where: str) -> np.ndarray:
        return fit_frames(video, size, fit, where)

    return TfdsVideos(path, split, "video", fitted, describe_fit(size, fit))


def open_ucf101(path: str | Path, split: str = "train", fold: int = 1, fit: str = "squash",
                size: int = 64) -> VideoDataset:
    """UCF101 from a folder: a TFDS ``data_dir`` holding ``ucf101/`` or the raw tree."""
    path = Path(path)
    if (path / TFDS_NAME).is_dir():
        config = f"ucf101_{fold}" if fold != 1 else TFDS_CONFIG
        return ucf101_tfds(path, "train+test" if split == "all" else split, config, size, fit)
    return UCF101Videos(path, split, fold, size, fit)
