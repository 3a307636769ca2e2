"""Videos stored as image frames: a folder of per-video frame folders, or a .zip archive of them
(the layout StyleGAN-V's dataset tools read and its sampling scripts write: one folder per video,
frames sorted by file name).

- Folder: ``ROOT/<video>/<frame>.png|jpg|jpeg``; videos in the order of their folder names,
  frames in the order of their file names. Every entry of a video folder must be an image; the
  folders and frames must lie inside ROOT once symlinks are resolved.
- Zip: image members grouped by the folder that holds them (``<video>/<frame>.png``, also under
  a common top folder); directory entries aside, every member must be an image inside a folder,
  and no member name may be absolute, hold ``..`` or a backslash (names that would escape an
  extraction folder are refused although nothing is extracted).

Frames decode with Pillow to RGB uint8. Every frame of a video must have the size of its first
frame, and a video's declared pixels (read from each image header before decoding) must stay
within the per-video cap of the video-file readers (``$VDBENCH_MAX_VIDEO_PIXELS``). Every
problem is one InputError naming the folder, archive or member.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Optional

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.containment import inside

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class FrameVideo:
    """One video: where it is (for messages) and its frames' names, in order."""

    where: str
    frames: tuple[str, ...]


def _is_image(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def is_frame_folders(path: Path) -> bool:
    """A folder of folders (of frames) and no video files (a folder of video files reads as
    such, as before, whatever folders it also holds)."""
    from vdbench.protocols.datasets.generic import VIDEO_SUFFIXES

    if not path.is_dir():
        return False
    entries = list(path.iterdir())
    return any(p.is_dir() for p in entries) and not any(
        p.suffix.lower() in VIDEO_SUFFIXES for p in entries if p.is_file())


def folder_videos(root: Path) -> list[FrameVideo]:
    """The videos of a folder of per-video frame folders (see the module docstring)."""
    videos = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        inside(entry, root, str(root))
        if not entry.is_dir():
            raise InputError(f"{entry}: not a folder; a folder of frame folders holds one "
                             "folder of frames per video")
        names = []
        for frame in sorted(entry.iterdir(), key=lambda p: p.name):
            inside(frame, root, str(root))
            if not frame.is_file() or not _is_image(frame.name):
                raise InputError(f"{frame}: not an image ({', '.join(IMAGE_SUFFIXES)}); a video "
                                 "folder holds its frames only")
            names.append(str(frame))
        if not names:
            raise InputError(f"{entry}: holds no frames")
        videos.append(FrameVideo(str(entry), tuple(names)))
    return videos


def _check_member_name(archive: Path, name: str) -> PurePosixPath:
    pure = PurePosixPath(name)
    if "\\" in name or pure.is_absolute() or ".." in pure.parts or ":" in pure.parts[0]:
        raise InputError(f"{archive}: member {name!r}: a path that escapes the archive's folder "
                         "(absolute, '..', a drive or a backslash)")
    return pure


def zip_videos(archive: Path, names: list[str]) -> list[FrameVideo]:
    """The videos of a zip of per-video frame folders, from its member names."""
    groups: dict[str, list[str]] = {}
    for name in names:
        pure = _check_member_name(archive, name)
        if name.endswith("/"):
            continue  # a directory entry
        if not _is_image(name):
            raise InputError(f"{archive}: member {name!r} is not an image "
                             f"({', '.join(IMAGE_SUFFIXES)})")
        if len(pure.parts) < 2:
            raise InputError(f"{archive}: member {name!r} lies outside any video folder; the "
                             "archive holds one folder of frames per video")
        groups.setdefault(str(pure.parent), []).append(name)
    if not groups:
        raise InputError(f"{archive}: holds no image frames")
    return [FrameVideo(f"{archive}:{folder}", tuple(sorted(frames)))
            for folder, frames in sorted(groups.items())]


def decode_frames(video: FrameVideo, open_frame: Callable[[str], IO[bytes]], cap: int,
                  cap_env: str) -> np.ndarray:
    """A video's frames as uint8 [T, H, W, 3]; sizes checked against frame 0 and the pixel cap
    from each image header before it is decoded."""
    from PIL import Image, UnidentifiedImageError

    out, size, pixels = [], None, 0
    for name in video.frames:
        try:
            with open_frame(name) as fh, Image.open(fh) as image:
                if size is None:
                    size = image.size
                elif image.size != size:
                    raise InputError(f"{video.where}: frame {name} is {image.size[0]}x"
                                     f"{image.size[1]}, but its first frame is {size[0]}x"
                                     f"{size[1]}; all frames of a video must have one size")
                pixels += image.size[0] * image.size[1]
                if pixels > cap:
                    raise InputError(f"{video.where}: more than {cap} pixels by frame {name}, "
                                     f"over the limit per video (set {cap_env} to raise it)")
                out.append(np.asarray(image.convert("RGB")))
        except InputError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError,
                ValueError, zipfile.BadZipFile) as err:
            raise InputError(f"{video.where}: frame {name}: cannot decode image ({err})") \
                from None
    return np.stack(out)


@dataclass
class FrameVideosSource:
    """Clips of frame-folder videos (a folder, or a zip archive), decoded one video at a time."""

    path: Path
    videos: list[FrameVideo]
    frames: Optional[int] = None
    clips_per_video: int = 1

    def __len__(self) -> int:
        return len(self.videos) * self.clips_per_video

    def _opener(self) -> tuple[Callable[[str], IO[bytes]], Optional[zipfile.ZipFile]]:
        if self.path.is_dir():
            return (lambda name: open(name, "rb")), None
        archive = zipfile.ZipFile(self.path)
        limit = 4 * _cap() + (1 << 20)  # an image file larger than 4 bytes a pixel: refused

        def open_member(name: str) -> IO[bytes]:
            info = archive.getinfo(name)
            if info.file_size > limit:
                raise InputError(f"{self.path}: member {name!r} declares {info.file_size} "
                                 f"bytes, over the limit of {limit}")
            return io.BytesIO(archive.read(info))
        return open_member, archive

    def decoded(self) -> Iterator[tuple[str, np.ndarray]]:
        from vdbench.protocols.datasets.generic import MAX_PIXELS_ENV

        open_frame, archive = self._opener()
        try:
            for video in self.videos:
                yield video.where, decode_frames(video, open_frame, _cap(), MAX_PIXELS_ENV)
        finally:
            if archive is not None:
                archive.close()

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        from vdbench.protocols.datasets.generic import batched_clips

        return batched_clips(self.decoded(), self.frames, self.clips_per_video, batch_size)


def _cap() -> int:
    from vdbench.protocols.datasets.generic import max_video_pixels

    return max_video_pixels()


def open_frame_folders(path: Path, frames: Optional[int], clips_per_video: int
                       ) -> FrameVideosSource:
    return FrameVideosSource(path, folder_videos(path), frames, clips_per_video)


def open_frame_zip(path: Path, frames: Optional[int], clips_per_video: int) -> FrameVideosSource:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"{path}: cannot read zip archive ({err})") from None
    return FrameVideosSource(path, zip_videos(path, names), frames, clips_per_video)
