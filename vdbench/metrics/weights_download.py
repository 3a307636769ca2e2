"""Downloading one weights file into the cache atomically; callers say what to place where."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from pathlib import Path

from vdbench.metrics.errors import WeightsUnavailableError
from vdbench.util.atomic import atomic_path
from vdbench.util.hashing import file_sha256

log = logging.getLogger(__name__)


def download(url: str, dest: Path, what: str, timeout: float = 60.0) -> Path:
    """``url`` → ``dest`` (temp file, then rename); logs the sha256 of what arrived."""
    log.info("Downloading %s from %s", what, url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                atomic_path(dest) as tmp, open(tmp, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise WeightsUnavailableError(f"cannot download {what}: {err}") from err
    log.info("%s: sha256 %s", dest, file_sha256(dest))
    return dest
