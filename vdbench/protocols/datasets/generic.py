"""Generic video sources: a .npy/.npz array [N, T, H, W, 3], a video file, a folder of them, or
frame folders (a folder, or a .zip, of per-video frame folders: protocols.datasets.frames).

`open_source` gives the batch streams the metric commands read; `open_videos` gives the same data
as a `VideoDataset` (random access, seeded selection; see `protocols.datasets.base`).

Sources stream batches of clips, so a 2,048-clip set never sits in memory as float, and every
problem (missing file, truncated video, inconsistent shapes, too few frames) is an
`InputError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, overload

import numpy as np

from vdbench.metrics.arrays import npz_keys, read_npy, read_npz
from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets import frames as frames_input
from vdbench.protocols.datasets.base import BatchPixels, VideoDataset, pixels_from_env

VIDEO_SUFFIXES = (".mp4", ".avi", ".gif", ".webm", ".mov", ".mkv")


MAX_PIXELS_ENV = "VDBENCH_MAX_VIDEO_PIXELS"
DEFAULT_MAX_PIXELS = 2**31 // 3  # 2 GiB of decoded RGB uint8 frames per video


def max_video_pixels() -> int:
    """The cap on decoded pixels (width x height x frames) per video: ``$VDBENCH_MAX_VIDEO_PIXELS``
    or 2**31 / 3 (2 GiB as RGB), so that a small file declaring huge frames cannot exhaust
    memory."""
    return pixels_from_env(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS)


def declared_frames(container, stream) -> int:
    """Frames the container header declares (0: unknown), else estimated from its duration."""
    if stream.frames:
        return int(stream.frames)
    if container.duration and stream.average_rate:
        return int(round(container.duration / 1_000_000 * float(stream.average_rate)))
    return 0


def _check_declared_size(path: Path, container, stream, cap: int) -> None:
    """Refuse, before decoding, a video whose header promises more than ``cap`` pixels."""
    frames = declared_frames(container, stream)
    width, height = int(stream.width or 0), int(stream.height or 0)
    if width * height * frames > cap:
        raise InputError(f"{path}: declares {frames} frames of {width}x{height}, "
                         f"{width * height * frames} pixels, over the limit of {cap} per video "
                         f"(set {MAX_PIXELS_ENV} to raise it)")


def _decoded(path: Path, container, cap: int) -> Iterator[tuple[int, Any]]:
    """(number, frame) of the first video stream, checking as frames arrive that the resolution
    stays that of frame 0 and the pixels decoded stay within ``cap``; at the end, that the count
    equals the one the container declares (a shortfall is a truncated file)."""
    size, pixels, count = None, 0, 0
    for count, frame in enumerate(container.decode(video=0), 1):
        if size is None:
            size = (frame.width, frame.height)
        elif (frame.width, frame.height) != size:
            raise InputError(f"{path}: frame {count - 1} is {frame.width}x{frame.height}, but "
                             f"frame 0 is {size[0]}x{size[1]}; the resolution must not change "
                             "within a video")
        pixels += frame.width * frame.height
        if pixels > cap:
            raise InputError(f"{path}: decodes to more than {cap} pixels by frame {count - 1}, "
                             f"over the limit per video (set {MAX_PIXELS_ENV} to raise it)")
        yield count - 1, frame
    declared = int(container.streams.video[0].frames or 0)
    if declared and count != declared:
        raise InputError(f"{path}: decoded {count} frames, but the container declares "
                         f"{declared}; the file is truncated or damaged")


@overload
def iter_frames(path: Path) -> Iterator[np.ndarray]: ...
@overload
def iter_frames(path: Path, keep: Callable[[int], bool]) -> Iterator[Optional[np.ndarray]]: ...


def iter_frames(path: Path, keep: Callable[[int], bool] | None = None
                ) -> Iterator[Optional[np.ndarray]]:
    """Frames of a video file one at a time as uint8 [H, W, 3] (PyAV), for streaming readers.

    With ``keep`` (a predicate on the frame number) frames it rejects are decoded but yield None
    instead of being converted to RGB, which is most of the cost of a frame we do not need.
    A file that cannot be opened or decoded raises `InputError` naming the file, also when the
    damage is found part-way through; so do a header declaring more pixels than
    `max_video_pixels`, a resolution change mid-stream, and a frame count other than the
    declared one (see `_decoded`).
    """
    import av

    cap = max_video_pixels()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: holds no video stream")
            _check_declared_size(path, container, container.streams.video[0], cap)
            for n, frame in _decoded(path, container, cap):
                yield frame.to_ndarray(format="rgb24") if keep is None or keep(n) else None
    except InputError:
        raise
    except (av.error.FFmpegError, IndexError, ValueError) as err:
        raise InputError(f"{path}: cannot decode video ({err})") from err


def count_video_packets(path: Path) -> int:
    """Video packets of a file, read without decoding: the frame count for the usual codecs
    (one frame per packet), which a reader confirms while decoding."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: holds no video stream")
            return sum(1 for packet in container.demux(video=0) if packet.size)
    except InputError:
        raise
    except (av.error.FFmpegError, IndexError, ValueError) as err:
        raise InputError(f"{path}: cannot read video ({err})") from err


