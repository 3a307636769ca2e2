"""The one registry of dataset readers: what each declares, how the engine uses it without
knowing any dataset by name, and the CLI lists built from it."""

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from vdbench.cli import main
from vdbench.engine.protocol_data import open_protocol_data, reference_data
from vdbench.metrics.errors import InputError
from vdbench.protocols import datasets
from vdbench.protocols.datasets import DATASETS, OPTIONS, READERS, Reader, get_reader
from vdbench.protocols.datasets.generic import open_videos
from vdbench.protocols.datasets.shapes import ShapesDataset
from vdbench.protocols.registry import PROTOCOLS, get_protocol
from tests.videos import random_videos


def open_toy(path, split, size=16):
    """A reader in one function: ``{path}/{split}.npy`` of uint8 [N, T, size, size, 3]."""
    return open_videos(Path(path) / f"{split}.npy", size)


def test_every_reader_declares_a_loadable_opener_that_takes_its_options():
    assert DATASETS == tuple(READERS) and {"bair", "ucf101", "kinetics600", "captioned-videos",
                                           "shapes"} <= set(DATASETS)
    for name, reader in READERS.items():
        assert reader.name == name and set(reader.options) <= set(OPTIONS)
        opener = datasets._load(reader.opener)
        params = inspect.signature(opener).parameters
        assert set(reader.options) <= set(params), name
        assert list(params)[:2 if reader.needs_data_dir else 1][-1] == "split", name
    for protocol in PROTOCOLS.values():  # every protocol with data has a reader
        assert protocol.dataset in READERS or protocol.dataset == "gaussian-oracle"


def test_a_new_reader_is_one_registration_line(tmp_path, monkeypatch):
    videos = random_videos(7, t=20, h=16, w=16, seed=3)
    np.save(tmp_path / "test.npy", videos)
    np.save(tmp_path / "train.npy", videos[:5])
    line = Reader("toy", "tests.test_datasets_registry:open_toy", "test.npy and train.npy",
                  options=("size",))
    monkeypatch.setitem(READERS, "toy", line)
    protocol = dataclasses.replace(get_protocol("text2video"), dataset="toy", split="test",
                                   resolution=16, num_clips=4, reference_splits=("train",))
    clips, truth = open_protocol_data(protocol, str(tmp_path))
    expected = open_toy(tmp_path, "test").select(4, frames=16, seed=protocol.seed)
    assert truth is clips and clips.indices.tolist() == expected.indices.tolist()
    np.testing.assert_array_equal(np.concatenate(list(clips.batches(3))),
                                  np.concatenate(list(expected.batches(4))))
    assert len(reference_data(protocol, str(tmp_path))["train"]) == 4
    fixed = dataclasses.replace(line, seeded=False)  # e.g. BAIR: the first n, from frame 0
    monkeypatch.setitem(READERS, "toy", fixed)
    clips, _ = open_protocol_data(protocol, str(tmp_path))
    assert clips.indices.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(next(iter(clips.batches(4))), videos[:4, :16])


def test_bair_and_shapes_evaluate_fixed_clips_the_others_seeded_ones():
    assert {n for n, r in READERS.items() if not r.seeded} == {"bair", "shapes"}
    assert get_reader("bair").clip_seed(7) is None and get_reader("ucf101").clip_seed(7) == 7


def test_shapes_protocols_read_the_set_they_always_read():
    clips, truth = open_protocol_data(get_protocol("shapes", "quick"), None)
    assert truth is clips and clips.indices.tolist() == list(range(16))
    old = ShapesDataset("test", 256, 32, frames=30).select(16, frames=16)
    for k in (0, 15):
        np.testing.assert_array_equal(clips.clip(k), old.clip(k))
    longer, _ = open_protocol_data(get_protocol("shapes-extension", "quick"), None)
    assert longer.describe()["frames"] == 64 and longer.dataset.frames == 64


def test_what_cannot_apply_is_refused():
    with pytest.raises(InputError, match="shapes: --data-dir does not apply"):
        open_protocol_data(get_protocol("shapes", "quick"), "/some/folder")
    with pytest.raises(InputError, match=r"protocol bair needs --data-dir: BAIR's softmotion"):
        open_protocol_data(get_protocol("bair"), None)
    with pytest.raises(InputError, match="ucf101: unknown split 'val'; choose one of train, "
                                         "test, all"):
        get_reader("ucf101").open("/x", "val")
    with pytest.raises(InputError, match="bair evaluates fixed clips; drawing with replacement"):
        open_protocol_data(dataclasses.replace(get_protocol("bair"), with_replacement=True), "/x")
    with pytest.raises(InputError, match="bair frames are 64x64, the protocol asks for 32"):
        open_protocol_data(dataclasses.replace(get_protocol("bair"), resolution=32), "/x")
    with pytest.raises(InputError, match="fit 'crop' does not apply to shapes"):
        open_protocol_data(dataclasses.replace(get_protocol("shapes"), fit="crop"), None)
    with pytest.raises(InputError, match="protocol p: no reader for dataset 'moving-mnist'"):
        open_protocol_data(dataclasses.replace(get_protocol("bair"), name="p",
                                               dataset="moving-mnist"), "/x")


def test_cli_lists_come_from_the_registry():
    res = CliRunner().invoke(main, ["stats", "--help"])
    in_folders = [n for n in DATASETS if READERS[n].needs_data_dir]
    assert res.exit_code == 0 and ", ".join(in_folders) in " ".join(res.output.split())
    assert len(in_folders) == len(DATASETS) - 1  # shapes is made in code
    res = CliRunner().invoke(main, ["data", "shapes", "--help"])
    assert "[" + "|".join(get_reader("shapes").splits) + "]" in res.output
    res = CliRunner().invoke(main, ["run", "shapes", "--preset", "quick", "--fit", "crop",
                                    "--model", "tests.test_generator:make"])
    assert res.exit_code == 2 and "fit 'crop' does not apply to protocol shapes" in res.output
