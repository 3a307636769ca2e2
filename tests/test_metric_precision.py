"""Metric networks run in float32 with TF32 off (set explicitly, recorded in every record)."""

from __future__ import annotations

import pytest
import torch

from vdbench.engine.features import FeatureSet
from vdbench.metrics.networks import get_network
from vdbench.metrics.precision import check_float32, exact_float32, metric_precision
from vdbench.protocols.registry import get_protocol


@pytest.fixture
def tf32_on():
    """TF32 switched on (as some torch releases and user code do); restored afterwards."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def test_exact_float32_switches_tf32_off(tf32_on):
    assert metric_precision() == {"dtype": "float32", "tf32": True}
    assert exact_float32() == {"dtype": "float32", "tf32": False}
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False


def test_making_a_metric_network_switches_tf32_off(tf32_on, i3d_weights):
    extractor = get_network("i3d").make("cpu", str(i3d_weights))
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False
    assert {p.dtype for p in extractor.model.parameters()} == {torch.float32}


def test_feature_set_records_metric_precision(tf32_on):
    class Given:  # an extractor from outside the registry: no network is loaded
        network = "given"

    features = FeatureSet(get_protocol("shapes", "quick"), "cpu", extractor=Given())
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False
    assert features.record["metric_precision"] == {"dtype": "float32", "tf32": False}


def test_a_half_precision_metric_network_is_refused():
    class Half:
        model = torch.nn.Linear(2, 2).to(torch.bfloat16)

    with pytest.raises(ValueError, match="float32"):
        check_float32(Half(), "half")
    check_float32(type("Fine", (), {"model": torch.nn.Linear(2, 2)})(), "fine")
