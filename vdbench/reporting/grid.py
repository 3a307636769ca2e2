"""Sample grids: rows of videos, frames left to right, observed (conditioning) frames framed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vdbench.util.atomic import atomic_path

HIGHLIGHT = np.array([255, 200, 0], dtype=np.uint8)  # border of conditioning frames


def _framed(frame: np.ndarray, observed: bool, pad: int = 2) -> np.ndarray:
    h, w, _ = frame.shape
    out = np.full((h + 2 * pad, w + 2 * pad, 3), 255, np.uint8)
    if observed:
        out[:] = HIGHLIGHT
    out[pad:pad + h, pad:pad + w] = frame
    return out


def grid_image(rows: np.ndarray, context_frames: int, scale: int = 2) -> np.ndarray:
    """rows: uint8 [R, T, H, W, 3] → one image; frames < context_frames get a yellow border."""
    lines = [np.concatenate([_framed(f, t < context_frames) for t, f in enumerate(video)], axis=1)
             for video in rows]
    image = np.concatenate(lines, axis=0)
    return np.kron(image, np.ones((scale, scale, 1), np.uint8)) if scale > 1 else image


def grid_video(rows: np.ndarray, context_frames: int, scale: int = 2) -> np.ndarray:
    """[T, H', W', 3]: all rows side by side, playing in time (observed frames framed)."""
    frames = []
    for t in range(rows.shape[1]):
        tile = np.concatenate([_framed(v[t], t < context_frames) for v in rows], axis=1)
        frames.append(np.kron(tile, np.ones((scale, scale, 1), np.uint8)))
    return np.stack(frames)


def write_png(image: np.ndarray, path: str | Path) -> Path:
    import av

    path = Path(path)
    h, w = image.shape[:2]
    with atomic_path(path, keep_suffix=True) as tmp, \
            av.open(str(tmp), mode="w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = w, h, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def write_video(frames: np.ndarray, path: Path, fps: int = 8) -> None:
    """Write uint8 [T, H, W, 3] as .gif or .mp4 with PyAV (atomically: an earlier file at
    ``path`` survives any failure)."""
    import av

    path = Path(path)
    codec, pix_fmt = ("gif", "rgb8") if path.suffix == ".gif" else ("mpeg4", "yuv420p")
    with atomic_path(path, keep_suffix=True) as tmp, av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        height, width = frames.shape[1:3]
        pad = int(codec != "gif")  # yuv420p needs even sizes
        stream.height, stream.width = height + height % 2 * pad, width + width % 2 * pad
        stream.pix_fmt = pix_fmt
        for frame in frames:
            image = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if (image.width, image.height) != (stream.width, stream.height):
                image = image.reformat(width=stream.width, height=stream.height)
            container.mux(stream.encode(image))
        container.mux(stream.encode())


def save_grid(videos: np.ndarray, context_frames: int, out_dir: str | Path, stem: str) -> list:
    """``stem``.png (frames in a row per video) and ``stem``.gif (videos playing side by side)."""
    out_dir = Path(out_dir)
    png = write_png(grid_image(videos, context_frames), out_dir / f"{stem}.png")
    gif = out_dir / f"{stem}.gif"
    write_video(grid_video(videos, context_frames), gif)
    return [png, gif]
