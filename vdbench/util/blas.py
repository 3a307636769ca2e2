"""Run numpy's float64 linear algebra on one BLAS thread, so its bits do not depend on the
machine's core count.

A multi-threaded BLAS splits matrix products and LAPACK's inner steps (the SVD behind the
Fréchet distance) differently for each thread count, and the partial sums then add up in
another order: results differ in their last bits between 1 and 2 threads. One thread fixes the
order. threadpoolctl finds the BLAS libraries loaded into the process (OpenBLAS in numpy's
wheels, MKL, BLIS) and sets their thread counts; where it finds none, nothing is pinned and
``pinned_blas_libraries`` is empty.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from threadpoolctl import threadpool_info, threadpool_limits

_LOCK = threading.RLock()


def pinned_blas_libraries() -> list[str]:
    """The BLAS libraries ``one_blas_thread`` pins (empty: results may depend on threads)."""
    import numpy.linalg  # noqa: F401  (loads numpy's BLAS/LAPACK library)

    return [info["filepath"] for info in threadpool_info() if info["user_api"] == "blas"]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Inside: every BLAS loaded runs on one thread; afterwards its thread count is restored.
    Re-entrant, and serialised across Python threads (the count is process-wide)."""
    with _LOCK, threadpool_limits(limits=1, user_api="blas"):
        yield
