"""Metric networks run in exact float32: no TF32 for matmuls or cuDNN convolutions.

TF32 rounds matmul and convolution inputs to 10 mantissa bits on Ampere and later GPUs; the
reference-exact FVD, FID and Inception Scores would silently move. torch's defaults have
changed between releases, so the flags are set explicitly whenever a metric network is made,
and what was in force is written into every record.
"""

from __future__ import annotations

from typing import Any


def exact_float32() -> dict[str, Any]:
    """Switch TF32 off for CUDA matmuls and cuDNN; returns :func:`metric_precision`."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return metric_precision()


def metric_precision() -> dict[str, Any]:
    """The record entry: the metric networks' dtype and whether TF32 is on now."""
    import torch

    tf32 = bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)
    return {"dtype": "float32", "tf32": tf32}


def check_float32(extractor: Any, name: str) -> None:
    """Refuse a metric network whose weights are not float32 (its ``model``, if it has one)."""
    import torch

    model = getattr(extractor, "model", None)
    if not isinstance(model, torch.nn.Module):
        return
    dtypes = {p.dtype for p in model.parameters()} | {b.dtype for b in model.buffers()
                                                       if b.is_floating_point()}
    if dtypes - {torch.float32}:
        raise ValueError(f"metric network {name} has {sorted(map(str, dtypes))} weights; "
                         "metric networks run in float32")
