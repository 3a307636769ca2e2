"""Containment: a file named inside a dataset (a captions.jsonl entry, an annotation CSV row, a
split-list line) must lie inside the dataset folder once symlinks are resolved, so a list file
cannot make vdbench open and score an arbitrary file elsewhere on the machine."""

from __future__ import annotations

from pathlib import Path

from vdbench.metrics.errors import InputError


def inside(path: Path, folder: Path, where: str) -> Path:
    """``path`` unchanged when it resolves (symlinks followed) inside ``folder``; else an
    `InputError` naming ``where`` (the list file and line that named it)."""
    try:
        resolved, root = Path(path).resolve(), Path(folder).resolve()
    except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a NUL in the name
        raise InputError(f"{where}: cannot resolve {path!r} ({err})") from None
    if not resolved.is_relative_to(root):
        shown = str(path) if resolved == Path(path).absolute() else f"{path} (-> {resolved})"
        raise InputError(f"{where}: {shown} is outside the dataset folder {root}; files a "
                         "dataset names must lie inside it")
    return path
