"""The bottom-layer helpers: atomic writes and file hashing."""

import hashlib

import pytest

from vdbench.util.atomic import atomic_path, atomic_write_json, atomic_write_text
from vdbench.util.hashing import file_sha256


def test_file_sha256_known_vector_and_multi_block(tmp_path):
    small = tmp_path / "abc"
    small.write_bytes(b"abc")  # FIPS 180-2 test vector
    assert file_sha256(small) == \
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = tmp_path / "big"
    data = bytes(range(256)) * (3 * 4096 + 7)  # > 3 blocks of 1 MiB, not block-aligned
    big.write_bytes(data)
    assert file_sha256(big) == hashlib.sha256(data).hexdigest()


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic_write_text(target, "first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"  # the old file survives a failed write
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]  # no temp file left
    atomic_write_json(target, {"b": 1, "a": [2]})
    assert target.read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    assert target.stat().st_mode & 0o777 == 0o644
