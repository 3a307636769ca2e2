"""Inputs people already have: folders and .zip archives of per-video frame folders
(StyleGAN-V's layout), and the mu/sigma statistics .npz of pytorch-fid and clean-fid: read
where videos and statistics are read, equal to the equivalent .npy input, and refused with one
line naming the file where they are malformed."""

import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vdbench.cli import main
from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats, MeanCovStats
from vdbench.protocols.datasets.generic import open_source
from tests.test_cli_errors import assert_one_error


def _videos(n=4, t=10, h=16, w=20, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)


def _frame_folders(root, videos, suffix=".png"):
    for i, video in enumerate(videos):
        (root / f"video{i:03d}").mkdir(parents=True)
        for t, frame in enumerate(video):
            Image.fromarray(frame).save(root / f"video{i:03d}" / f"{t:05d}{suffix}")
    return root


def _zip(path, folders, prefix=""):
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folders.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(folders).as_posix())
    return path


def _read_all(path, **kw):
    return np.concatenate(list(open_source(path, **kw).batches(3)))


def test_frame_folders_and_zip_read_the_same_pixels_as_the_array(tmp_path):
    videos = _videos()
    folders = _frame_folders(tmp_path / "frames", videos)
    np.testing.assert_array_equal(_read_all(folders), videos)
    # a zip of the same folders, also below one common top folder
    np.testing.assert_array_equal(_read_all(_zip(tmp_path / "a.zip", folders)), videos)
    np.testing.assert_array_equal(_read_all(_zip(tmp_path / "b.zip", folders, "top/")), videos)
    # --frames and clips per video cut clips as for video files
    np.testing.assert_array_equal(_read_all(folders, frames=5, clips_per_video=2),
                                  videos.reshape(8, 5, 16, 20, 3))
    # JPEG: the frames Pillow decodes (lossy, so compared with Pillow's own decoding)
    jpegs = _frame_folders(tmp_path / "jpeg", videos[:2], ".jpg")
    expect = np.stack([[np.asarray(Image.open(f).convert("RGB"))
                        for f in sorted((jpegs / d).iterdir())] for d in sorted(
                            p.name for p in jpegs.iterdir())])
    np.testing.assert_array_equal(_read_all(jpegs), expect)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _json(res):
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


def test_fvd_of_frame_folders_zip_and_mu_sigma_equals_the_npy_inputs(tmp_path, i3d_weights):
    real, gen = _videos(n=3, t=9, seed=1), _videos(n=3, t=9, seed=2)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "gen.npy", gen)
    for side in ("real", "gen"):
        assert run("features", "i3d", tmp_path / f"{side}.npy", "-o",
                   tmp_path / f"{side}_feats.npy").exit_code == 0
    expect = _json(run("fvd", tmp_path / "real_feats.npy", tmp_path / "gen_feats.npy",
                       "--json"))["fvd"]
    folders = _frame_folders(tmp_path / "real_frames", real)
    got = _json(run("fvd", folders, tmp_path / "gen_feats.npy", "--json"))
    assert got["fvd"] == pytest.approx(expect, rel=1e-9) and got["n_real"] == 3
    gen_zip = _zip(tmp_path / "gen.zip", _frame_folders(tmp_path / "gen_frames", gen))
    got = _json(run("fvd", tmp_path / "real_feats.npy", gen_zip, "--json"))
    assert got["fvd"] == pytest.approx(expect, rel=1e-9)
    # mu/sigma as pytorch-fid writes them (np.mean, np.cov): no count
    feats = np.load(tmp_path / "real_feats.npy").astype(np.float64)
    np.savez(tmp_path / "pfid.npz", mu=feats.mean(0), sigma=np.cov(feats, rowvar=False))
    got = _json(run("fvd", tmp_path / "pfid.npz", tmp_path / "gen_feats.npy", "--json"))
    assert got["fvd"] == pytest.approx(expect, rel=1e-9) and got["n_real"] is None
    # written by `vdbench stats --format mu-sigma`; `vdbench fid` finds its network in it
    res = run("stats", tmp_path / "real.npy", "--format", "mu-sigma", "-o", tmp_path / "ms.npz")
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "ms.npz") as saved:
        np.testing.assert_allclose(saved["mu"], feats.mean(0), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(saved["sigma"], np.cov(feats, rowvar=False), rtol=1e-6,
                                   atol=1e-6)
    got = _json(run("fid", tmp_path / "ms.npz", tmp_path / "gen_feats.npy", "--json"))
    assert got["fid"] == pytest.approx(expect, rel=1e-6) and got["metric"] == "fvd"


def test_mu_sigma_refuses_what_needs_a_count(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 6))
    np.savez(tmp_path / "ms.npz", mu=x.mean(0), sigma=np.cov(x, rowvar=False))
    stats = GaussianStats.load(tmp_path / "ms.npz")
    assert isinstance(stats, MeanCovStats) and stats.dim == 6
    counted = GaussianStats.from_features(x)
    for attempt in (lambda: counted.merge(stats), lambda: stats.merge(counted),
                    lambda: stats + counted, lambda: stats.update(x)):
        with pytest.raises(InputError, match="ms.npz: mu/sigma statistics hold no sample count"):
            attempt()
    # the Fréchet distance needs no count: equal to the one from the counted moments
    from vdbench.metrics.frechet import frechet_distance

    other = GaussianStats.from_features(rng.normal(size=(40, 6)) + 0.5)
    assert frechet_distance(stats, other) == pytest.approx(frechet_distance(counted, other),
                                                           rel=1e-9)
    # KVD needs every row: a mu/sigma file is refused like any statistics file
    np.save(tmp_path / "f.npy", rng.normal(size=(10, 400)).astype(np.float32))
    _one_error(run("kvd", tmp_path / "ms.npz", tmp_path / "f.npy"), "ms.npz",
               "Gaussian statistics only")


