"""`vdbench sample` end to end on the oracle: files, determinism, conditioning, errors."""

import re

import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.cli import main


def _run(*args):
    return CliRunner().invoke(main, ["sample", "--oracle", *args])


def test_oracle_samples_are_uint8_and_batch_size_independent(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert _run("--steps", "6", "-n", "4", "--batch-size", "1", "--out", str(a)).exit_code == 0
    result = _run("--steps", "6", "-n", "4", "--batch-size", "3", "--sampler", "langevin",
                  "--out", str(b))
    assert result.exit_code == 0, result.output
    x = np.load(a)
    assert x.shape == (4, 8, 8, 8, 3) and x.dtype == np.uint8
    assert 0 < x.std() and x.min() == 0 and x.max() == 255  # std 0.5 oracle clips at ±1
    x_lang = np.load(b)
    assert not np.array_equal(x, x_lang)
    assert _run("--steps", "6", "-n", "4", "--batch-size", "4", "--sampler", "langevin",
                "--out", str(a)).exit_code == 0
    assert np.array_equal(np.load(a), x_lang)


def test_context_extension_and_video_files(tmp_path):
    context = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "ctx.npy", context)
    out = tmp_path / "run"
    result = _run("--steps", "4", "-n", "2", "--frames", "13",
                  "--context", str(tmp_path / "ctx.npy"),
                  "--conditioning", "reconstruction", "--guidance-weight", "2",
                  "--video-format", "gif", "--out", str(out))
    assert result.exit_code == 0, result.output
    x = np.load(out / "samples.npy")
    assert x.shape == (2, 13, 8, 8, 3)
    assert np.array_equal(x[:, :3], np.broadcast_to(context, (2, 3, 8, 8, 3)))
    assert (out / "sample_00001.gif").stat().st_size > 0


@pytest.mark.parametrize("args, match", [
    (["--steps", "0"], "--steps: must be an integer >= 1"),
    (["--gamma", "1.5"], "gamma"),
    (["--frames", "12"], "need --conditioning"),
    (["--frames", "12", "--conditioning", "replacement", "--context-frames", "8"], "context of 8"),
    (["--frames", "12", "--conditioning", "reconstruction", "--guidance-weight", "-1"], "w_r"),
    (["--cfg-weight", "2"], "class-conditional"),
    (["--context", "CTX10", "--conditioning", "replacement"], "longer than the 8-frame video"),
    (["--context", "CTXSMALL", "--conditioning", "replacement"], "4x4"),
    (["--context", "CTXFLOAT", "--conditioning", "replacement"], "within \\[-1, 1\\]"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, match):
    rng = np.random.default_rng(1)
    files = {"CTX10": rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8),
             "CTXSMALL": rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8),
             "CTXFLOAT": rng.uniform(0, 255, (2, 8, 8, 3))}
    for i, arg in enumerate(args):
        if arg in files:
            np.save(tmp_path / f"{arg}.npy", files[arg])
            args[i] = str(tmp_path / f"{arg}.npy")
    result = _run("--steps", "2", "-n", "1", *args, "--out", str(tmp_path / "x.npy"))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert re.search(match, lines[0]), lines[0]


def test_interpolation_and_super_resolution(tmp_path):
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8)
    np.save(tmp_path / "keys.npy", keys)
    result = _run("--steps", "3", "-n", "2", "--context", str(tmp_path / "keys.npy"),
                  "--interpolate-stride", "3", "--frames", "22", "--conditioning", "replacement",
                  "--out", str(tmp_path / "i.npy"))
    assert result.exit_code == 0, result.output
    x = np.load(tmp_path / "i.npy")
    assert x.shape == (2, 22, 8, 8, 3)
    assert np.array_equal(x[:, ::3], np.broadcast_to(keys, x[:, ::3].shape))
    low = np.full((8, 4, 4, 3), 200, dtype=np.uint8)
    np.save(tmp_path / "low.npy", low)
    errors = []
    for w_r in ("0", "4"):
        result = _run("--steps", "16", "-n", "2", "--lowres", str(tmp_path / "low.npy"),
                      "--guidance-weight", w_r, "--out", str(tmp_path / "sr.npy"))
        assert result.exit_code == 0, result.output
        errors.append(np.abs(np.load(tmp_path / "sr.npy").astype(float).mean() - 200))
    assert errors[1] < 0.5 * errors[0]
    result = _run("--lowres", str(tmp_path / "low.npy"), "--frames", "9", "--conditioning",
                  "replacement", "--steps", "2", "--out", str(tmp_path / "sr.npy"))
    assert result.exit_code == 2 and "8 frames" in result.output
