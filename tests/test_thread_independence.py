"""Results do not depend on the thread count: Gaussian statistics and Fréchet distances give the
same bits with numpy's BLAS on 1 and 2 threads, and so do the I3D and C3D features with torch
on 1 and 2 threads. The FID Inception does not (oneDNN); its measured bound is tested."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.helpers_run import ROOT

# Features of two sets (one smaller than the dimension: a rank-deficient covariance), added in
# uneven batches, then every number a Fréchet metric reads, printed exactly.
_STATS_SCRIPT = r"""
import hashlib, json, numpy as np
from vdbench.metrics.frechet import GaussianStats, frechet_distance, symmetric_sqrt
from vdbench.util.blas import pinned_blas_libraries
rng = np.random.default_rng(7)
h = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
out = {"pinned": pinned_blas_libraries()}
for n, d in ((600, 400), (300, 400)):
    x = (rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d)).astype(np.float32)
    y = (rng.standard_normal((n, d)) * 2 + 0.3).astype(np.float32)
    a, b = GaussianStats(d), GaussianStats(d)
    for lo, hi in ((0, 7), (7, 130), (130, n)):
        a.update(x[lo:hi]); b.update(y[lo:hi])
    out[f"{n}x{d}"] = [h(a.sum), h(a.sum_outer), h(symmetric_sqrt(a.cov)),
                       repr(frechet_distance(a, b, warn=False)),
                       repr(frechet_distance(a + b, b, warn=False))]
print(json.dumps(out))
"""


def _stats_at(threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    res = subprocess.run([sys.executable, "-c", _STATS_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def test_gaussian_stats_and_frechet_distance_same_bits_at_1_and_2_blas_threads():
    one, two = _stats_at(1), _stats_at(2)
    if sys.platform.startswith("linux"):
        assert one["pinned"], "numpy's BLAS was not found, so nothing pins its threads"
    assert one == two


def test_one_blas_thread_pins_and_restores():
    code = ("from threadpoolctl import threadpool_info\n"
            "from vdbench.util.blas import one_blas_thread, pinned_blas_libraries\n"
            "path = pinned_blas_libraries()[0]\n"
            "get = lambda: [i['num_threads'] for i in threadpool_info()\n"
            "               if i['filepath'] == path][0]\n"
            "before = get()\n"
            "with one_blas_thread():\n"
            "    with one_blas_thread():\n"
            "        inner = get()\n"
            "    middle = get()\n"
            "print(before, inner, middle, get())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2",
           "OPENBLAS_NUM_THREADS": "2"}
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["2", "1", "1", "2"]


def _at_threads(fn, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


def _videos(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def test_i3d_features_same_bits_at_1_and_2_torch_threads(i3d_extractor):
    # An odd batch: oneDNN's split of the final 1×1×1 conv differed from 2 videos on.
    videos = _videos((3, 16, 40, 40, 3))
    one = _at_threads(lambda: i3d_extractor(videos), 1)
    two = _at_threads(lambda: i3d_extractor(videos), 2)
    assert one.tobytes() == two.tobytes()


def test_c3d_features_same_bits_at_1_and_2_torch_threads():
    from vdbench.metrics.c3d import C3D, C3DFeatures

    torch.manual_seed(0)
    c3d = C3DFeatures(model=C3D(), mean_crop=torch.full((3, 16, 112, 112), 100.0))
    videos = _videos((3, 16, 48, 48, 3))
    one = _at_threads(lambda: c3d.features_and_logits(videos), 1)
    two = _at_threads(lambda: c3d.features_and_logits(videos), 2)
    assert np.abs(one[0]).max() > 0  # the features are not all clipped to zero by the ReLU
    for a, b in zip(one, two, strict=True):
        assert a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    from tests.test_inception import _random_state
    from vdbench.metrics.inception import InceptionFeatures
    from vdbench.metrics.inception_weights import load_inception

    path = tmp_path_factory.mktemp("inception") / "random.pth"
    torch.save(_random_state(), path)
    return InceptionFeatures("avg", model=load_inception(path))


def test_inception_features_at_1_and_2_threads_within_the_documented_bound(inception):
    """oneDNN's 2-D convolutions split work by thread count; ATen's own convolutions would give
    the same bits but at about 1.8× the time, so the README states this bound instead."""
    videos = _videos((2, 2, 48, 48, 3))
    one = _at_threads(lambda: inception.features_and_logits(videos), 1)
    two = _at_threads(lambda: inception.features_and_logits(videos), 2)
    for a, b in zip(one, two, strict=True):
        rel = np.abs(a.astype(np.float64) - b).max() / np.abs(a).max()
        assert rel <= 1e-6
