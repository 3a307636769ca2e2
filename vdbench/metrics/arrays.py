"""The one reader of user-supplied ``.npy`` / ``.npz`` files.

An array file can lie: a 478 KB ``.npz`` may decompress to almost 1 GB, a member may be an
object array (a pickle), big-endian, or not an ``.npy`` at all. Each array's header (dtype and
shape) is read and checked before any data is allocated, and the bytes it would take are held
to a cap: ``VDBENCH_MAX_ARRAY_BYTES`` (default 4 GiB) or a caller's ``max_bytes``. Every
refusal is an InputError naming the file (and the member).
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Optional

import numpy as np
from numpy.lib import format as npformat

from vdbench.metrics.errors import InputError

DEFAULT_MAX_ARRAY_BYTES = 4 << 30
_READ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile)


def max_array_bytes() -> int:
    """The cap on one file's decoded arrays: ``VDBENCH_MAX_ARRAY_BYTES`` or 4 GiB."""
    raw = os.environ.get("VDBENCH_MAX_ARRAY_BYTES")
    if raw is None or raw == "":
        return DEFAULT_MAX_ARRAY_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 1:
        raise InputError(f"VDBENCH_MAX_ARRAY_BYTES: expected a positive integer, got {raw!r}")
    return value


def _header(fp: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an .npy header, without reading the data."""
    version = npformat.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = npformat.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = npformat.read_array_header_2_0(fp)
    else:
        raise InputError(f"{where}: unsupported .npy format version {version}")
    if dtype.hasobject:
        raise InputError(f"{where}: object arrays (pickled Python objects) are refused; "
                         "save plain numeric arrays")
    return tuple(shape), dtype


def _check_size(shape: tuple[int, ...], dtype: np.dtype, where: str, budget: int) -> int:
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > budget:
        raise InputError(f"{where}: array {shape} of {dtype} takes {nbytes} bytes, over the "
                         f"cap of {budget} bytes (raise VDBENCH_MAX_ARRAY_BYTES if it is meant)")
    return nbytes


def native(array: np.ndarray) -> np.ndarray:
    """``array`` in the machine's byte order (a big-endian file is converted explicitly)."""
    if not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    return array


def read_npy(path: str | os.PathLike[str], *, mmap: bool = False,
             max_bytes: Optional[int] = None) -> np.ndarray:
    """One .npy array, header checked first. ``mmap`` maps it read-only (no cap: nothing is
    allocated; the caller reads what it needs, converting the byte order with ``native``)."""
    path = Path(path)
    cap = max_array_bytes() if max_bytes is None else max_bytes
    try:
        with open(path, "rb") as fp:
            shape, dtype = _header(fp, str(path))
            if not mmap:
                _check_size(shape, dtype, str(path), cap)
        if mmap:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        return native(np.load(path, allow_pickle=False))
    except InputError:
        raise
    except _READ_ERRORS as err:
        raise InputError(f"{path}: cannot read as .npy ({err})") from err


def _member_key(info: zipfile.ZipInfo, where: str) -> str:
    if not info.filename.endswith(".npy"):
        raise InputError(f"{where}: member {info.filename!r} is not an .npy array")
    return info.filename[: -len(".npy")]


def read_npz(path: str | os.PathLike[str], keys: Optional[Iterable[str]] = None, *,
             max_bytes: Optional[int] = None) -> dict[str, np.ndarray]:
    """The arrays of an .npz (only ``keys`` when given: the others are never decompressed),
    member by member: each member must be an .npy whose header passes, and the members read
    may not decode to more than the cap in all."""
    path = Path(path)
    budget = max_array_bytes() if max_bytes is None else max_bytes
    wanted = None if keys is None else set(keys)
    out: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                key = _member_key(info, str(path))
                if wanted is not None and key not in wanted:
                    continue
                where = f"{path}: {key}"
                # The zip's own declared size first (cheap), then the .npy header's shape.
                if info.file_size > budget:
                    raise InputError(f"{where}: decompresses to {info.file_size} bytes, over "
                                     f"the cap of {budget} bytes (raise "
                                     "VDBENCH_MAX_ARRAY_BYTES if it is meant)")
                with zf.open(info) as fp:
                    shape, dtype = _header(fp, where)
                budget -= _check_size(shape, dtype, where, budget)
                with zf.open(info) as fp:
                    out[key] = native(npformat.read_array(fp, allow_pickle=False))
    except InputError:
        raise
    except _READ_ERRORS as err:
        raise InputError(f"{path}: cannot read as .npz ({err})") from err
    return out


def npz_keys(path: str | os.PathLike[str]) -> list[str]:
    """The array names of an .npz, from its directory only (nothing is decompressed)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return [_member_key(info, str(path)) for info in zf.infolist()]
    except InputError:
        raise
    except _READ_ERRORS as err:
        raise InputError(f"{path}: cannot read as .npz ({err})") from err
