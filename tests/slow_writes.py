"""Imported before the CLI in a test subprocess: chunk files are written in two halves with a
pause between, so that a test can SIGKILL the process in the middle of a write."""

import io
import time

import numpy as np

from vdbench.util.atomic import atomic_path
from vdbench.engine import cache as run_cache


def slow_savez(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(0.5)
        f.write(data[len(data) // 2:])


run_cache.atomic_savez = slow_savez
