"""Attach the file being read to whatever exception reading it raises, so the CLI's one error
line can name the file even when the failure comes from numpy, zipfile or safetensors."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator, Union

ATTRIBUTE = "vdbench_file"


@contextlib.contextmanager
def naming_file(path: Union[str, "os.PathLike[str]"]) -> Iterator[None]:
    """Record ``path`` on an exception raised inside the block (the innermost name wins)."""
    try:
        yield
    except Exception as err:
        if getattr(err, ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                setattr(err, ATTRIBUTE, os.fspath(path))
        raise


def file_of(err: BaseException) -> str | None:
    """The file recorded by :func:`naming_file`, or None."""
    value = getattr(err, ATTRIBUTE, None)
    return value if isinstance(value, str) else None
