"""`vdbench fvd | features | stats` end to end, and their handling of bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.metrics.frechet import GaussianStats, frechet_distance
from tests.videos import random_videos, write_video
from vdbench.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# the `arrays` fixture (3 + 3 small videos): tests/conftest.py


def test_fvd_json_equals_library_and_stats_round_trip(tmp_path, arrays, i3d_extractor):
    real, gen = arrays
    res = run("fvd", real, gen, "--json", "--batch-size", 2)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    expect = frechet_distance(GaussianStats.from_features(i3d_extractor(np.load(real))),
                              GaussianStats.from_features(i3d_extractor(np.load(gen))))
    assert out["fvd"] == pytest.approx(expect, rel=1e-6)
    assert out["n_real"] == 3 and "i3d" in out["network"] and out["environment"]["packages"]
    # Saved statistics give the same FVD as the videos they came from.
    assert run("stats", real, "-o", tmp_path / "real_stats.npz").exit_code == 0
    res2 = run("fvd", tmp_path / "real_stats.npz", gen, "--json")
    assert json.loads(res2.output[res2.output.index("{"):])["fvd"] == pytest.approx(out["fvd"],
                                                                                  rel=1e-6)


def test_features_command(tmp_path, arrays, i3d_extractor):
    real, _ = arrays
    res = run("features", "i3d", real, "-o", tmp_path / "f.npy")
    assert res.exit_code == 0, res.output
    feats = np.load(tmp_path / "f.npy")
    assert feats.shape == (3, 400)
    assert np.allclose(feats, i3d_extractor(np.load(real)), atol=1e-5)


def test_video_folder_equals_array_of_decoded_frames(tmp_path, i3d_weights):
    folder = tmp_path / "vids"
    folder.mkdir()
    videos = random_videos(2, t=12, h=32, w=32, seed=3)
    for i, v in enumerate(videos):
        write_video(folder / f"{i}.mp4", v)
    from vdbench.protocols.datasets.generic import decode_video

    decoded = np.stack([decode_video(folder / f"{i}.mp4") for i in range(2)])
    np.save(tmp_path / "decoded.npy", decoded)
    a = run("fvd", folder, tmp_path / "decoded.npy", "--json")
    assert a.exit_code == 0, a.output
    assert json.loads(a.output[a.output.index("{"):])["fvd"] == pytest.approx(0, abs=1e-4)


def _assert_clean_error(res, *fragments, output=None):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output, res.output
    errors = [line for line in res.output.splitlines() if "error:" in line]
    assert len(errors) == 1, res.output  # exactly one error line, nothing above it
    line = errors[0][errors[0].index("error:"):]
    assert line.startswith("error: ") and line in res.stderr
    for fragment in fragments:
        assert fragment in line, line
    if output is not None:
        assert not output.exists()


def test_bad_inputs(tmp_path, i3d_weights):
    good = tmp_path / "good.npy"
    np.save(good, random_videos(2))
    out = tmp_path / "out.npz"
    _assert_clean_error(run("stats", tmp_path / "missing.npy", "-o", out), "missing.npy",
                        "no such file", output=out)
    np.save(tmp_path / "short.npy", random_videos(2, t=8))
    _assert_clean_error(run("stats", tmp_path / "short.npy", "-o", out), "short.npy",
                        "at least 9 frames", output=out)
    np.save(tmp_path / "one.npy", random_videos(1))
    _assert_clean_error(run("fvd", tmp_path / "one.npy", good), "one.npy", "at least 2")
    np.save(tmp_path / "shape.npy", np.zeros((2, 10, 16, 16), np.uint8))
    _assert_clean_error(run("fvd", tmp_path / "shape.npy", good), "shape.npy", "[N, T, H, W, 3]")
    nan = random_videos(2).astype(np.float32) / 255
    nan[0, 0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    _assert_clean_error(run("stats", tmp_path / "nan.npy", "-o", out, "--value-range", "0-1"),
                        "nan.npy", "NaN", output=out)
    np.save(tmp_path / "float.npy", nan * 0)
    _assert_clean_error(run("stats", tmp_path / "float.npy", "-o", out), "float.npy",
                        "value_range", output=out)
    np.save(tmp_path / "int.npy", random_videos(2).astype(np.int16))
    _assert_clean_error(run("stats", tmp_path / "int.npy", "-o", out), "int.npy", "int16",
                        output=out)


def test_bad_video_files(tmp_path, i3d_weights):
    out = tmp_path / "out.npz"
    folder = tmp_path / "vids"
    folder.mkdir()
    write_video(folder / "a.mp4", random_videos(1, t=12, h=32, w=32)[0])
    good = (folder / "a.mp4").read_bytes()
    (folder / "b.mp4").write_bytes(good[: len(good) // 3])  # truncated
    _assert_clean_error(run("stats", folder, "-o", out), "b.mp4", output=out)
    (folder / "b.mp4").unlink()
    write_video(folder / "c.mp4", random_videos(1, t=12, h=16, w=32)[0])
    _assert_clean_error(run("stats", folder, "-o", out), "c.mp4", "differs", output=out)
    _assert_clean_error(run("stats", folder / "a.mp4", "-o", out, "--frames", 16,
                            "--clips-per-video", 2),
                        "a.mp4",
                        "32 needed", output=out)
    empty = tmp_path / "empty"
    empty.mkdir()
    _assert_clean_error(run("stats", empty, "-o", out), "empty", "no video files", output=out)
