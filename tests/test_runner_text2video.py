"""`vdbench run text2video` on a tiny captioned dataset: captions reach the generator, FVD
against the validation and the training references, frameskip recorded."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers_run import records
from tests.record_check import check_record
from tests.videos import random_videos, write_video
from vdbench.cli import main


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioned")
    for split, n, seed in (("validation", 3, 0), ("train", 4, 1)):
        folder = root / split
        folder.mkdir()
        videos = random_videos(n, t=34, h=72, w=96, seed=seed)
        lines = []
        for i, video in enumerate(videos):
            write_video(folder / f"v{i}.mp4", video)
            lines.append(json.dumps({"video": f"v{i}.mp4", "caption": f"{split} video {i}"}))
        (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
        np.save(folder / "text_embeddings.npy",
                np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32))
    return root


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """FID-Inception weights of random values in torch-fidelity's layout (the real file is not
    reachable from this machine)."""
    import torch

    from tests.test_inception import _random_state

    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(_random_state(), path)
    return path


def test_text2video_runs_with_captions_and_two_references(captioned, tmp_path, i3d_weights,
                                                          inception_file):
    res = CliRunner().invoke(main, [
        "run", "text2video", "--model", "tests.fast_generator:captioned_factory",
        "--data-dir", str(captioned), "--preset", "quick", "--clips", "2", "--frameskip", "2",
        "--batch-size", "2", "--inception-weights", str(inception_file), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path)
    assert rec["protocol"]["frameskip"] == 2 and rec["data"]["frameskip"] == 2
    assert rec["protocol"]["reference_splits"] == ["train"]
    m = rec["metrics"]
    assert np.isfinite(m["fvd"]) and np.isfinite(m["fvd_train"]) and m["fvd"] != m["fvd_train"]
    for fid in ("fid_avg", "fid_first"):
        assert np.isfinite(m[fid]) and np.isfinite(m[f"{fid}_train"])
    for score in ("is_avg", "is_first"):
        assert 1.0 <= m[score] <= 2.0 + 1e-9 and 1.0 <= m[f"{score}_real"] <= 2.0 + 1e-9
    assert m["fid_avg"] != m["fid_first"]
    assert set(rec["feature_networks"]) == {"i3d", "inception_avg", "inception_first"}
    assert rec["counts"]["generated"] == 2
    check_record(rec)  # FVD/FID against both references, IS and IS_real, all recomputed


def test_metrics_subset_and_missing_inception_weights(captioned, tmp_path, i3d_weights,
                                                      monkeypatch):
    from vdbench.metrics import inception_weights
    from vdbench.metrics.errors import WeightsUnavailableError

    def offline(url, dest, what, timeout=60.0):
        raise WeightsUnavailableError(f"cannot download {what}: offline (test)")

    monkeypatch.setattr(inception_weights, "weights_path", lambda: tmp_path / "absent.pth")
    monkeypatch.setattr(inception_weights, "download", offline)
    args = ["run", "text2video", "--model", "tests.fast_generator:captioned_factory",
            "--data-dir", str(captioned), "--preset", "quick", "--clips", "2", "--batch-size",
            "2"]
    res = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "all")])
    assert res.exit_code == 2 and "weights-inception-2015-12-05" in res.output
    assert not (tmp_path / "all").exists() or not list((tmp_path / "all").glob("*.json"))
    res = CliRunner().invoke(main, [*args, "--metrics", "fvd", "--out", str(tmp_path / "fvd")])
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path / "fvd")
    assert set(rec["metrics"]) == {"fvd", "fvd_train"} and rec["protocol"]["metrics"] == ["fvd"]
    check_record(rec)
    res = CliRunner().invoke(main, [*args, "--metrics", "fid_c3d", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "text2video computes fvd, fid_avg" in res.output


def test_text2video_without_a_training_split_says_what_is_missing(captioned, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(captioned / "validation", data / "validation")
    res = CliRunner().invoke(main, [
        "run", "text2video", "--model", "tests.fast_generator:captioned_factory",
        "--data-dir", str(data), "--preset", "quick", "--clips", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "train" in res.output and "captions.jsonl" in res.output


def test_extension_protocol_reads_64_frame_captioned_clips(tmp_path, i3d_weights):
    folder = tmp_path / "data" / "validation"
    folder.mkdir(parents=True)
    lines = []
    for i, video in enumerate(random_videos(2, t=66, h=64, w=80, seed=3)):
        write_video(folder / f"long{i}.mp4", video)
        lines.append(json.dumps({"video": f"long{i}.mp4", "caption": f"long video {i}"}))
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n")
    np.save(folder / "text_embeddings.npy", np.zeros((2, 8), np.float32))
    res = CliRunner().invoke(main, [
        "run", "extension", "--model", "tests.fast_generator:captioned_factory",
        "--data-dir", str(tmp_path / "data"), "--preset", "quick", "--clips", "2",
        "--metrics", "fvd", "--batch-size", "2", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path / "out")
    assert rec["data"]["frames"] == 64 and rec["counts"]["generated"] == 2
    assert np.isfinite(rec["metrics"]["fvd"])
