"""Downloading one weights file into the cache atomically; callers say what to place where."""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from pathlib import Path

from vdbench.metrics.atomic import atomic_path
from vdbench.metrics.errors import WeightsUnavailableError

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path, what: str, timeout: float = 60.0) -> Path:
    """``url`` → ``dest`` (temp file, then rename); logs the sha256 of what arrived."""
    log.info("Downloading %s from %s", what, url)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                atomic_path(dest) as tmp, open(tmp, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise WeightsUnavailableError(f"cannot download {what}: {err}") from err
    log.info("%s: sha256 %s", dest, digest.hexdigest())
    return dest
