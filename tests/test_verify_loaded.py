"""What is loaded is verified, not only what was downloaded (issue 13, item 3).

Converted I3D weights, the Inception and C3D weights in the cache, checkpoints and run-cache chunks
are each checked against a sha256 (or, for chunks, an identity) recorded when they were written;
an altered or moved file is re-made or refused by name, never used.
"""

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.engine.cache import IDENTITY, KEY, ChunkCache
from vdbench.engine.chunks import Chunk
from vdbench.metrics import c3d_weights, inception_weights
from vdbench.metrics import i3d_weights as i3dw
from vdbench.metrics.errors import WeightsUnavailableError
from vdbench.metrics.hashing import sha256_record_path
from vdbench.model import checkpoint as ckpt
from vdbench.model.diffusion import load_denoiser
from vdbench.model.errors import CheckpointError
from vdbench.model.train import new_state, restore_state, state_tensors
from tests.helpers_model import micro_config
from tests.helpers_run import records, run_vdbench
from tests.test_cli_scores import c3d_dir  # noqa: F401  (random C3D release files)
from tests.test_resume import ARGS, _same_result, reference  # noqa: F401


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flip(path: Path, offset: int, mask: int = 0x10) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= mask
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------- converted I3D weights

@pytest.fixture(scope="module")
def i3d_original(i3d_weights):
    """(sha256 of the converted file, logits of one fixed clip) from the untouched cache."""
    clip = torch.rand(1, 3, 9, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        logits = i3d_weights_module_logits(i3d_weights, clip)
    return _sha(i3d_weights), clip, logits


def i3d_weights_module_logits(path: Path, clip: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return i3dw.load_i3d(path)(clip)


@pytest.fixture
def private_cache(tmp_path, monkeypatch, i3d_weights):
    """A cache of our own (the shared one is never altered) holding a copy of the weights."""
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "cache"))
    copy = tmp_path / "cache" / "weights" / i3d_weights.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(i3d_weights, copy)
    return copy


def _with_archive(cache_weights: Path, original_weights: Path) -> Path:
    archive = original_weights.parent.parent / "downloads" / i3dw.ARCHIVE
    assert archive.is_file(), "the i3d_weights fixture converts from this archive"
    dest = cache_weights.parent.parent / "downloads" / i3dw.ARCHIVE
    dest.parent.mkdir(parents=True)
    shutil.copyfile(archive, dest)
    return dest


# Offsets into the ~50 MB file: inside the first tensors, the middle and the last bytes.
FLIP_OFFSETS = [20_000, 25_000_001, -5]


@pytest.mark.parametrize("offset", FLIP_OFFSETS)
def test_bit_flip_in_converted_i3d_is_reconverted(private_cache, i3d_weights, i3d_original,
                                                  offset, caplog):
    digest, clip, logits = i3d_original
    _with_archive(private_cache, i3d_weights)
    assert i3dw.fetch_i3d_weights() == private_cache  # records the conversion's hash
    assert json.loads(sha256_record_path(private_cache).read_text())["sha256"] == digest
    _flip(private_cache, offset)
    assert _sha(private_cache) != digest
    with caplog.at_level(logging.WARNING):
        path = i3dw.fetch_i3d_weights()
    assert private_cache.name in caplog.text and "converted again" in caplog.text
    # Conversions may order tensors differently in the file; the tensors are the original's.
    assert i3dw.same_tensors(path, i3d_weights)
    assert json.loads(sha256_record_path(path).read_text())["sha256"] == _sha(path)
    assert torch.equal(i3d_weights_module_logits(path, clip), logits)
    i3dw.fetch_i3d_weights()  # verified now: nothing more to say
    assert caplog.text.count("converted again") == 1


@pytest.mark.parametrize("offset", FLIP_OFFSETS)
def test_bit_flip_without_archive_is_refused_naming_the_file(private_cache, i3d_weights,
                                                             offset):
    sha256_record_path(private_cache).write_text(json.dumps({"sha256": _sha(private_cache)}))
    _flip(private_cache, offset)
    for load in (i3dw.fetch_i3d_weights, lambda: i3dw.load_i3d(private_cache)):
        with pytest.raises(WeightsUnavailableError) as err:
            load()
        msg = str(err.value)
        assert str(private_cache) in msg and "delete the file" in msg and "\n" not in msg


