"""`vdbench run text2video` on a tiny captioned dataset: captions reach the generator, FVD
against the validation and the training references, frameskip recorded."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers_run import records
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


def test_text2video_runs_with_captions_and_two_references(captioned, tmp_path, i3d_weights):
    res = CliRunner().invoke(main, [
        "run", "text2video", "--model", "tests.fast_generator:captioned_factory",
        "--data-dir", str(captioned), "--preset", "quick", "--clips", "3", "--frameskip", "2",
        "--batch-size", "2", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (rec,) = records(tmp_path)
    assert rec["protocol"]["frameskip"] == 2 and rec["data"]["frameskip"] == 2
    assert rec["protocol"]["reference_splits"] == ["train"]
    m = rec["metrics"]
    assert np.isfinite(m["fvd"]) and np.isfinite(m["fvd_train"]) and m["fvd"] != m["fvd_train"]
    assert rec["counts"]["generated"] == 3


def test_text2video_without_a_training_split_says_what_is_missing(captioned, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(captioned / "validation", data / "validation")
    res = CliRunner().invoke(main, [
        "run", "text2video", "--model", "tests.fast_generator:captioned_factory",
        "--data-dir", str(data), "--preset", "quick", "--clips", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "train" in res.output and "captions.jsonl" in res.output
