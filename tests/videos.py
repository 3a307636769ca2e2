"""Helpers that write small real video files with PyAV for tests."""

from pathlib import Path

import av
import numpy as np


CODECS = {".gif": "gif", ".avi": "mpeg4"}  # .avi as UCF101 stores it (MPEG-4 part 2, xvid)


def write_video(path: Path, frames: np.ndarray, fps: int = 10) -> Path:
    """Write uint8 [T, H, W, 3] frames (H, W even) as mp4 (h264), avi (mpeg4) or gif."""
    codec = CODECS.get(path.suffix, "libx264")
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def random_videos(n: int, t: int = 10, h: int = 16, w: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, t, h, w, 3), dtype=np.uint8)