def decode_video(path: Path) -> np.ndarray:
    """All frames of a video file as uint8 [T, H, W, 3] (PyAV)."""
    frames = list(iter_frames(path))
    if not frames:
        raise InputError(f"{path}: no video frames could be decoded")
    return np.stack(frames)


def cut_clips(video: np.ndarray, frames: Optional[int], clips: int, source: str) -> np.ndarray:
    """Consecutive, non-overlapping clips [clips, frames, H, W, 3] from the start of ``video``."""
    if frames is None:
        if clips != 1:
            raise InputError(f"{source}: clips per video > 1 needs a clip length (frames)")
        return video[None]
    need = frames * clips
    if video.shape[0] < need:
        raise InputError(
            f"{source}: has {video.shape[0]} frames, {need} needed ({clips} clip(s) × {frames})"
        )
    return video[:need].reshape(clips, frames, *video.shape[1:])


@dataclass
class ArraySource:
    """Clips from a [N, T, H, W, 3] array in a .npy (memory-mapped) or .npz file."""

    path: Path
    array: np.ndarray
    frames: Optional[int] = None

    def __len__(self) -> int:
        return self.array.shape[0]

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, len(self), batch_size):
            batch = np.array(self.array[start:start + batch_size])  # writable copy of a slice
            yield batch if self.frames is None else batch[:, :self.frames]


@dataclass
class VideoFilesSource:
    """Clips cut from video files, decoded one file at a time."""

    files: list[Path]
    frames: Optional[int] = None
    clips_per_video: int = 1

    def __len__(self) -> int:
        return len(self.files) * self.clips_per_video

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        return batched_clips(((str(p), decode_video(p)) for p in self.files), self.frames,
                             self.clips_per_video, batch_size)


