"""sha256 of files: once per process for weights (which are large and never change under us)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from vdbench.util.hashing import file_sha256


@functools.lru_cache(maxsize=None)
def _sha256_of_version(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of a weights file, computed once per process for each (path, size, mtime): a file
    replaced in place is hashed again."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return _sha256_of_version(str(resolved), st.st_size, st.st_mtime_ns)
