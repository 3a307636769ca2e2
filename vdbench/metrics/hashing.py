"""sha256 of files: once per process for weights (which are large and never change under us)."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (memory does not grow with the file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _sha256_of_version(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of a weights file, computed once per process for each (path, size, mtime): a file
    replaced in place is hashed again."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return _sha256_of_version(str(resolved), st.st_size, st.st_mtime_ns)
