"""torchrun sharding: 1 and 2 processes (gloo, CPU) give bit-identical samples and metrics.

Metrics are compared bit for bit (the JSON record's floats round-trip exactly): rank 0 folds
the chunk results in global chunk order, so any other order (which moves a sum's last bits,
e.g. FVD by 3e-15) is a failure here, not a tolerance."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers_run import records, run_vdbench, tiny_checkpoint
from vdbench.engine import chunks as chunking
from vdbench.engine.distributed import Dist


def _same_bits(a, b, where: str = "metrics") -> None:
    """(Nested) metric dicts with the same keys and bit-identical float values."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            _same_bits(a[k], b[k], f"{where}.{k}")
    else:
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), (where, a, b)


def _chunk_arrays(cache: Path) -> dict:
    out = {}
    for f in sorted(cache.rglob("chunk-*.npz")):
        with np.load(f) as z:
            out[f"{f.parent.name}/{f.name}"] = {k: z[k] for k in z.files}
    return out


def test_plan_covers_the_index_space_once():
    chunks = chunking.plan(num_clips=10, samples_per_clip=3, size=4)
    pairs = [(c.start + i, c.sample) for c in chunks for i in range(len(c))]
    assert sorted(pairs) == [(clip, s) for clip in range(10) for s in range(3)]
    for world in (1, 2, 3):
        shards = [chunking.owned(chunks, r, world) for r in range(world)]
        assert sorted(c.index for s in shards for c in s) == list(range(len(chunks)))
        assert chunking.rounds(chunks, world) == max(len(s) for s in shards)


def test_prefetch_keeps_order_and_raises_at_the_failing_item():
    got = list(chunking.prefetch(range(10), lambda i: i * i))
    assert got == [(i, i * i) for i in range(10)]

    def load(i):
        if i == 3:
            raise ValueError("broken clip 3")
        return i

    seen = []
    with pytest.raises(ValueError, match="broken clip 3"):
        for item, _ in chunking.prefetch(range(10), load):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_single_process_collectives_are_trivial():
    d = Dist()
    assert d.gather(5) == [5] and d.any(False) is False and d.broadcast("x") == "x"


def test_oracle_is_world_size_invariant(tmp_path):
    args = ["run", "oracle", "--preset", "quick", "--samples-per-clip", "80", "--steps", "8"]
    one = run_vdbench(*args, "--out", tmp_path / "one")
    two = run_vdbench(*args, "--out", tmp_path / "two", nproc=2)
    assert one.returncode == 0, one.stderr[-2000:]
    assert two.returncode == 0, two.stderr[-2000:]
    (a,), (b,) = records(tmp_path / "one"), records(tmp_path / "two")
    assert b["timing"]["world_size"] == 2 and a["timing"]["world_size"] == 1
    _same_bits(a["metrics"], b["metrics"])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.mark.parametrize("nproc", [2, pytest.param(3, marks=pytest.mark.slow)])
def test_tiny_model_is_world_size_invariant(checkpoint, tmp_path, i3d_weights, nproc):
    # One clip per chunk, so that each set (the real clips, each draw) is folded from several
    # chunks of one round: any other fold order moves the sums' last bits.
    args = ["run", "shapes", "--checkpoint", checkpoint, "--preset", "quick", "--clips", "6",
            "--samples-per-clip", "2", "--steps", "2", "--batch-size", "1"]
    one = run_vdbench(*args, "--out", tmp_path / "one")
    many = run_vdbench(*args, "--out", tmp_path / "many", nproc=nproc)
    assert one.returncode == 0, one.stderr[-2000:]
    assert many.returncode == 0, many.stderr[-2000:]
    (a,), (b,) = records(tmp_path / "one"), records(tmp_path / "many")
    assert {"fvd", "fvd_per_draw_mean", "fvd_per_draw_std", "context_consistency"} \
        <= set(a["metrics"])
    _same_bits(a["metrics"], b["metrics"])
    assert a["counts"] == b["counts"] == {"real": 6, "generated": 12, "clips": 6,
                                          "samples_per_clip": 2}
    arrays_a, arrays_b = _chunk_arrays(tmp_path / "one"), _chunk_arrays(tmp_path / "many")
    assert arrays_a.keys() == arrays_b.keys() and len(arrays_a) == 12 + 6  # generated, real
    for name in arrays_a:
        for k in arrays_a[name]:
            assert np.array_equal(arrays_a[name][k], arrays_b[name][k]), (name, k)


def _faulty_run(tmp_path, factory: str, timeout_s: int):
    """Two ranks where rank 1's generator misbehaves; no record may be written."""
    res = run_vdbench("run", "shapes", "--model", f"tests.fast_generator:{factory}",
                      "--preset", "quick", "--clips", "4", "--samples-per-clip", "1",
                      "--batch-size", "1", "--out", tmp_path, "--dist-timeout", timeout_s,
                      nproc=2, timeout=240)
    assert res.returncode != 0
    assert not list(tmp_path.glob("*.json")), "no result record may be written"
    return res.stdout + res.stderr


def test_a_dying_rank_fails_the_run_and_is_named(tmp_path, i3d_weights):
    text = _faulty_run(tmp_path, "dying_factory", 60)
    assert "rank      : 1" in text and "exitcode  : 3" in text, text[-3000:]
    assert "rank 0/2: gather failed" in text


@pytest.mark.slow
def test_a_hanging_rank_times_out_instead_of_hanging(tmp_path, i3d_weights):
    text = _faulty_run(tmp_path, "hanging_factory", 10)
    assert "did not answer within the timeout" in text
