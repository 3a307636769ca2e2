"""The Python API (vdbench.fvd/kvd/fid/inception_score, StreamingFVD) against the commands,
exact moments against exact rational arithmetic, and the streaming metric across gloo ranks."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import vdbench
from tests.test_cli_errors import assert_one_error
from tests.videos import random_videos
from vdbench.cli import main
from vdbench.metrics import exact_moments
from vdbench.metrics.errors import InputError
from vdbench.metrics.exact_moments import ExactMoments
from vdbench.metrics.frechet import GaussianStats, frechet_distance

# The API and the CLI share one implementation: their values agree to the last bit.
FIELDS = ("value", "lo", "hi", "se")


def cli_json(*args) -> dict:
    res = CliRunner().invoke(main, [str(a) for a in args] + ["--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output[res.output.index("{"):])


@pytest.fixture
def videos(tmp_path, i3d_weights):
    real, gen = random_videos(3, seed=1), random_videos(3, seed=2) // 2
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "gen.npy", gen)
    return tmp_path / "real.npy", tmp_path / "gen.npy", real, gen


@pytest.fixture
def features(tmp_path):
    """[N, 400] float features of two sets (as `vdbench features i3d` writes), no network."""
    rng = np.random.default_rng(3)
    real = rng.normal(size=(40, 400)).astype(np.float32) * 3
    gen = (rng.normal(size=(30, 400)) * 2.5 + 0.4).astype(np.float32)
    np.save(tmp_path / "freal.npy", real)
    np.save(tmp_path / "fgen.npy", gen)
    return tmp_path / "freal.npy", tmp_path / "fgen.npy", real, gen


# --- one call per metric = the command's JSON --------------------------------------------------

def test_fvd_equals_cli_json_for_paths_arrays_and_tensors(videos, i3d_extractor):
    real_path, gen_path, real, gen = videos
    out = cli_json("fvd", real_path, gen_path, "--bootstrap", 200)
    expect = frechet_distance(GaussianStats.from_features(i3d_extractor(real)),
                              GaussianStats.from_features(i3d_extractor(gen)))
    assert out["fvd"] == pytest.approx(expect, rel=1e-6)  # independent of both
    for r in (vdbench.fvd(real_path, gen_path, bootstrap=200),
              vdbench.fvd(str(real_path), gen, bootstrap=200),
              vdbench.fvd(torch.from_numpy(real).float(), torch.from_numpy(gen).double(),
                          value_range=(0, 255), bootstrap=200)):
        assert [r.value, r.lo, r.hi, r.se] == [out["fvd"], *out["fvd_ci"], out["fvd_se"]]
        assert (r.n_real, r.n_generated, r.metric) == (3, 3, "fvd")
        assert r.settings["network"] == out["network"]
        assert r.settings["weights_sha256"] == out["weights_sha256"]
        assert r.settings["bootstrap"] == out["bootstrap"]
        assert r.extra["inf_fit"] == out["fvd_inf_fit"]
    unit = vdbench.fvd(real / 255.0, torch.from_numpy(gen) / 255, value_range="0-1",
                       bootstrap=2)  # float in [0, 1]: the pixels up to rounding
    assert unit.value == pytest.approx(out["fvd"], rel=1e-4)
    assert "fvd=" in repr(r) and "95% interval" in repr(r) and "n_real=3" in repr(r)
    json.dumps(r.to_dict())  # plain values
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.value = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.settings["network"] = "x"  # type: ignore[index]


def test_fvd_compat_equals_cli_json(videos):
    """vdbench.fvd(compat=...) is `vdbench fvd --compat`: the same value, interval, mode record
    and FVD∞ withdrawal; a numpy side is accepted beside a path."""
    real_path, gen_path, real, gen = videos
    out = cli_json("fvd", real_path, gen_path, "--compat", "stylegan-v", "--bootstrap", 50)
    r = vdbench.fvd(real_path, gen, compat="stylegan-v", bootstrap=50)
    assert [r.value, r.lo, r.hi, r.se] == [out["fvd"], *out["fvd_ci"], out["fvd_se"]]
    assert r.metric == "fvd_stylegan_v"
    assert (r.settings["compat"], r.settings["compat_mode"]) == ("stylegan-v",
                                                                 out["compat_mode"])
    assert r.settings["preprocessing"] == out["preprocessing"]
    assert r.extra["inf"] is None and out["fvd_inf"] is None
    assert r.extra["inf_fit"] == out["fvd_inf_fit"]
    assert r.value != vdbench.fvd(real_path, gen_path, bootstrap=2).value  # another pipeline


def test_kvd_fid_is_equal_cli_json(tmp_path, features):
    real_path, gen_path, real, gen = features
    out = cli_json("kvd", real_path, gen_path, "--bootstrap", 50)
    for r in (vdbench.kvd(real_path, gen_path, bootstrap=50),
              vdbench.kvd(real, torch.from_numpy(gen), bootstrap=50)):
        assert [r.value, r.std, r.lo, r.hi, r.se] == [out["kvd"], out["kvd_std"],
                                                      *out["kvd_ci"], out["kvd_se"]]
        assert (r.n_real, r.n_generated, r.extra["subset_size"]) == (40, 30, 30)
    out = cli_json("fid", real_path, gen_path, "--network", "i3d", "--bootstrap", 50)
    r = vdbench.fid(real, gen, network="i3d", bootstrap=50)
    assert [r.value, r.lo, r.hi, r.se] == [out["fid"], *out["fid_ci"], out["fid_se"]]
    assert r.metric == out["metric"] == "fvd"
    assert r.value == pytest.approx(frechet_distance(GaussianStats.from_features(real),
                                                     GaussianStats.from_features(gen)),
                                    rel=1e-12)
    assert r.extra["inf"] == out["fid_inf"]  # 30 clips: FVD∞ computed
    logits = np.random.default_rng(4).normal(size=(20, 400)) * 2
    np.save(tmp_path / "logits.npy", logits)
    out = cli_json("is", tmp_path / "logits.npy", "--network", "i3d", "--splits", 2)
    r = vdbench.inception_score(logits, network="i3d", splits=2)
    assert [r.value, r.std, r.n_generated] == [out["is_mean"], out["is_std"], out["n"]]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    half = [p[:10], p[10:]]
    scores = [np.exp(np.mean(np.sum(q * (np.log(q) - np.log(q.mean(0))), 1))) for q in half]
    assert r.value == pytest.approx(np.mean(scores), rel=1e-9)


def test_statistics_in_memory_and_refusals(features):
    _, gen_path, real, gen = features
    stats = GaussianStats.from_features(real)
    r = vdbench.fid(stats, gen_path, network="i3d")
    assert r.value == pytest.approx(vdbench.fid(real, gen, network="i3d").value, rel=1e-12)
    assert r.lo is None and "not_computed" in r.settings["bootstrap"]
    with pytest.raises(InputError, match="real: Gaussian statistics hold no rows"):
        vdbench.kvd(stats, gen)
    with pytest.raises(InputError, match="generated: expected videos"):
        vdbench.fvd(real, np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="value_range"):
        vdbench.fvd(real, gen, value_range=(0, 2))
    videos = random_videos(2)
    with pytest.raises(InputError, match="generated: clips per video"):
        vdbench.inception_score(videos, network="i3d", clips_per_video=2)
    with pytest.raises(InputError, match="batch_size"):
        vdbench.fvd(videos, videos, batch_size=0)


def test_import_vdbench_stays_light():
    """`import vdbench` loads neither the API nor numpy/torch until a name is used."""
    code = ("import sys, vdbench; light = not {'numpy', 'torch', 'vdbench.api'} & "
            "set(sys.modules); vdbench.fvd; print(light, 'vdbench.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "True"], out.stdout + out.stderr


# --- the streaming metric ----------------------------------------------------------------------

def test_streaming_fvd_equals_cli(videos, i3d_extractor):
    real_path, gen_path, real, gen = videos
    out = cli_json("fvd", real_path, gen_path, "--bootstrap", 2)
    s = vdbench.StreamingFVD(extractor=i3d_extractor, batch_size=2)
    s.update(real=real[:1], generated=gen[:2])
    s.update(real=torch.from_numpy(real[1:]))
    s.update(generated=gen[2:])
    r = s.compute()
    # exact moments put features on a 2^-40 grid and round once at the end
    assert r.value == pytest.approx(out["fvd"], rel=1e-9)
    assert (r.n_real, r.n_generated, r.settings["network"]) == (3, 3, out["network"])
    assert r.lo is None and "sums only" in r.settings["bootstrap"]["not_computed"]


def _stream(parts_real, parts_gen, make=None):
    s = make or vdbench.StreamingFrechet("i3d")
    for a, b in zip(parts_real, parts_gen, strict=True):
        s.update(real=a, generated=b)
    return s


def test_streaming_is_batching_order_and_reset_invariant(features):
    _, _, real, gen = features
    one = _stream([real], [gen]).compute().value
    assert one == pytest.approx(frechet_distance(GaussianStats.from_features(real),
                                                 GaussianStats.from_features(gen)), rel=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(3):  # tolerance: none, the moments are exact
        pr, pg = rng.permutation(len(real)), rng.permutation(len(gen))
        cuts_r, cuts_g = sorted(rng.choice(40, 4)), sorted(rng.choice(30, 4))
        s = _stream(np.split(real[pr], cuts_r), np.split(gen[pg], cuts_g))
        assert np.float64(s.compute().value).tobytes() == np.float64(one).tobytes()
    s.reset()
    with pytest.raises(InputError, match="0 video"):
        s.compute()
    s = _stream([gen], [real], make=s)  # sides swapped after reset: nothing of before remains
    assert s.compute().value == _stream([gen], [real]).compute().value
    with pytest.raises(InputError, match="dimension 3"):
        s.update(real=np.zeros((2, 3), np.float32))


def test_exact_moments_equal_rational_arithmetic(monkeypatch):
    monkeypatch.setattr(exact_moments, "ROWS_PER_CARRY", 7)  # carries every few rows
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(40, 5)) * 10.0 ** rng.integers(-6, 3, size=(40, 5))).astype(np.float32)
    got = ExactMoments(5)
    for part in np.array_split(x, 6):
        got.update(part)
    g = got.gaussian()
    # each feature to the nearest multiple of 2^-40 (ties to even), then exact rationals
    q = [[Fraction(round(Fraction(float(v)) * 2**40), 2**40) for v in row] for row in x]
    assert np.abs(np.array(q, dtype=np.float64) - x).max() <= 2.0**-41
    for i in range(5):
        exact = float(sum(row[i] for row in q))
        assert abs(g.sum[i] - exact) <= 2 * abs(np.spacing(exact)), i
        for j in range(5):
            exact = float(sum(row[i] * row[j] for row in q))
            assert abs(g.sum_outer[i, j] - exact) <= 4 * abs(np.spacing(exact)), (i, j)
    with pytest.raises(InputError, match="range"):
        ExactMoments(5).update(np.full((2, 5), 5000.0))


# --- torch.distributed: 1 and 2 gloo ranks -----------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batches(real, gen) -> list[dict]:
    """Batches of uneven sizes, some of one side only."""
    reals, gens = np.array_split(real, 5), np.array_split(gen, 3)
    return [{"real": reals[0], "generated": gens[0]}, {"real": reals[1]},
            {"generated": gens[1]}, {"real": reals[2], "generated": gens[2]},
            {"real": reals[3]}, {"real": reals[4]}]


def _rank(rank: int, world: int, port: int, real, gen, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        s = vdbench.StreamingFrechet("i3d")
        for k, batch in enumerate(_batches(real, gen)):
            if k % world == rank:  # each rank its own batches
                s.update(**batch)
        r = s.compute()
        np.save(os.path.join(out, f"rank{rank}.npy"), np.array([r.value, r.n_real,
                                                                r.n_generated]))
    finally:
        dist.destroy_process_group()


def test_streaming_fvd_is_the_same_on_1_and_2_gloo_ranks(features, tmp_path):
    _, _, real, gen = features
    one = _stream([real], [gen]).compute()
    torch.multiprocessing.spawn(_rank, args=(2, _free_port(), real, gen, str(tmp_path)),
                                nprocs=2, join=True)
    ranks = [np.load(tmp_path / f"rank{r}.npy") for r in range(2)]
    for got in ranks:  # bit for bit, on every rank
        assert got.tobytes() == np.array([one.value, 40, 30]).tobytes()


# --- --real / --generated ----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["fvd", "kvd", "fid"])
def test_real_generated_options(command, features):
    real_path, gen_path, _, _ = features
    extra = ["--bootstrap", "20"] + (["--network", "i3d"] if command == "fid" else [])
    value = next(iter(cli_json(command, real_path, gen_path, *extra).values()))
    for args in (["--real", real_path, "--generated", gen_path],
                 [real_path, "--generated", gen_path], ["--generated", gen_path, real_path]):
        assert next(iter(cli_json(command, *args, *extra).values())) == value, args
    runner = CliRunner()
    for args, fragment in (
            ([real_path, gen_path, "--real", real_path], "--real: REAL twice"),
            ([real_path, gen_path, "--generated", gen_path], "--generated: GENERATED twice"),
            ([], "--real: REAL missing"), (["--real", real_path], "--generated: GENERATED "
                                                                   "missing")):
        res = runner.invoke(main, [command, *map(str, args), *extra])
        assert_one_error(res, fragment)
