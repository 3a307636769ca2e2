"""vdbench: benchmark and evaluation harness for video generative models.

The Python API (vdbench.api) loads on first use, so that `import vdbench` and the CLI stay
light: ``vdbench.fvd``, ``vdbench.kvd``, ``vdbench.fid``, ``vdbench.inception_score``,
``vdbench.StreamingFVD``, ``vdbench.StreamingFrechet``, ``vdbench.MetricResult``.
"""

__version__ = "0.1.0"

TYPE_CHECKING = False  # (not typing's: importing typing costs more than the rest of this)
if TYPE_CHECKING:
    from vdbench.api import (MetricResult, StreamingFrechet, StreamingFVD, fid,
                             inception_score, kvd, fvd)

__all__ = ["fvd", "kvd", "fid", "inception_score", "StreamingFVD", "StreamingFrechet",
           "MetricResult"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from vdbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'vdbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
