"""The cap on decoded pixels held for one batch (VDBENCH_MAX_BATCH_PIXELS): a batch of small
files, each under the per-video cap, cannot exhaust memory together."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from tests.videos import random_videos, write_video
from vdbench.cli import main
from vdbench.metrics.errors import InputError
from vdbench.protocols.datasets.base import (BATCH_PIXELS_ENV, DEFAULT_MAX_BATCH_PIXELS,
                                             _stack_batches, max_batch_pixels)
from vdbench.protocols.datasets.generic import MAX_PIXELS_ENV, VideoFilesSource

T, H, W = 10, 16, 16
PER_VIDEO = T * H * W


@pytest.fixture
def folder(tmp_path):
    files = [write_video(tmp_path / f"v{i}.avi", random_videos(1, t=T, seed=i)[0])
             for i in range(5)]
    return files


@pytest.mark.parametrize("batch_size", [2, 3])
def test_batches_up_to_the_cap_are_read(folder, monkeypatch, batch_size):
    monkeypatch.setenv(BATCH_PIXELS_ENV, str(batch_size * PER_VIDEO))
    monkeypatch.setenv(MAX_PIXELS_ENV, str(PER_VIDEO))
    sizes = [len(b) for b in VideoFilesSource(folder).batches(batch_size)]
    assert sizes == [batch_size] * (5 // batch_size) + ([5 % batch_size] if 5 % batch_size else [])


def test_a_batch_over_the_cap_is_refused_naming_the_file_and_the_setting(folder, monkeypatch):
    monkeypatch.setenv(BATCH_PIXELS_ENV, str(3 * PER_VIDEO - 1))
    with pytest.raises(InputError) as err:
        list(VideoFilesSource(folder).batches(3))
    message = str(err.value)
    assert message.startswith(f"{folder[2]}: ") and BATCH_PIXELS_ENV in message
    assert f"{3 * PER_VIDEO} pixels" in message and "\n" not in message


def test_the_count_starts_again_with_each_batch(folder, monkeypatch):
    """Five videos in batches of two never hold more than two videos at once."""
    monkeypatch.setenv(BATCH_PIXELS_ENV, str(2 * PER_VIDEO))
    assert len(list(VideoFilesSource(folder).batches(2))) == 3


def test_clips_of_a_dataset_are_capped_per_batch(monkeypatch):
    clips = [np.zeros((T, H, W, 3), np.uint8) for _ in range(4)]
    monkeypatch.setenv(BATCH_PIXELS_ENV, str(2 * PER_VIDEO))
    assert [len(b) for b in _stack_batches(iter(clips), 2, "ds")] == [2, 2]
    with pytest.raises(InputError, match=rf"^ds: clip 2: .*{BATCH_PIXELS_ENV}"):
        list(_stack_batches(iter(clips), 3, "ds"))


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5"])
def test_bad_batch_cap_setting_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv(BATCH_PIXELS_ENV, value)
    with pytest.raises(InputError, match=rf"^{BATCH_PIXELS_ENV}: expected a positive"):
        max_batch_pixels()


def test_default_batch_cap_is_4_gib_of_rgb(monkeypatch):
    monkeypatch.delenv(BATCH_PIXELS_ENV, raising=False)
    assert max_batch_pixels() == DEFAULT_MAX_BATCH_PIXELS == 2**32 // 3


def test_stats_cli_refuses_an_oversized_batch_in_one_line(folder, tmp_path, monkeypatch,
                                                          i3d_weights):
    monkeypatch.setenv(BATCH_PIXELS_ENV, str(2 * PER_VIDEO))
    out = tmp_path / "stats.npz"
    result = CliRunner().invoke(main, ["stats", str(tmp_path), "-o", str(out),
                                       "--batch-size", "3"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert BATCH_PIXELS_ENV in errors[0] and "v2.avi" in errors[0]
    assert not out.exists()