def batched_clips(videos: Iterator[tuple[str, np.ndarray]], frames: Optional[int],
                  clips_per_video: int, batch_size: int) -> Iterator[np.ndarray]:
    """Batches of the clips cut from (where, video [T, H, W, 3]) pairs, which must all give
    clips of one shape (the first video's)."""
    pending: list[np.ndarray] = []
    shape, first, budget = None, "", BatchPixels()
    for where, video in videos:
        budget.add(video.size // 3, where)  # the clips are views of the whole video
        clips = cut_clips(video, frames, clips_per_video, where)
        if shape is None:
            shape, first = clips.shape[1:], where
        elif clips.shape[1:] != shape:
            raise InputError(
                f"{where}: clip shape {clips.shape[1:]} differs from {shape} of "
                f"{first}; all videos of one side must match (set --frames)"
            )
        pending.extend(clips)
        while len(pending) >= batch_size:
            yield np.stack(pending[:batch_size])
            pending = pending[batch_size:]
            budget.held = video.size // 3 if pending else 0
    if pending:
        yield np.stack(pending)


def _load_array(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return read_npy(path, mmap=True)
    keys = npz_keys(path)
    key = "videos" if "videos" in keys else (keys[0] if len(keys) == 1 else None)
    if key is None:
        raise InputError(f"{path}: an .npz of videos needs one array or a 'videos' key, "
                         f"found {keys}")
    return read_npz(path, [key])[key]


def _check_array(path: Path, array: np.ndarray) -> None:
    if array.ndim != 5 or array.shape[-1] != 3:
        raise InputError(f"{path}: expected videos [N, T, H, W, 3], got shape {array.shape}")
    if array.dtype != np.uint8 and array.dtype.kind != "f":
        raise InputError(f"{path}: expected uint8 (or float with --value-range), got {array.dtype}")


def _open_video_folder(path: Path, frames: Optional[int], clips_per_video: int):
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise InputError(f"{path}: folder holds no video files ({', '.join(VIDEO_SUFFIXES)}) "
                         "and no frame folders")
    return VideoFilesSource(files, frames, clips_per_video)


def _open_array(path: Path, frames: Optional[int], clips_per_video: int):
    array = _load_array(path)
    _check_array(path, array)
    if clips_per_video != 1:
        raise InputError(f"{path}: clips per video applies to video files, not arrays")
    if frames is not None and array.shape[1] < frames:
        raise InputError(f"{path}: has {array.shape[1]} frames per video, {frames} requested")
    return ArraySource(path, array, frames)


@dataclass(frozen=True)
class InputFormat:
    """One way videos arrive at the metric commands: which paths it takes, and its reader."""

    name: str
    matches: Callable[[Path], bool]
    open: Callable[[Path, Optional[int], int], Any]  # (path, frames, clips per video) → source


# In order: the first format whose ``matches`` takes the path reads it.
INPUT_FORMATS = (
    InputFormat("folder of per-video frame folders (png/jpg)", frames_input.is_frame_folders,
                frames_input.open_frame_folders),
    InputFormat("folder of video files", Path.is_dir, _open_video_folder),
    InputFormat("video file (" + "/".join(s[1:] for s in VIDEO_SUFFIXES) + ")",
                lambda p: p.suffix.lower() in VIDEO_SUFFIXES, lambda p, f, c: VideoFilesSource(
                    [p], f, c)),
    InputFormat(".npy/.npz array [N, T, H, W, 3]", lambda p: p.suffix in (".npy", ".npz"),
                _open_array),
    InputFormat(".zip of per-video frame folders", lambda p: p.suffix.lower() == ".zip",
                frames_input.open_frame_zip),
)


def open_source(path: str | Path, frames: Optional[int] = None, clips_per_video: int = 1):
    """Videos in any of ``INPUT_FORMATS`` as a clip source."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    for fmt in INPUT_FORMATS:
        if fmt.matches(path):
            return fmt.open(path, frames, clips_per_video)
    raise InputError(f"{path}: unsupported input; use one of: "
                     f"{'; '.join(f.name for f in INPUT_FORMATS)}")


class ArrayVideos(VideoDataset):
    """Videos of a [N, T, H, W, 3] uint8 array (.npy memory-mapped, or .npz) as a dataset."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.suffix not in (".npy", ".npz") or not self.path.is_file():
            raise InputError(f"{self.path}: expected an existing .npy or .npz file of videos")
        self.array = _load_array(self.path)
        _check_array(self.path, self.array)
        if self.array.dtype != np.uint8:
            raise InputError(f"{self.path}: dataset videos must be uint8, got {self.array.dtype}")
        self.name = str(self.path)

    def __len__(self) -> int:
        return self.array.shape[0]

    def _read(self, i: int) -> np.ndarray:
        return np.array(self.array[i])

    def data_files(self, indices: Sequence[int]) -> tuple[Path, list[Path]]:
        return self.path.parent, [self.path]


def open_videos(path: str | Path, size: Optional[int] = None, fit: str = "crop"
                ) -> VideoDataset:
    """An array file, a video file or a folder of video files as a `VideoDataset`; video files
    are fitted to ``size`` x ``size`` when ``size`` is given (see `protocols.datasets.spatial`)."""
    path = Path(path)
    if path.suffix in (".npy", ".npz"):
        dataset = ArrayVideos(path)
        if size is not None and dataset.array.shape[2:4] != (size, size):
            raise InputError(f"{path}: videos are {dataset.array.shape[2]}x"
                             f"{dataset.array.shape[3]}, expected {size}x{size}")
        return dataset
    from vdbench.protocols.datasets.files import VideoFiles

    source = open_source(path)  # validates the path and lists the video files
    if not isinstance(source, VideoFilesSource):
        raise InputError(f"{path}: frame folders and archives are read by the metric commands "
                         "(fvd, kvd, fid, is, features, stats), not as a dataset")
    return VideoFiles(source.files, size, fit)