def test_hand_placed_i3d_is_recorded_at_first_use_then_checked(private_cache, i3d_weights):
    record = sha256_record_path(private_cache)
    assert not record.exists()
    i3dw.fetch_i3d_weights()  # no archive in this cache: trust on first use
    assert json.loads(record.read_text())["sha256"] == _sha(i3d_weights)
    _flip(private_cache, 1000)
    with pytest.raises(WeightsUnavailableError, match="delete the file"):
        i3dw.fetch_i3d_weights()


def test_i3d_record_missing_with_archive_keeps_an_identical_file(private_cache, i3d_weights,
                                                                 caplog):
    _with_archive(private_cache, i3d_weights)
    before = private_cache.stat().st_mtime_ns
    with caplog.at_level(logging.WARNING):
        i3dw.fetch_i3d_weights()
    assert private_cache.stat().st_mtime_ns == before  # verified by converting again, kept
    assert "converted again" not in caplog.text
    assert json.loads(sha256_record_path(private_cache).read_text())["sha256"] == \
        _sha(i3d_weights)


def test_i3d_outside_the_cache_gets_no_record_written(tmp_path, i3d_weights, i3d_original):
    mine = tmp_path / "mine" / "i3d.safetensors"
    mine.parent.mkdir()
    shutil.copyfile(i3d_weights, mine)
    _, clip, logits = i3d_original
    assert torch.equal(i3d_weights_module_logits(mine, clip), logits)
    assert list(mine.parent.iterdir()) == [mine]


def test_fvd_cli_refuses_altered_i3d_in_one_line(private_cache, tmp_path):
    sha256_record_path(private_cache).write_text(json.dumps({"sha256": _sha(private_cache)}))
    _flip(private_cache, 123_456)
    videos = np.random.default_rng(0).integers(0, 255, (2, 9, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "a.npy", videos)
    res = CliRunner().invoke(main, ["fvd", str(tmp_path / "a.npy"), str(tmp_path / "a.npy")])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(private_cache) in lines[0]


# ---------------------------------------------------------------- Inception and C3D weights

def test_inception_cache_file_is_recorded_then_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))
    path = inception_weights.weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(range(256)) * 64)
    monkeypatch.setattr(inception_weights, "SHA256_PREFIX", _sha(path)[:8])
    assert inception_weights.fetch_inception_weights() == path
    assert json.loads(sha256_record_path(path).read_text())["sha256"] == _sha(path)
    _flip(path, 77)
    with pytest.raises(WeightsUnavailableError, match="delete the file"):
        inception_weights.fetch_inception_weights()


@pytest.fixture
def c3d_cache(c3d_dir, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "cache"))
    folder = c3d_weights.default_dir()
    shutil.copytree(c3d_dir, folder)
    return folder


@pytest.mark.parametrize("name", c3d_weights.FILES)
def test_c3d_cache_files_changed_since_first_load_are_refused(c3d_cache, name):
    c3d_weights.load_c3d()
    for f in c3d_weights.FILES:
        assert json.loads(sha256_record_path(c3d_cache / f).read_text())["sha256"] == \
            _sha(c3d_cache / f)
    c3d_weights.load_c3d()  # unchanged: loads again
    _flip(c3d_cache / name, -30)
    with pytest.raises(WeightsUnavailableError) as err:
        c3d_weights.load_c3d()
    assert str(c3d_cache / name) in str(err.value) and "delete it" in str(err.value)


