"""sha256 of files: once per process for weights (which are large and never change under us)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from vdbench.util.atomic import atomic_write_json
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


def sha256_record_path(path: str | os.PathLike) -> Path:
    """The JSON beside a weights file that holds the sha256 it had when written (or first used):
    ``<name>.sha256.json``. A file's hash cannot live inside the file itself."""
    path = Path(path)
    return path.with_name(path.name + ".sha256.json")


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The sha256 recorded for ``path``, or None when nothing (readable) is recorded."""
    record = sha256_record_path(path)
    try:
        data = json.loads(record.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    digest = data.get("sha256") if isinstance(data, dict) else None
    return digest if isinstance(digest, str) else None


def record_sha256(path: str | os.PathLike, source: str) -> str:
    """Hash ``path`` and write its record atomically; returns the digest."""
    digest = weights_sha256(path)
    atomic_write_json(sha256_record_path(path),
                      {"file": Path(path).name, "sha256": digest, "source": source})
    return digest


def check_first_use_sha256(path: str | os.PathLike, record: bool, remedy: str) -> None:
    """``path`` against the sha256 recorded at its first use; with ``record``, record it when
    nothing is recorded yet (a cache's file). A changed file is refused, the message ending with
    ``remedy`` (how to write it again)."""
    from vdbench.metrics.errors import WeightsUnavailableError

    recorded = recorded_sha256(path)
    if recorded is None:
        if record:
            record_sha256(path, "first use")
        return
    digest = weights_sha256(path)
    if digest != recorded:
        raise WeightsUnavailableError(
            f"{path}: sha256 {digest} differs from the {recorded} recorded at its first use "
            f"(changed since); delete it and {sha256_record_path(path).name}, then {remedy}")
