"""The protocols of other papers' code (vdbench.protocols.literature): every parameter against
the cited code's value (each with its file:line at the commit in COMMITS), the seeded clip and
window choice pinned and recomputed independently, StyleGAN-V's frame subsampling, a quick
`vdbench run`, `vdbench fvd --protocol`, the cards, and bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.test_cli_errors import assert_one_error
from tests.test_selection_pinned import Tagged
from tests.test_selection_pinned import _digest, _hash, _views
from vdbench.cli import main
from vdbench.engine import protocol_data
from vdbench.metrics.errors import InputError
from vdbench.protocols import literature, registry
from vdbench.protocols.cards import card
from vdbench.protocols.datasets import Reader
from vdbench.protocols.datasets.base import window_span
from vdbench.protocols.datasets.shapes import ShapesDataset
from vdbench.protocols.literature import (COMMITS, cycled_indices, generated_clips,
                                          offset_choices, window_frames)
from vdbench.protocols.registry import PROTOCOLS, get_protocol

ROOT = Path(__file__).resolve().parents[1]
NEW = ("fvd2048_16f", "fvd2048_128f", "fvd2048_128f_subsample8f", "isv2048_ucf",
       "bair-videogpt", "ucf101-magvit", "bair-fitvid")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---- parameters against the cited code ---------------------------------------------------------

def test_commits_read():
    assert COMMITS == {"universome/stylegan-v": "3fecd69", "wilson1yan/VideoGPT": "733d2b1",
                       "google-research/magvit": "05e8cfd", "google-research/fitvid": "6bacb06"}


@pytest.mark.parametrize("name,frames,subsample", [
    # universome/stylegan-v src/metrics/metric_main.py:117: compute_fvd(max_real=2048,
    # num_gen=2048, num_frames=16)
    ("fvd2048_16f", 16, 1),
    # metric_main.py:123: max_real=2048, num_gen=2048, num_frames=128
    ("fvd2048_128f", 128, 1),
    # metric_main.py:130: max_real=2048, num_gen=2048, num_frames=16, subsample_factor=8
    ("fvd2048_128f_subsample8f", 16, 8),
])
def test_stylegan_v_fvd(name, frames, subsample):
    p = get_protocol(name)
    assert p.num_clips == 2048 and p.num_samples == 2048  # max_real, num_gen
    assert (p.frames, p.frameskip) == (frames, subsample)
    assert p.context_frames == 0  # unconditional (G(z, c, t), metric_utils.py:274-276)
    # metric_utils.py:230: item_subset = the first num_items videos (max_size=None,
    # metric_main.py:116: the dataset is not cut or shuffled)
    assert p.clip_order == "first"
    # src/training/dataset.py:403: random.randint(0, len - n*k + k - 1): every start where the
    # window fits (randint's upper bound is inclusive)
    assert p.real_offsets == "random"
    assert offset_choices(p, 200) == 200 - frames * subsample + subsample - 1 + 1
    # dataset.py:400 (generated side, no discard there): len - n*k >= 0
    assert p.generated_min_frames == frames * subsample
    # frechet_video_distance.py:23,54-56: its preprocessing and statistics (the parity mode)
    assert p.metrics == ("fvd_stylegan_v",)
    assert len(p.follows) >= 8 and all(f.startswith("universome/stylegan-v src/")
                                       for f in p.follows)


def test_stylegan_v_isv():
    p = get_protocol("isv2048_ucf")
    # metric_main.py:136: compute_isv(num_gen=2048, num_splits=10, backbone='c3d_ucf101')
    assert p.num_samples == 2048 and p.metrics == ("is_c3d",)
    from vdbench.metrics.registry import METRICS
    assert 10 in METRICS["is_c3d"].splits
    # video_inception_score.py:23,31: num_frames = 16, subsample_factor = 1
    assert (p.frames, p.frameskip, p.context_frames) == (16, 1, 0)
    # video_inception_score.py:46: the RandomState(42) shuffle is a stated difference
    assert "RandomState(42)" in p.notes


def test_videogpt_bair():
    p = get_protocol("bair-videogpt")
    # wilson1yan/VideoGPT scripts/compute_fvd.py:22,47: batches of 256 over all GPUs; :117
    # asserts 256 real and 256 fake embeddings per trial
    assert (p.dataset, p.split, p.num_clips) == ("bair", "test", 256)
    # videogpt/data.py:163 randint(low=0, high=len - 16): numpy's bound is exclusive
    assert p.real_offsets == "random-but-last" and offset_choices(p, 30) == 30 - 16
    # README.md:114 bair_gpt is single-frame conditional; videogpt/gpt.py:85 frame_cond =
    # video[:, :, :n_cond_frames]; compute_fvd.py:119 FVD over all 16 frames
    assert (p.frames, p.context_frames, p.fvd_exclude_context) == (16, 1, False)
    # README.md:69: BAIR 16 frames of 64 x 64
    assert p.resolution == 64
    # compute_fvd.py:58-66: one FVD per trial, np.mean / np.std (population) over trials
    # videogpt/fvd/fvd.py: its preprocessing and statistics (the VideoGPT parity mode)
    assert p.metrics == ("fvd_videogpt_per_draw",) and p.samples_per_clip == 10
    from vdbench.metrics.registry import METRICS
    metric = METRICS["fvd_videogpt_per_draw"]
    assert metric.per_draw and metric.parity == "videogpt"


def test_magvit_ucf101():
    p = get_protocol("ucf101-magvit")
    # google-research/magvit videogvt/configs/maskgvt_ucf101_config.py:118-120:
    # data_splits='train', num_examples=10000, final_num_repeats=4
    assert (p.split, p.num_clips, p.samples_per_clip) == ("train", 10000, 4)
    # maskgvt_ucf101_config.py:38,50-53: image_size 128, 16 frames, stride 1, min_resize and
    # crop_size 128 (short side resized, centre crop)
    assert (p.resolution, p.frames, p.frameskip, p.fit) == (128, 16, 1, "crop")
    # maskgvt_ucf101_config.py:23: 9,537 training videos < 10,000: the iterator loops
    assert p.clip_order == "cycled"
    # frechet_distance.py:188-195: an FVD per repeat, scores.mean() and scores.std()
    assert p.metrics == ("fvd_per_draw",) and p.context_frames == 0


def test_fitvid_bair():
    p = get_protocol("bair-fitvid")
    # google-research/fitvid train.py:98-99: out_video[:, n_past-1:] vs video[:, n_past:]
    assert p.fvd_exclude_context and p.context_frames == 1 and p.generated_frames == 15
    # eval.py:67: eval_steps = 256 // batch_size: the 256 test videos
    assert (p.dataset, p.split, p.num_clips, p.samples_per_clip) == ("bair", "test", 256, 1)
    # the rest is vdbench's BAIR protocol with the context option (the existing
    # `vdbench run bair --fvd-exclude-context`)
    bair = get_protocol("bair")
    assert (p.frames, p.resolution) == (bair.frames, bair.resolution)


def test_every_new_protocol_records_its_code_and_runs_quick_on_shapes():
    for name in NEW:
        p = get_protocol(name)
        assert p.follows and all(any(repo in f for repo in COMMITS) for f in p.follows)
        q = get_protocol(name, "quick")
        assert (q.dataset, q.preset, q.resolution) == ("shapes", "quick", 32)
        assert q.follows == p.follows


# ---- the seeded choice of clips and windows ------------------------------------------------------

class Long(Tagged):
    """Video ``i``: ``130 + 7i mod 23`` one-pixel frames storing (frame, i mod 256, i // 256)."""

    name = "long"
    base = 130


def _opened(protocol, size: int):
    original = Reader.open_for
    Reader.open_for = lambda self, p, data_dir, split: Long(size)  # type: ignore[assignment]
    try:
        return protocol_data.open_protocol_data(protocol, "unused")
    finally:
        Reader.open_for = original  # type: ignore[method-assign]


def _rule(protocol, total: int, seeded_windows: bool) -> list[tuple[int, int]]:
    """The documented choice in pure Python: videos by clip_order; the window of the j-th
    occurrence of video i at hash(seed, 2, i, j) mod (number of starts)."""
    seed, n = protocol.seed, protocol.num_clips
    if protocol.clip_order == "first":
        videos = list(range(n))
    else:  # cycled: whole passes, then the rest of the next pass by hash(seed, 3, pass, i)
        passes, rest = divmod(n, total)
        ranked = sorted(range(total), key=lambda i: (_hash(seed, 3, passes, i), i))
        videos = sorted(list(range(total)) * passes + ranked[:rest])
    span, seen, out = window_span(protocol.frames, protocol.frameskip), {}, []
    for i in videos:
        j = seen[i] = seen.get(i, -1) + 1
        starts = Long.length(i) - span + (0 if protocol.real_offsets == "random-but-last" else 1)
        out.append((i, _hash(seed, 2, i, j) % starts if seeded_windows else 0))
    return out


QUICK_PINNED = {
    "fvd2048_16f": [(0, 74), (1, 80), (2, 31), (3, 31), (4, 34), (5, 5), (6, 91), (7, 42),
                    (8, 100), (9, 105), (10, 63), (11, 103), (12, 91), (13, 95), (14, 50),
                    (15, 122)],
    "fvd2048_128f_subsample8f": [(0, 9), (1, 16), (2, 22), (3, 3), (4, 4), (5, 10), (6, 15),
                                 (7, 2), (8, 15), (9, 9), (10, 10), (11, 1), (12, 21), (13, 13),
                                 (14, 6), (15, 16)],
    "bair-videogpt": [(0, 39), (1, 44), (2, 110), (3, 93), (4, 18), (5, 124), (6, 111),
                      (7, 54), (8, 71), (9, 90), (10, 47), (11, 43), (12, 19), (13, 21),
                      (14, 110), (15, 24)],
}
PAPER_PINNED = {  # (clips, SHA-256 prefix of the (video, start) pairs) on Long(size)
    "fvd2048_16f": (3000, 2048, "74c1b18be4281f1d"),
    "fvd2048_128f": (3000, 2048, "a83f630904de9776"),
    "fvd2048_128f_subsample8f": (3000, 2048, "bffc11fd4d741000"),
    "bair-videogpt": (3000, 256, "61e96e283505ed67"),
    "ucf101-magvit": (9537, 10000, "f3171a5f623a4830"),
}


@pytest.mark.parametrize("name", sorted(QUICK_PINNED))
def test_quick_selection_pinned_and_documented(name):
    p = get_protocol(name, "quick")
    clips, truth = _opened(p, 200)
    assert _views(clips) == QUICK_PINNED[name] == _rule(p, 200, True)
    assert truth is clips
    assert _views(_opened(p, 200)[0]) == QUICK_PINNED[name]  # reproducible


@pytest.mark.parametrize("name", sorted(PAPER_PINNED))
def test_paper_selection_pinned_and_documented(name):
    size, n, digest = PAPER_PINNED[name]
    p = get_protocol(name)
    got = _views(_opened(p, size)[0])
    # ucf101 is a seeded reader: its windows are seeded as well (real_offsets "")
    assert (len(got), _digest(got)) == (n, digest)
    assert got == _rule(p, size, True)


def test_another_seed_moves_the_offsets_not_the_videos():
    p = get_protocol("fvd2048_16f", "quick")
    a = _views(_opened(p, 200)[0])
    b = _views(_opened(dataclasses.replace(p, seed=1), 200)[0])
    assert [v for v, _ in a] == [v for v, _ in b] == list(range(16))
    assert [s for _, s in a] != [s for _, s in b]


def test_offsets_cover_the_stated_range():
    """Over many videos of 30 frames (BAIR's length), StyleGAN-V's rule reaches every start
    0..14 where 16 frames fit; VideoGPT's exclusive bound never takes 14."""
    class Thirty(Long):
        @staticmethod
        def length(i: int) -> int:
            return 30

    for name, top in (("fvd2048_16f", 14), ("bair-videogpt", 13)):
        p = dataclasses.replace(get_protocol(name), num_clips=2000)
        sel = literature.real_clips(Thirty(2000), p, None)
        starts = {s for _, s in _views(sel)}
        assert starts == set(range(top + 1)), (name, sorted(starts))


def test_subsample8f_frame_indices():
    p = get_protocol("fvd2048_128f_subsample8f")
    # dataset.py:406: frames_idx = arange(0, 16*8, 8) + offset
    assert window_frames(p, 0).tolist() == list(range(0, 128, 8))
    assert window_frames(p, 5).tolist() == [5 + 8 * k for k in range(16)]
    clips, _ = _opened(dataclasses.replace(p, num_clips=40), 40)
    for k, clip in enumerate(clips.iter_clips(range(40))):
        frames = clip[:, 0, 0, 0].astype(int)
        start = frames[0]
        assert frames.tolist() == window_frames(p, start).tolist()
        assert 0 <= start <= Long.length(k) - 121  # the last frame read exists
    # generated: from frame 0, frames 0, 8, ..., 120 (frechet_video_distance.py:39-40)
    gen = generated_clips(Long(2048), p)
    assert gen.iter_clips([3]).__next__()[:, 0, 0, 0].tolist() == list(range(0, 128, 8))


def test_cycled_indices():
    got = cycled_indices(7, 17, seed=0)
    counts = np.bincount(got, minlength=7)
    assert got.tolist() == sorted(got.tolist()) and len(got) == 17
    assert set(counts.tolist()) == {2, 3} and counts.sum() == 17  # two passes, then 3 more
    assert np.array_equal(got, cycled_indices(7, 17, seed=0))
    assert cycled_indices(7, 5, seed=0).tolist() != cycled_indices(7, 5, seed=1).tolist()


# ---- runs, standalone FVD, cards --------------------------------------------------------------

def test_quick_run_of_a_new_protocol(tmp_path, i3d_weights):
    res = invoke("run", "fvd2048_16f", "--model", "tests.fast_generator:factory", "--preset",
                 "quick", "--clips", 3, "--out", tmp_path, "--bootstrap", 2)
    assert res.exit_code == 0, res.output
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["protocol"]["name"] == "fvd2048_16f"
    assert record["protocol"]["clip_order"] == "first"
    assert record["protocol"]["follows"][0].startswith("universome/stylegan-v")
    assert np.isfinite(record["metrics"]["fvd_stylegan_v"])


@pytest.fixture
def small(monkeypatch):
    """The StyleGAN-V protocols with 3 clips, so that I3D runs on a few videos."""
    for name in ("fvd2048_16f", "fvd2048_128f", "fvd2048_128f_subsample8f"):
        monkeypatch.setitem(PROTOCOLS, name, dataclasses.replace(
            registry.PROTOCOLS[name], num_clips=3))


def test_fvd_protocol_equals_the_fvd_of_the_stated_clips(tmp_path, small, i3d_weights):
    """`fvd --protocol` equals plain `fvd --compat stylegan-v` on the clips the protocol states
    (built here from the documented rule)."""
    gen = np.stack([ShapesDataset("train", 4, 32, frames=40).video(i) for i in range(4)])
    np.save(tmp_path / "gen.npy", gen)
    res = invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol", "fvd2048_16f", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    # independently: shapes test videos 0-2 (30 frames, the reader's floor) at the generated
    # size, each from start hash(0, 2, i, 0) mod 15; the first 3 generated videos from frame 0
    shapes = ShapesDataset("test", 256, 32, frames=30)
    starts = [_hash(0, 2, i, 0) % (30 - 16 + 1) for i in range(3)]
    assert starts != [0, 0, 0]
    real = np.stack([shapes.video(i)[s:s + 16] for i, s in enumerate(starts)])
    np.save(tmp_path / "real_clips.npy", real)
    np.save(tmp_path / "gen_clips.npy", gen[:3, :16])
    plain = invoke("fvd", tmp_path / "real_clips.npy", tmp_path / "gen_clips.npy", "--compat",
                   "stylegan-v", "--json")
    assert plain.exit_code == 0, plain.output
    plain_out = json.loads(plain.output[plain.output.index("{"):])
    assert out["values"]["fvd_stylegan_v"] == pytest.approx(plain_out["fvd"], rel=1e-6)
    # the same bootstrap (each video its own cluster, sides independent, seed 0): same interval
    found = out["intervals"]["fvd_stylegan_v"]
    assert found["ci"] == pytest.approx(plain_out["fvd_ci"], rel=1e-6)
    assert found["se"] == pytest.approx(plain_out["fvd_se"], rel=1e-6)
    assert out["bootstrap"]["replicates"] == plain_out["bootstrap"]["replicates"] == 1000
    assert "stylegan" in out["network"]
    assert (out["n_real"], out["n_generated"], out["protocol"]) == (3, 3, "fvd2048_16f")


def test_fvd_protocol_trials(tmp_path, monkeypatch, i3d_weights):
    """bair-videogpt through `fvd --protocol`: trial s is generated videos [3s, 3s+3), each
    against the same 3 real clips (16 frames from the documented start); mean and population
    std of the per-trial VideoGPT-parity FVDs."""
    monkeypatch.setitem(PROTOCOLS, "bair-videogpt", dataclasses.replace(
        registry.PROTOCOLS["bair-videogpt"], num_clips=3, samples_per_clip=2))
    videos = np.stack([ShapesDataset("test", 4, 32, frames=30).video(i) for i in range(4)])
    np.save(tmp_path / "real.npy", videos)
    gen = np.stack([ShapesDataset("train", 6, 32, frames=20).video(i) for i in range(6)])
    np.save(tmp_path / "gen.npy", gen)
    res = invoke("fvd", tmp_path / "real.npy", tmp_path / "gen.npy", "--protocol",
                 "bair-videogpt", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    starts = [_hash(0, 2, i, 0) % (30 - 16) for i in range(3)]  # randint's exclusive bound
    np.save(tmp_path / "r.npy", np.stack([videos[i, s:s + 16] for i, s in enumerate(starts)]))
    per_trial = []
    for trial in range(2):
        np.save(tmp_path / "g.npy", gen[3 * trial:3 * trial + 3, :16])
        plain = invoke("fvd", tmp_path / "r.npy", tmp_path / "g.npy", "--compat", "videogpt",
                       "--json")
        per_trial.append(json.loads(plain.output[plain.output.index("{"):])["fvd"])
    values = out["values"]
    assert values["fvd_videogpt_per_draw_mean"] == pytest.approx(np.mean(per_trial), rel=1e-6)
    assert values["fvd_videogpt_per_draw_std"] == pytest.approx(np.std(per_trial), rel=1e-5)
    assert (out["n_real"], out["n_generated"], out["trials"]) == (3, 6, 2)


def test_card_cli_is_the_card():
    for name in NEW + ("bair",):
        res = invoke("protocols", "--card", name)
        assert res.exit_code == 0, res.output
        assert res.output.rstrip("\n") == card(get_protocol(name))
    text = card(get_protocol("fvd2048_128f_subsample8f"))
    for fragment in ("metric_main.py:126-131", "every 8-th of 121", "2048", "at least 128"):
        assert fragment in text.replace("\n", " ").replace("  ", " ") or fragment in text


def test_readme_holds_every_new_card():
    readme = (ROOT / "README.md").read_text()
    for name in NEW:
        shown = f"`vdbench protocols --card {name}`:\n\n```\n{card(get_protocol(name))}\n```"
        assert shown in readme, f"README: regenerate the card of {name}"
        assert f"\nvdbench protocols --card {name}\n" in readme  # run by tests/test_readme.py


# ---- bad input ------------------------------------------------------------------------------

def test_unknown_protocol():
    assert_one_error(invoke("protocols", "--card", "fvd9999"), "unknown protocol 'fvd9999'")
    assert_one_error(invoke("fvd", "a.npy", "b.npy", "--protocol", "fvd9999"),
                     "unknown protocol 'fvd9999'")
    assert_one_error(invoke("run", "fvd9999", "--model", "x:y"), "unknown protocol")


def test_generated_too_short_for_128f(tmp_path, small):
    np.save(tmp_path / "gen.npy", np.zeros((3, 64, 8, 8, 3), np.uint8))
    for name in ("fvd2048_128f", "fvd2048_128f_subsample8f"):  # 128 frames needed by both
        line = assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol",
                                       name), "gen.npy[0]: has 64 frames")
        assert "at least 128 frames" in line