def test_c3d_user_folder_is_checked_only_against_a_record_beside_it(c3d_dir, tmp_path):  # noqa
    folder = tmp_path / "mine"
    shutil.copytree(c3d_dir, folder)
    c3d_weights.load_c3d(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(c3d_weights.FILES)  # none written
    record = sha256_record_path(folder / c3d_weights.MEAN_FILE)
    record.write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(WeightsUnavailableError, match=c3d_weights.MEAN_FILE):
        c3d_weights.load_c3d(folder)


# ---------------------------------------------------------------- checkpoints

@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ckpt")
    config = micro_config()
    tensors, extra = state_tensors(new_state(config))
    sidecar = ckpt.save_checkpoint(run, 2, config, tensors, extra)
    return sidecar, config


@pytest.fixture
def damaged(micro_run, tmp_path):
    """A fresh copy of the micro checkpoint in its own folder."""
    sidecar, config = micro_run
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(sidecar.with_suffix(suffix), tmp_path / sidecar.with_suffix(suffix).name)
    return tmp_path / sidecar.name, config


def _truncate(weights: Path, keep: int) -> None:
    data = weights.read_bytes()
    weights.write_bytes(data[:keep % len(data)])


DAMAGE = {
    "truncated-empty": lambda w: w.write_bytes(b""),
    "truncated-header": lambda w: _truncate(w, 5),
    "truncated-half": lambda w: _truncate(w, len(w.read_bytes()) // 2),
    "truncated-last-byte": lambda w: _truncate(w, -1),
    "flip-header-length": lambda w: _flip(w, 0, 0x01),
    "flip-header-json": lambda w: _flip(w, 20),
    "flip-tensor-data": lambda w: _flip(w, len(w.read_bytes()) // 2),
    "flip-last-byte": lambda w: _flip(w, -1),
    "missing": lambda w: w.unlink(),
}
LOADERS = {
    "load_checkpoint": lambda p, cfg: ckpt.load_checkpoint(p),
    "load_network": lambda p, cfg: ckpt.load_network(p),
    "load_denoiser": lambda p, cfg: load_denoiser(p),
    "export": lambda p, cfg: ckpt.export_weights(p, p.parent / "export"),
    "resume": lambda p, cfg: restore_state(new_state(cfg), p),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("loader", ["load_checkpoint", "load_network", "load_denoiser"])
def test_damaged_checkpoint_is_refused_naming_the_file(damaged, damage, loader):
    sidecar, config = damaged
    weights = sidecar.with_suffix(".safetensors")
    DAMAGE[damage](weights)
    with pytest.raises(CheckpointError) as err:
        LOADERS[loader](sidecar, config)
    assert str(weights) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("loader", ["export", "resume"])
@pytest.mark.parametrize("damage", ["truncated-half", "flip-tensor-data"])
def test_export_and_resume_refuse_a_damaged_checkpoint(damaged, damage, loader):
    sidecar, config = damaged
    DAMAGE[damage](sidecar.with_suffix(".safetensors"))
    with pytest.raises(CheckpointError, match="does not match the sha256"):
        LOADERS[loader](sidecar, config)
    assert not (sidecar.parent / "export").exists()


def test_intact_checkpoint_loads_the_saved_tensors(micro_run):
    sidecar, config = micro_run
    tensors, meta = ckpt.load_checkpoint(sidecar)
    saved, _ = state_tensors(new_state(config))
    assert meta["sha256"] == _sha(sidecar.with_suffix(".safetensors"))
    assert sorted(tensors) == sorted(saved)
    assert all(torch.equal(tensors[k], saved[k]) for k in saved)


@pytest.mark.parametrize("sha", [None, 7, "0" * 64])
def test_sidecar_without_the_right_sha256_is_refused(damaged, sha):
    sidecar, _ = damaged
    meta = json.loads(sidecar.read_text())
    if sha is None:
        del meta["sha256"]
    else:
        meta["sha256"] = sha
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=sidecar.name):
        ckpt.load_checkpoint(sidecar)


def test_recorded_but_malformed_safetensors_is_one_line(damaged):
    """A sidecar re-written for a broken file: the sha256 holds, the decoder refuses."""
    sidecar, _ = damaged
    weights = sidecar.with_suffix(".safetensors")
    _truncate(weights, 100)
    meta = json.loads(sidecar.read_text())
    meta["sha256"] = _sha(weights)
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as err:
        ckpt.load_checkpoint(sidecar)
    assert str(weights) in str(err.value) and "\n" not in str(err.value)


def test_run_dir_skips_an_altered_newest_checkpoint_with_a_warning(damaged, caplog):
    sidecar, config = damaged
    tensors, extra = state_tensors(new_state(config))
    newer = ckpt.save_checkpoint(sidecar.parent, 3, config, tensors, extra)
    _flip(newer.with_suffix(".safetensors"), -1)
    with caplog.at_level(logging.WARNING):
        assert ckpt.latest_checkpoint(sidecar.parent) == sidecar
    assert newer.with_suffix(".safetensors").name in caplog.text


@pytest.mark.parametrize("damage", ["truncated-half", "flip-tensor-data"])
def test_model_export_cli_is_one_error_line(damaged, damage, tmp_path):
    sidecar, _ = damaged
    weights = sidecar.with_suffix(".safetensors")
    DAMAGE[damage](weights)
    res = CliRunner().invoke(main, ["model", "export", str(sidecar), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(weights) in lines[0]
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- run-cache chunks

CHUNKS = [Chunk(0, 0, 0, 2), Chunk(1, 1, 0, 2), Chunk(2, 0, 2, 4), Chunk(3, 1, 2, 4)]


def _filled(folder: Path, key: dict | None = None) -> ChunkCache:
    cache = ChunkCache(folder, key or {"run": "a"}, resume=True)
    cache.prepare()
    for c in CHUNKS:
        cache.save(c, {"features": np.full((len(c), 3), c.index, np.float32)}, {"gen": 0.1})
    return cache


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap.tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def test_saved_chunks_load_without_their_identity_members(tmp_path):
    cache = _filled(tmp_path)
    for c in CHUNKS:
        got = cache.load(c)
        assert sorted(got["arrays"]) == ["features"]
        assert np.array_equal(got["arrays"]["features"], np.full((len(c), 3), c.index))
        with np.load(tmp_path / f"{c.name}.npz") as z:
            assert z[IDENTITY].tolist() == [c.index, c.sample, c.start, c.stop]
            assert str(z[KEY]) == cache.hash


# Pairs differing in index and sample, in start, and in everything.
SWAPS = [(0, 1), (0, 2), (1, 2), (0, 3)]


@pytest.mark.parametrize("a,b", SWAPS)
@pytest.mark.parametrize("files", [(".npz",), (".npz", ".json")])
def test_swapped_chunk_files_are_both_regenerated_by_name(tmp_path, caplog, a, b, files):
    cache = _filled(tmp_path)
    first, second = CHUNKS[a], CHUNKS[b]
    for suffix in files:
        _swap(tmp_path / f"{first.name}{suffix}", tmp_path / f"{second.name}{suffix}")
    with caplog.at_level(logging.WARNING):
        assert cache.load(first) is None and cache.load(second) is None
    assert first.name in caplog.text and second.name in caplog.text
    assert "moved or swapped" in caplog.text
    others = [c for i, c in enumerate(CHUNKS) if i not in (a, b)]
    assert all(cache.load(c) is not None for c in others)


def test_chunk_of_another_key_with_a_rewritten_record_is_refused(tmp_path, caplog):
    ours = _filled(tmp_path / "ours", {"run": "a"})
    theirs = _filled(tmp_path / "theirs", {"run": "b"})
    name = CHUNKS[2].name
    shutil.copyfile(theirs.folder / f"{name}.npz", ours.folder / f"{name}.npz")
    record = json.loads((ours.folder / f"{name}.json").read_text())
    record["sha256"] = _sha(ours.folder / f"{name}.npz")  # checksum made to agree
    (ours.folder / f"{name}.json").write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING):
        assert ours.load(CHUNKS[2]) is None
    assert name in caplog.text and "another run key" in caplog.text


def test_chunk_npz_without_identity_is_refused(tmp_path, caplog):
    cache = _filled(tmp_path)
    c = CHUNKS[1]
    np.savez(tmp_path / f"{c.name}.npz", features=np.zeros((2, 3), np.float32))
    record = json.loads((tmp_path / f"{c.name}.json").read_text())
    record["sha256"] = _sha(tmp_path / f"{c.name}.npz")
    (tmp_path / f"{c.name}.json").write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING):
        assert cache.load(c) is None
    assert "records no chunk identity" in caplog.text


def test_identity_member_names_are_reserved(tmp_path):
    cache = _filled(tmp_path)
    with pytest.raises(ValueError, match=IDENTITY):
        cache.save(CHUNKS[0], {IDENTITY: np.zeros(4)}, {})


def test_readably_altered_chunk_still_fails_its_checksum(tmp_path, caplog):
    """Rewritten with one feature changed and its identity intact: zip and the identity accept
    it; only the recorded checksum catches it."""
    cache = _filled(tmp_path)
    c = CHUNKS[3]
    path = tmp_path / f"{c.name}.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["features"][0, 0] += 1
    np.savez(path, **arrays)
    with caplog.at_level(logging.WARNING):
        assert cache.load(c) is None
    assert c.name in caplog.text and "checksum" in caplog.text


def test_swapped_chunks_in_a_run_are_regenerated_and_give_the_same_result(tmp_path, reference):  # noqa: F811,E501
    out = tmp_path / "run"
    assert run_vdbench(*ARGS, "--out", out).returncode == 0
    for p in out.glob("*.json"):
        p.unlink()
    chunks = sorted((out / "cache").glob("shapes-custom-noise-*/chunk-*.npz"))
    a, b = chunks[2], chunks[5]
    for suffix in (".npz", ".json"):
        _swap(a.with_suffix(suffix), b.with_suffix(suffix))
    res = run_vdbench(*ARGS, "--out", out, "--resume")
    assert res.returncode == 0, res.stderr[-2000:]
    assert a.name[:-4] in res.stderr and b.name[:-4] in res.stderr
    assert "moved or swapped" in res.stderr
    (record,) = records(out)
    _same_result(record, reference)
    assert record["timing"]["chunks_cached"] == 8 - 2