def _one_error(res, *fragments):
    """The shared one-line-error rule (tests/test_cli_errors.py), the line naming every
    fragment."""
    line = assert_one_error(res, fragments[0] if fragments else "")
    for fragment in fragments[1:]:
        assert fragment in line, line


def _bad_frame_inputs(tmp_path):
    """(input, fragments of its one error line, extra options)."""
    videos = _videos(n=2, t=5)
    mixed = _frame_folders(tmp_path / "mixed", videos)
    Image.fromarray(videos[0, 0, :8]).save(mixed / "video001" / "00002.png")
    short = _frame_folders(tmp_path / "short", videos)
    (short / "video001" / "00004.png").unlink()
    stray = _frame_folders(tmp_path / "stray", videos)
    (stray / "video000" / "notes.txt").write_text("x")
    good = _frame_folders(tmp_path / "good", videos)
    nonimage, escaping, absolute = (_zip(tmp_path / f"{n}.zip", good) for n in
                                    ("nonimage", "escaping", "absolute"))
    for archive, name in ((nonimage, "video000/notes.txt"), (escaping, "../evil/00000.png"),
                          (absolute, "/etc/00000.png")):
        with zipfile.ZipFile(archive, "a") as z:
            z.writestr(name, (good / "video000" / "00000.png").read_bytes())
    return [
        (mixed, ["mixed/video001", "frame", "00002.png", "20x8", "first frame is 20x16"], []),
        (short, ["short/video001", "4 frames", "5 needed"], ["--frames", "5"]),
        (short, ["short/video001", "clip shape"], []),
        (stray, ["stray/video000/notes.txt", "not an image"], []),
        (nonimage, ["nonimage.zip", "video000/notes.txt", "not an image"], []),
        (escaping, ["escaping.zip", "../evil/00000.png", "escapes"], []),
        (absolute, ["absolute.zip", "/etc/00000.png", "escapes"], []),
    ]


def test_bad_frame_folders_and_zips_are_one_line_errors_naming_the_file(tmp_path, i3d_weights,
                                                                         monkeypatch):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).normal(size=(5, 400)).astype(np.float32))
    for path, fragments, options in _bad_frame_inputs(tmp_path):
        _one_error(run("fvd", path, tmp_path / "f.npy", *options), *fragments)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    _one_error(run("fvd", tmp_path / "broken.zip", tmp_path / "f.npy"), "broken.zip",
               "cannot read zip archive")
    # the per-video pixel cap of the video readers: 5 frames of 16x20 are 1,600 pixels
    monkeypatch.setenv("VDBENCH_MAX_VIDEO_PIXELS", "1000")
    for path in (tmp_path / "good", _zip(tmp_path / "capped.zip", tmp_path / "good")):
        _one_error(run("fvd", path, tmp_path / "f.npy"), path.name, "video000",
                   "over the limit per video")


def test_bad_mu_sigma_files_are_one_line_errors_naming_the_file(tmp_path):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).normal(size=(5, 400)).astype(np.float32))
    eye = np.eye(10)
    cases = {"dim10.npz": (dict(mu=np.zeros(10), sigma=eye), "dimension 10; i3d features "
                           "have 400"),
             "shapes.npz": (dict(mu=np.zeros(400), sigma=eye), "sigma: shape (10, 10)"),
             "nan.npz": (dict(mu=np.full(400, np.nan), sigma=np.eye(400)), "mu: contains NaN"),
             "notpsd.npz": (dict(mu=np.zeros(400), sigma=-np.eye(400)), "not positive"),
             "ints.npz": (dict(mu=np.zeros(400, int), sigma=np.eye(400)), "mu: expected a "
                          "float")}
    for name, (arrays, fragment) in cases.items():
        np.savez(tmp_path / name, **arrays)
        _one_error(run("fvd", tmp_path / name, tmp_path / "f.npy"), name, fragment)
