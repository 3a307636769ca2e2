"""What the README states about --batch-size: each sample keeps its own seed in any batch, so the
samples of a checkpoint differ between batch sizes only by float rounding in the network (at
most 1 of 255, in a few values per 100,000, on the embedded checkpoint), and the oracle's are
bit-identical (tests/test_sampler_cli.py)."""

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from vdbench.cli import main

CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "shapes-tiny-v"


def _sample(out: Path, batch_size: int) -> np.ndarray:
    result = CliRunner().invoke(main, ["sample", "--checkpoint", str(CHECKPOINT), "-n", "3",
                                       "--steps", "8", "--seed", "11", "--batch-size",
                                       str(batch_size), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return np.load(out).astype(np.int16)


def test_embedded_checkpoint_samples_at_two_batch_sizes_within_the_stated_bound(tmp_path):
    whole, single = _sample(tmp_path / "b3.npy", 3), _sample(tmp_path / "b1.npy", 1)
    assert whole.shape == (3, 16, 32, 32, 3)
    diff = np.abs(whole - single)
    assert diff.max() <= 1
    assert (diff > 0).mean() <= 1e-3
    # The samples are not all alike (a bug giving one sample per batch would pass the above).
    assert np.abs(whole[0] - whole[1]).mean() > 5
