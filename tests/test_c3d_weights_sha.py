"""The C3D weights carry no pinned checksum, so the loader reports the SHA-256 of what it loaded."""

import hashlib
import shutil

import numpy as np

from vdbench.metrics import c3d_weights
from vdbench.metrics.c3d import C3DFeatures
from tests.test_cli_scores import c3d_dir  # noqa: F401  (random C3D release files)


def test_loaded_files_are_hashed(c3d_dir, tmp_path):  # noqa: F811
    c3d = C3DFeatures(weights_dir=c3d_dir)
    expected = {name: hashlib.sha256((c3d_dir / name).read_bytes()).hexdigest()
                for name in (c3d_weights.MODEL_FILE, c3d_weights.MEAN_FILE)}
    assert c3d.weights_sha256 == expected

    other = tmp_path / "c3d"
    shutil.copytree(c3d_dir, other)
    with np.load(other / c3d_weights.MEAN_FILE) as data:
        mean = data["mean"] + 1
    np.savez(other / c3d_weights.MEAN_FILE, mean=mean)
    changed = C3DFeatures(weights_dir=other)
    assert changed.weights_sha256[c3d_weights.MODEL_FILE] == expected[c3d_weights.MODEL_FILE]
    assert changed.weights_sha256[c3d_weights.MEAN_FILE] != expected[c3d_weights.MEAN_FILE]


def test_a_given_network_has_no_file_digest():
    model = c3d_weights.C3D()
    c3d = C3DFeatures(model=model, mean_crop=c3d_weights.crop_mean(
        np.zeros((3, 16, 128, 171), np.float32), "zeros"))
    assert c3d.weights_sha256 is None

