"""Captioned videos for the text-to-video protocols (Section 4.3: ``text2video``, ``extension``).

The paper's 10 million captioned videos are not public, so this is a layout a researcher fills
with their own set. Under ``DIR`` (or directly in ``DIR`` when it has no ``{split}`` folder)::

    DIR/{split}/captions.jsonl          one JSON object per line and per video:
                                        {"video": "clips/0001.mp4", "caption": "a dog runs"}
    DIR/{split}/clips/0001.mp4 ...      the videos (mp4, avi, gif, webm, mov, mkv; PyAV reads
                                        them), paths relative to the folder of captions.jsonl
                                        (inside the folder: an entry resolving
                                        elsewhere, e.g. "../x.mp4", is refused)
    DIR/{split}/text_embeddings.npy     optional: float [N, L, D] or [N, D] caption embeddings
                                        (e.g. BERT-large, D = 1024), row i <-> caption line i

Blank lines are skipped; other keys of a line are ignored. Videos are in file order and row ``i``
of the embeddings belongs to the ``i``-th caption. Frames are fitted to the protocol resolution
as Kinetics-600 is: short side resized (antialiased bilinear) and the centre square kept
(``fit="crop"``; see `protocols.datasets.spatial`); frames smaller than the target are an error.

A selection of this dataset (``select(n, frames=16, seed=s, frameskip=k)``) yields its clips in
``batches(B)`` like every reader, and ``captions(positions)`` / ``text(positions)`` give the
captions and embeddings of the same positions, so batch ``b`` pairs with positions
``range(b * B, b * B + len(batch))``; ``captioned_batches(B)`` yields the three together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import Selection
from vdbench.protocols.datasets.containment import inside
from vdbench.protocols.datasets.files import VideoFiles
from vdbench.protocols.datasets.spatial import FITS
from vdbench.util.naming import naming_file

CAPTIONS = "captions.jsonl"
EMBEDDINGS = "text_embeddings.npy"
HOW = ("The paper's captioned videos are not public; make your own: a folder per split with "
       f"{CAPTIONS} (one line per video: {{\"video\": \"relative/path.mp4\", \"caption\": "
       f"\"...\"}}), the video files, and optionally {EMBEDDINGS} (float [N, L, D] or [N, D], "
       "row i for line i).")


@dataclass(frozen=True)
class CaptionEntry:
    video: Path
    caption: str


def _parse_line(line: str, where: str, folder: Path) -> CaptionEntry:
    """One captions.jsonl line as an entry whose video file exists."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a JSON object with \"video\" and \"caption\"")
    for key in ("video", "caption"):
        if not isinstance(item.get(key), str):
            problem = "missing" if key not in item else f"not a string ({item[key]!r})"
            raise InputError(f"{where}: \"{key}\" is {problem}")
    video = inside(folder / item["video"], folder, where)
    if not video.is_file():
        raise InputError(f"{where}: video file {video} not found")
    return CaptionEntry(video, item["caption"])


def read_captions(path: Path) -> list[CaptionEntry]:
    """The entries of a captions.jsonl, in file order (see the module docstring)."""
    if not path.is_file():
        raise InputError(f"{path}: captions file not found. {HOW}")
    entries = []
    with naming_file(path), open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                entries.append(_parse_line(line, f"{path}:{n}", path.parent))
    if not entries:
        raise InputError(f"{path}: holds no captioned videos. {HOW}")
    return entries


def read_embeddings(path: Path, rows: int) -> np.ndarray:
    """text_embeddings.npy, memory-mapped: float [rows, L, D] or [rows, D]."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise InputError(f"{path}: cannot read array ({err})") from err
    if array.ndim not in (2, 3) or array.dtype.kind != "f":
        raise InputError(f"{path}: expected float caption embeddings [N, L, D] or [N, D], got "
                         f"{array.dtype} {array.shape}")
    if array.shape[0] != rows:
        raise InputError(f"{path}: has {array.shape[0]} rows of embeddings, but {CAPTIONS} has "
                         f"{rows} captions (row i belongs to caption i)")
    return array


class CaptionedVideos(VideoFiles):
    """The captioned videos of one split; ``clip(i)`` -> uint8 [T, size, size, 3]."""

    def __init__(self, folder: str | Path, split: str, size: int = 64, fit: str = "crop"):
        if fit not in FITS:
            raise InputError(f"captioned-videos: fit must be one of {FITS}, got {fit!r}")
        self.folder, self.split = Path(folder), split
        entries = read_captions(self.folder / CAPTIONS)
        embeddings = self.folder / EMBEDDINGS
        listing = [self.folder / CAPTIONS] + ([embeddings] if embeddings.is_file() else [])
        super().__init__([e.video for e in entries], size, fit, root=self.folder,
                         metadata=listing)
        self.captions = [e.caption for e in entries]
        self.embeddings = read_embeddings(embeddings, len(entries)) \
            if embeddings.is_file() else None
        self.name = f"captioned-videos {split} ({self.folder})"

    def text(self, indices: Sequence[int]) -> Optional[np.ndarray]:
        """float32 embeddings of videos ``indices`` (None without text_embeddings.npy)."""
        if self.embeddings is None:
            return None
        return np.stack([np.asarray(self.embeddings[int(i)], dtype=np.float32) for i in indices])

    def _selection(self, indices, frames, seed, replace, frameskip) -> "CaptionedSelection":
        return CaptionedSelection(self, indices, frames, seed, replace, frameskip)

    def describe(self) -> dict:
        embeddings = None if self.embeddings is None else list(self.embeddings.shape)
        return {"dataset": "captioned-videos", "split": self.split, "videos": len(self),
                "folder": str(self.folder), "embeddings": embeddings, **self.fitting()}


@dataclass(frozen=True)
class CaptionedBatch:
    videos: np.ndarray  # uint8 [B, T, H, W, 3]
    captions: tuple[str, ...]  # B captions
    text: Optional[np.ndarray]  # float32 [B, L, D] or [B, D], or None


class CaptionedSelection(Selection):
    """A seeded selection of captioned videos; positions map to captions as to clips."""

    dataset: CaptionedVideos

    def captions(self, positions: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.dataset.captions[int(self.indices[int(k)])] for k in positions)

    def text(self, positions: Sequence[int]) -> Optional[np.ndarray]:
        return self.dataset.text([int(self.indices[int(k)]) for k in positions])

    def captioned_batches(self, batch_size: int) -> Iterator[CaptionedBatch]:
        """`batches` with each batch's captions and embeddings."""
        start = 0
        for videos in self.batches(batch_size):
            positions = range(start, start + len(videos))
            yield CaptionedBatch(videos, self.captions(positions), self.text(positions))
            start += len(videos)


def open_captioned(root: str | Path, split: str = "validation", size: int = 64,
                   fit: str = "crop") -> CaptionedVideos:
    """Captioned videos of ``split`` under ``root``: ``root/split`` when that folder exists,
    else ``root`` itself (see the module docstring for the layout)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; expected {root}/{split}/{CAPTIONS} and the "
                         f"videos it names. {HOW}")
    folder = root / split if (root / split).is_dir() else root
    if not (folder / CAPTIONS).is_file():
        raise InputError(f"{root}: no {CAPTIONS}; expected {root / split / CAPTIONS}. {HOW}")
    return CaptionedVideos(folder, split, size, fit)
