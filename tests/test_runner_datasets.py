"""`vdbench run` on tiny datasets in their real formats (BAIR TFRecords, Kinetics clips + CSV,
UCF101 avi tree) with a tiny untrained 64×64 model."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from tests.record_check import check_record
from tests.test_cli_scores import c3d_dir  # noqa: F401  (random C3D release files)
from tests.test_datasets_bair import bair_videos, write_bair
from vdbench.cli import main


@pytest.fixture(scope="module")
def bair_and_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("bair-run")
    write_bair(root / "data" / "softmotion30_44k" / "test", bair_videos(5, seed=1))
    np.save(root / "train.npy", bair_videos(2, seed=2))
    res = CliRunner().invoke(main, [
        "train", "--config", "tiny", "--data", str(root / "train.npy"), "--out",
        str(root / "run"), "--steps", "1", "--no-progress", "--set", "video.height=64",
        "--set", "video.width=64", "--set", "unet.base_channels=8",
        "--set", "unet.channel_mults=[1,2]", "--set", "unet.attn_resolutions=[32]",
        "--set", "train.batch_size=1", "--set", "train.image_frames=0"])
    assert res.exit_code == 0, res.output
    return root / "data", root / "run"


def test_run_bair_from_tfrecords(bair_and_model, tmp_path, i3d_weights):
    data, run = bair_and_model
    res = CliRunner().invoke(main, ["run", "bair", "--checkpoint", str(run), "--data-dir",
                                    str(data), "--clips", "3", "--samples-per-clip", "2",
                                    "--steps", "1", "--sampler", "ancestral",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (path,) = tmp_path.glob("bair-*.json")
    rec = json.loads(path.read_text())
    assert rec["counts"]["real"] == 3 and rec["counts"]["generated"] == 6
    assert np.isfinite(rec["metrics"]["fvd"]) and "fvd_per_draw_mean" in rec["metrics"]
    check_record(rec)
    assert rec["protocol"]["context_frames"] == 1 and rec["protocol"]["frames"] == 16


def test_too_few_clips_fails_before_work(bair_and_model, tmp_path):
    data, run = bair_and_model
    res = CliRunner().invoke(main, ["run", "bair", "--checkpoint", str(run), "--data-dir",
                                    str(data), "--out", str(tmp_path)])  # paper: 256 clips
    assert res.exit_code == 2 and "256" in res.output and "5" in res.output
    assert not list(tmp_path.iterdir())


from tests.test_datasets_kinetics import kinetics  # noqa: E402,F401  (fixture)
from tests.test_datasets_ucf101 import ucf_tree  # noqa: E402,F401  (fixture)


def _run(args, out):
    res = CliRunner().invoke(main, args + ["--steps", "1", "--sampler", "ancestral",
                                           "--out", str(out)])
    assert res.exit_code == 0, res.output
    (path,) = out.glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("replacement", [False, True])
def test_run_kinetics600_from_clip_folder(bair_and_model, kinetics, tmp_path,  # noqa: F811
                                          i3d_weights, replacement):
    _, run = bair_and_model
    extra = ["--with-replacement"] if replacement else []
    rec = _run(["run", "kinetics600", "--checkpoint", str(run), "--data-dir", str(kinetics),
                "--clips", "2", "--samples-per-clip", "1", *extra], tmp_path)
    assert rec["protocol"]["context_frames"] == 5 and rec["counts"]["generated"] == 2
    assert rec["protocol"]["with_replacement"] is replacement
    m = rec["metrics"]
    assert 1.0 <= m["is_i3d"] <= 2.0 + 1e-9  # two samples: IS is at most the sample count
    assert 1.0 <= m["is_i3d_real"] <= 2.0 + 1e-9
    assert "is_i3d_10splits" not in m  # fewer samples than splits
    check_record(rec)  # every value, IS and IS_real included, recomputed from the features


def test_run_ucf101_from_avi_tree(bair_and_model, ucf_tree, tmp_path, c3d_dir):  # noqa: F811
    # C3D on random weights in the release's npz layout (the TGANv2 files are not reachable here)
    _, run = bair_and_model
    root = ucf_tree
    rec = _run(["run", "ucf101", "--checkpoint", str(run), "--data-dir", str(root),
                "--clips", "2", "--samples-per-clip", "1", "--c3d-weights", str(c3d_dir)],
               tmp_path)
    assert rec["protocol"]["context_frames"] == 0 and rec["counts"]["generated"] == 2
    m = rec["metrics"]
    assert np.isfinite(m["fid_c3d"]) and 1.0 <= m["is_c3d"] <= 2.0 + 1e-9
    assert "fvd" not in m and "c3d" in rec["feature_networks"]
    check_record(rec)


def test_ucf101_without_c3d_weights_fails_before_work(bair_and_model, ucf_tree, tmp_path,  # noqa: F811
                                                      monkeypatch):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path / "empty-cache"))
    _, run = bair_and_model
    res = CliRunner().invoke(main, ["run", "ucf101", "--checkpoint", str(run), "--data-dir",
                                    str(ucf_tree), "--clips", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "conv3d_deepnetA_ucf.npz" in res.output
    assert not list(tmp_path.glob("*.json"))


def test_a_dataset_file_replaced_in_place_regenerates_exactly_its_chunks(
        bair_and_model, kinetics, tmp_path, i3d_weights):  # noqa: F811
    """The chunk cache knows what it was computed from: after a video of the dataset is
    replaced in place, --resume regenerates the chunks that read it (and only those) and gives
    the result of a fresh run on the new data."""
    import os
    import shutil

    from vdbench.engine.protocol_data import open_protocol_data
    from vdbench.protocols.registry import get_protocol

    _, run = bair_and_model
    data = tmp_path / "k600"
    shutil.copytree(kinetics, data)
    args = ["run", "kinetics600", "--checkpoint", str(run), "--data-dir", str(data),
            "--clips", "2", "--samples-per-clip", "1", "--batch-size", "1",
            "--cache-dir", str(tmp_path / "cache")]
    before = _run(args, tmp_path / "first")
    clips, _ = open_protocol_data(get_protocol("kinetics600").with_counts(2, 1), str(data))
    first, other = (clips.dataset.files[i] for i in clips.indices[:2])
    donor = next(f for f in clips.dataset.files if f not in (first, other))
    stat = first.stat()
    shutil.copyfile(donor, first)  # same name, other content
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    resumed = _run(args + ["--resume"], tmp_path / "resumed")
    assert resumed["cache"]["chunks_cached"] == 1 and resumed["cache"]["chunks"] == 2
    assert resumed["cache"]["real_chunks_cached"] == 1 and resumed["cache"]["real_chunks"] == 2
    fresh = _run(args[:-2] + ["--cache-dir", str(tmp_path / "fresh-cache")], tmp_path / "fresh")
    assert resumed["metrics"] == fresh["metrics"]
    assert resumed["metrics"]["fvd"] != before["metrics"]["fvd"]  # the new data mattered
def test_ucf101_tgan2_scores_each_set_alone(ucf_tree, tmp_path, c3d_dir):  # noqa: F811
    """TGANv2's sample protocol on a tiny UCF101 tree: draw s (every clip's s-th sample) is one
    set, scored alone (IS over one split); and its real reference may outnumber the clips."""
    import dataclasses

    from tests.fast_generator import NoiseGenerator
    from tests.test_metric_registry import _is_one_split
    from vdbench.engine.generator import GenerationRequest, sample_seed
    from vdbench.engine.protocol_data import open_protocol_data
    from vdbench.metrics.c3d import C3DFeatures
    from vdbench.protocols.registry import get_protocol

    protocol = dataclasses.replace(get_protocol("ucf101-tgan2", "quick"), num_clips=2,
                                   samples_per_clip=3, reference_clips=3)
    clips, truth = open_protocol_data(protocol, str(ucf_tree))
    assert (len(clips), len(truth)) == (2, 3)
    res = CliRunner().invoke(main, [
        "run", "ucf101-tgan2", "--model", "tests.fast_generator:factory", "--data-dir",
        str(ucf_tree), "--clips", "2", "--samples-per-clip", "3", "--metrics", "is_c3d_per_draw",
        "--c3d-weights", str(c3d_dir), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (rec,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert rec["counts"]["generated"] == 6 and rec["protocol"]["name"] == "ucf101-tgan2"
    c3d, gen = C3DFeatures(weights_dir=c3d_dir), NoiseGenerator(64, 16)
    scores = [_is_one_split(c3d.features_and_logits(gen.generate(GenerationRequest(
        (sample_seed(0, 0, s), sample_seed(0, 1, s)), 16, 64)))[1].astype(np.float64))
        for s in range(3)]
    m = rec["metrics"]
    assert m["is_c3d_per_draw_mean"] == pytest.approx(np.mean(scores), rel=1e-5)
    assert m["is_c3d_per_draw_std"] == pytest.approx(np.std(scores), rel=1e-3, abs=1e-6)
    assert set(m) == {"is_c3d_per_draw_mean", "is_c3d_per_draw_std"}
    check_record(rec)
