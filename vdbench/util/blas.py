"""Run numpy's float64 linear algebra on one BLAS thread, so its bits do not depend on the
machine's core count.

A multi-threaded BLAS splits matrix products and LAPACK's inner steps (the SVD behind the
Fréchet distance) differently for each thread count, and the partial sums then add up in
another order: results differ in their last bits between 1 and 2 threads. One thread fixes the
order. The BLAS numpy loaded is found among the process's shared libraries (Linux:
/proc/self/maps) and pinned through its own thread-count functions (OpenBLAS, in numpy's wheels,
or MKL); where none is found (another platform, another BLAS) nothing is pinned, a debug line
says so and ``pinned_blas_libraries`` is empty.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# (get, set) thread-count functions of the BLAS builds numpy ships or links; the scipy-openblas
# wheels prefix and suffix OpenBLAS's names (64-bit integer interface).
_THREAD_FUNCTIONS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"),
)
_NAMES = ("openblas", "mkl_rt")
_LOCK = threading.RLock()


@functools.lru_cache(maxsize=1)
def _controls() -> tuple[tuple[str, Any, Any], ...]:
    """(library, get, set) for each BLAS loaded into this process (numpy's is loaded first)."""
    import numpy.linalg  # noqa: F401  (loads numpy's BLAS/LAPACK library)

    maps = Path("/proc/self/maps")
    if not maps.exists():
        log.debug("no /proc/self/maps: numpy's BLAS threads are not pinned")
        return ()
    paths = {line.split()[-1] for line in maps.read_text().splitlines()
             if line.split()[-1].startswith("/")}
    found = []
    for path in sorted(p for p in paths if any(n in Path(p).name.lower() for n in _NAMES)):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _THREAD_FUNCTIONS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, set_.restype = ctypes.c_int, None
                found.append((path, get, set_))
                break
    if not found:
        log.debug("no OpenBLAS or MKL found: BLAS results may depend on the thread count")
    return tuple(found)


def pinned_blas_libraries() -> list[str]:
    """The BLAS libraries ``one_blas_thread`` pins (empty: results may depend on threads)."""
    return [path for path, _, _ in _controls()]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Inside: every BLAS found runs on one thread; afterwards its thread count is restored.
    Re-entrant, and serialised across Python threads (the count is process-wide)."""
    with _LOCK:
        controls = _controls()
        before = [get() for _, get, _ in controls]
        try:
            for (_, _, set_), n in zip(controls, before, strict=True):
                if n != 1:
                    set_(1)
            yield
        finally:
            for (_, _, set_), n in zip(controls, before, strict=True):
                if n != 1:
                    set_(n)