def test_other_bad_input(tmp_path, small):
    np.save(tmp_path / "gen.npy", np.zeros((2, 16, 8, 8, 3), np.uint8))
    assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol",
                            "fvd2048_16f"), "2 generated videos; protocol fvd2048_16f compares 3")
    assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol", "fvd2048_16f",
                            "--frames", 8), "--frames")
    assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol", "fvd2048_16f",
                            "--compat", "videogpt"), "--compat")
    # the chunked, resumable pass is the plain commands'; the protocol's is one process
    assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol", "fvd2048_16f",
                            "--cache-dir", tmp_path / "cache"), "not available with --protocol")
    assert_one_error(invoke("fvd", "a.npy", "b.npy", "--data-dir", tmp_path), "--data-dir")
    np.save(tmp_path / "gen3.npy", np.zeros((3, 16, 8, 8, 3), np.uint8))
    assert_one_error(invoke("fvd", "nowhere", tmp_path / "gen3.npy", "--protocol",
                            "fvd2048_16f"), "nowhere: no such file or folder")
    assert_one_error(invoke("fvd", "shapes", tmp_path / "gen.npy", "--protocol", "isv2048_ucf"),
                     "no Fréchet distance")
    with pytest.raises(InputError, match="clip_order"):
        dataclasses.replace(get_protocol("bair"), clip_order="last")
