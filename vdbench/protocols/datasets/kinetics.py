"""Kinetics-600 (Carreira et al. 2018) at 64x64, the video prediction benchmark of Section 4.2.

Data: a folder of clips, as the common downloaders leave them (flat, or in per-label folders),
named ``{youtube_id}_{time_start:06d}_{time_end:06d}.mp4`` (any video suffix), plus the official
CSV annotations (columns ``label,youtube_id,time_start,time_end,split``; the early test CSV has no
``label``). TFDS has no Kinetics builder. YouTube removals make every copy incomplete, so clips
named in the CSV but absent from the folder are skipped and counted (``missing``); a protocol
asking for more clips than are present gets an `InputError`.

Resizing: the short side is resized to 64 with antialiased bilinear filtering and the centre
64x64 kept (``fit="crop"``), preserving the aspect ratio as the public Kinetics pipelines of the
compared works do (VideoGPT's loader: short side to the resolution, bilinear, centre crop; theirs
does not antialias, see `protocols.datasets.spatial`). Squashing a 16:9 frame into a square
would distort every object. Frames keep the clip's own frame rate (no resampling).
The paper's protocol (50,000 test clips drawn with a fixed seed without replacement, one random
16-frame window per clip shared by conditioning and ground truth) is
``reader.select(50_000, frames=16, seed=SEED)``; see `protocols.datasets.base`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.containment import inside
from vdbench.protocols.datasets.files import VideoFiles
from vdbench.protocols.datasets.generic import VIDEO_SUFFIXES
from vdbench.protocols.datasets.spatial import FITS

ANNOTATIONS_URL = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics600.tar.gz"
HOW = (f"The annotation CSVs are in {ANNOTATIONS_URL}; the clips can be fetched with the CVDF "
       f"mirror scripts (https://github.com/cvdfoundation/kinetics-dataset, k600) or cut from "
       f"YouTube with a downloader; name each {{youtube_id}}_{{time_start:06d}}_"
       f"{{time_end:06d}}.mp4.")
REQUIRED_COLUMNS = ("youtube_id", "time_start", "time_end")
_SPLIT_ALIASES = {"val": "validate", "valid": "validate", "validation": "validate"}


def clip_stem(youtube_id: str, time_start: int, time_end: int) -> str:
    return f"{youtube_id}_{time_start:06d}_{time_end:06d}"


def _seconds(value: str, where: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        raise InputError(f"{where}: time {value!r} is not a number") from None


def read_annotations(path: Path, split: Optional[str]) -> list[dict]:
    """Rows of an official Kinetics CSV (of ``split`` when the CSV has a split column), each
    with ``stem`` (the clip's file name without suffix) and ``label`` (may be '')."""
    if not path.is_file():
        raise InputError(f"{path}: annotation CSV not found. {HOW}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        absent = [c for c in REQUIRED_COLUMNS if c not in columns]
        if absent:
            raise InputError(f"{path}: not a Kinetics annotation CSV; columns {absent} missing "
                             f"(has {columns})")
        wanted = None if split is None else _SPLIT_ALIASES.get(split, split)
        rows = []
        for n, row in enumerate(reader, 2):
            if wanted and "split" in columns and \
                    _SPLIT_ALIASES.get(row["split"], row["split"]) != wanted:
                continue
            where = f"{path}:{n}"
            stem = clip_stem(row["youtube_id"], _seconds(row["time_start"], where),
                             _seconds(row["time_end"], where))
            rows.append({"stem": stem, "label": row.get("label") or "", "where": where})
    return rows


def index_clips(root: Path) -> dict[str, Path]:
    """{file name without suffix: path} of every video file under ``root`` (recursively)."""
    if not root.is_dir():
        raise InputError(f"{root}: no such clip folder; expected {root}/[<label>/]"
                         f"<youtube_id>_<start:06d>_<end:06d>.mp4. {HOW}")
    return {p.stem: p for p in sorted(root.rglob("*")) if p.suffix.lower() in VIDEO_SUFFIXES}


class Kinetics600Clips(VideoFiles):
    """Present clips of one CSV split, in CSV order; ``clip(i)`` -> uint8 [T, 64, 64, 3]."""

    def __init__(self, root: str | Path, annotations: str | Path, split: Optional[str] = "test",
                 size: int = 64, fit: str = "crop"):
        if fit not in FITS:
            raise InputError(f"Kinetics-600: fit must be one of {FITS}, got {fit!r}")
        self.root, self.annotations, self.split = Path(root), Path(annotations), split
        rows = read_annotations(self.annotations, split)
        if not rows:
            raise InputError(f"{self.annotations}: no rows for split {split!r}")
        files = index_clips(self.root)
        present = [(row, inside(files[row["stem"]], self.root, row["where"]))
                   for row in rows if row["stem"] in files]
        self.missing = len(rows) - len(present)
        if not present:
            raise InputError(f"{self.root}: none of the {len(rows)} clips of "
                             f"{self.annotations.name} is there, e.g. {rows[0]['stem']}.mp4. "
                             f"{HOW}")
        super().__init__([path for _, path in present], size, fit, root=self.root,
                         metadata=[self.annotations])
        self.labels = [row["label"] for row, _ in present]
        self.name = f"kinetics600 {split} ({self.root})"

    def describe(self) -> dict:
        return {"dataset": "kinetics600", "split": self.split, "videos": len(self),
                "missing": self.missing, "annotations": str(self.annotations),
                "root": str(self.root), **self.fitting()}


def find_annotations(root: Path, split: str) -> Path:
    """``{split}.csv`` in ``root``, ``root/annotations`` or ``root/kinetics600``."""
    candidates = [folder / f"{split}.csv" for folder in
                  (root, root / "annotations", root / "kinetics600")]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(f"{root}: no annotation CSV; expected one of "
                     f"{', '.join(str(p) for p in candidates)}. {HOW}")


def open_kinetics600(root: str | Path, split: str = "test",
                     annotations: Optional[str | Path] = None, size: int = 64,
                     fit: str = "crop") -> Kinetics600Clips:
    """Kinetics-600 clips under ``root`` (``root/split`` when that folder exists)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder; expected clips under it and {split}.csv "
                         f"beside them. {HOW}")
    annotations = Path(annotations) if annotations else find_annotations(root, split)
    clips = root / split if (root / split).is_dir() else root
    return Kinetics600Clips(clips, annotations, split, size, fit)
