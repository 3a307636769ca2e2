"""`vdbench fvd | stats | features` in chunks: 1 and 2 torchrun ranks (gloo) and the plain
single stream give bit-identical outputs; a SIGKILLed command resumes from its chunk cache,
recomputing only the chunks missing; a corrupted chunk is detected and recomputed; ranks that
see different inputs stop with one line."""

import json
import os
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers_run import ROOT, env, run_vdbench, vdbench_cmd
from tests.test_cli_errors import assert_one_error
from tests.videos import random_videos, write_video
from vdbench.cli import main
from vdbench.engine.sharded_features import ShardOptions, chunk_source
from vdbench.protocols.datasets.generic import open_source

N_REAL, N_GEN = 10, 9


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, i3d_weights):
    root = tmp_path_factory.mktemp("inputs")
    np.save(root / "real.npy", random_videos(N_REAL, seed=1))
    np.save(root / "gen.npy", random_videos(N_GEN, seed=2) // 2)
    folder = root / "vids"
    folder.mkdir()
    for i, video in enumerate(random_videos(3, t=30, h=16, w=16, seed=3)):
        write_video(folder / f"{i}.mp4", video)
    return root


def _ok(res: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def _arrays(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _same_npz(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    assert x.keys() == y.keys()
    for k in x:
        assert x[k].dtype == y[k].dtype and x[k].tobytes() == y[k].tobytes(), k


def _fvd_json(res: subprocess.CompletedProcess) -> dict:
    out = json.loads(res.stdout[res.stdout.index("{"):])
    return {k: out[k] for k in ("fvd", "fvd_ci", "fvd_se", "fvd_inf", "n_real", "n_generated")}


def test_chunks_read_the_clips_the_stream_reads(tmp_path, inputs):
    """Random access to every input format gives the clips of the single stream, including
    chunks that start and end inside a video's clips."""
    frames = tmp_path / "frames"
    videos = random_videos(3, t=6, h=8, w=8, seed=4)
    for i, video in enumerate(videos):
        (frames / f"v{i}").mkdir(parents=True)
        for t, frame in enumerate(video):
            from PIL import Image

            Image.fromarray(frame).save(frames / f"v{i}" / f"{t:02d}.png")
    with zipfile.ZipFile(tmp_path / "frames.zip", "w") as z:
        for p in sorted(frames.rglob("*.png")):
            z.write(p, p.relative_to(frames).as_posix())
    cases = [(inputs / "real.npy", 4, 1), (inputs / "vids", 10, 3), (frames, 2, 3),
             (tmp_path / "frames.zip", 3, 2)]
    for path, clip_frames, per in cases:
        source = open_source(path, clip_frames, per)
        stream = np.concatenate(list(source.batches(4)))
        chunked = chunk_source(source)
        for a, b in [(0, 1), (1, 5), (2, 3), (4, len(source)), (0, len(source))]:
            b = min(b, len(source))
            assert np.array_equal(chunked.read(a, b), stream[a:b]), (path, a, b)
        assert chunked.fingerprint(0, 1) == chunked.fingerprint(0, 1)


CHUNKED = ["--batch-size", "2", "--chunk-size", "2"]  # 5 chunks: rank 0 folds 3 rounds


def test_stats_of_two_ranks_equal_the_single_stream_bit_for_bit(tmp_path, inputs):
    real = inputs / "real.npy"
    _ok(run_vdbench("stats", real, "-o", tmp_path / "one.npz", "--batch-size", "2"))
    two = _ok(run_vdbench("stats", real, "-o", tmp_path / "two.npz", *CHUNKED, nproc=2))
    _same_npz(tmp_path / "one.npz", tmp_path / "two.npz")
    assert two.stdout.count("wrote") == 1, "rank 0 alone reports"


def test_features_of_clips_cut_from_videos_are_world_size_invariant(tmp_path, inputs):
    # chunks of 2 clips straddle the videos' 3 clips each
    cut = ["features", "i3d", inputs / "vids", "--frames", "10", "--clips-per-video", "3"]
    _ok(run_vdbench(*cut, "-o", tmp_path / "f1.npy", "--batch-size", "1"))
    _ok(run_vdbench(*cut, "-o", tmp_path / "f2.npy", "--batch-size", "1", "--chunk-size", "2",
                    nproc=2))
    f1, f2 = np.load(tmp_path / "f1.npy"), np.load(tmp_path / "f2.npy")
    assert f1.shape == (9, 400) and f1.tobytes() == f2.tobytes()


def test_fvd_of_two_ranks_equals_one_process_bit_for_bit(tmp_path, inputs):
    real, gen = inputs / "real.npy", inputs / "gen.npy"
    args = ["fvd", real, gen, "--json", "--bootstrap", "20"]
    one = _fvd_json(_ok(run_vdbench(*args, "--batch-size", "2")))
    res = _ok(run_vdbench(*args, *CHUNKED, nproc=2))
    two = _fvd_json(res)
    assert res.stdout.count('"fvd":') == 1, "rank 0 alone prints"
    assert one == two and one["n_real"] == N_REAL and one["n_generated"] == N_GEN
    assert all(np.float64(one[k]).tobytes() == np.float64(two[k]).tobytes()
               for k in ("fvd", "fvd_se", "fvd_inf"))
    # one side a statistics file: one chunked pass, after which rank 1 leaves
    _ok(run_vdbench("stats", real, "-o", tmp_path / "real.npz"))
    res = _ok(run_vdbench("fvd", tmp_path / "real.npz", gen, "--json", *CHUNKED, nproc=2))
    assert res.stdout.count('"fvd":') == 1
    assert _fvd_json(res)["fvd"] == pytest.approx(one["fvd"], rel=1e-9)


@pytest.mark.parametrize("command,key", [("kvd", "kvd"), ("fid", "fid")])
def test_kvd_and_fid_of_two_ranks_equal_one_process(command, key, inputs):
    """The other two-sided commands take the same chunked pass: the same value, interval and
    counts bit for bit on 1 process (plain stream) and 2 ranks (chunks)."""
    args = [command, inputs / "real.npy", inputs / "gen.npy", "--json", "--bootstrap", "20",
            *(["--network", "i3d"] if command == "fid" else [])]
    keys = (key, f"{key}_ci", f"{key}_se", "n_real", "n_generated")
    one = json.loads(_ok(run_vdbench(*args, "--batch-size", "2")).stdout)
    res = _ok(run_vdbench(*args, *CHUNKED, nproc=2))
    assert res.stdout.count(f'"{key}":') == 1, "rank 0 alone prints"
    two = json.loads(res.stdout[res.stdout.index("{"):])
    assert [one[k] for k in keys] == [two[k] for k in keys]
    assert (one["n_real"], one["n_generated"]) == (N_REAL, N_GEN)


def _chunk_records(cache: Path) -> list[Path]:
    return sorted(cache.rglob("chunk-*.json"))


def _stats_cmd(real: Path, out: Path, cache: Path) -> list[str]:
    return vdbench_cmd("stats", real, "-o", out, "--batch-size", "1", "--chunk-size", "1",
                       "--cache-dir", cache, "--resume")


def _kill_after(cmd: list[str], cache: Path, chunks: int, timeout: float = 120) -> int:
    """Run ``cmd`` and SIGKILL it once ``chunks`` chunk records exist; its return code."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if len(_chunk_records(cache)) >= chunks:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.communicate(timeout=timeout)
    return proc.returncode


def _from_cache(stderr: str) -> tuple[int, int]:
    """(chunks from the cache, chunks computed) as the command reports them."""
    line = next(x for x in stderr.splitlines() if "chunks from the cache" in x)
    words = line.split(": ")[-1].split()
    return int(words[0]), int(words[-2])


def test_a_killed_stats_resumes_recomputing_only_missing_chunks(tmp_path, inputs):
    real, cache = inputs / "real.npy", tmp_path / "cache"
    _ok(run_vdbench("stats", real, "-o", tmp_path / "reference.npz", "--batch-size", "1"))
    out = tmp_path / "stats.npz"
    code = _kill_after(_stats_cmd(real, out, cache), cache, 4)
    assert code == -signal.SIGKILL and not out.exists(), "killed: no output, not half of one"
    done = len(_chunk_records(cache))
    assert 4 <= done < N_REAL
    res = _ok(subprocess.run(_stats_cmd(real, out, cache), cwd=ROOT, env=env(),
                             capture_output=True, text=True, timeout=300))
    assert _from_cache(res.stderr) == (done, N_REAL - done)
    _same_npz(tmp_path / "reference.npz", out)
    # a corrupted chunk is reported, recomputed, and the result is unchanged
    victim = sorted(cache.rglob("chunk-*.npz"))[3]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    res = _ok(subprocess.run(_stats_cmd(real, out, cache), cwd=ROOT, env=env(),
                             capture_output=True, text=True, timeout=300))
    assert "truncated or corrupted" in res.stderr and victim.name in res.stderr
    assert _from_cache(res.stderr) == (N_REAL - 1, 1)
    _same_npz(tmp_path / "reference.npz", out)
    assert not list(tmp_path.glob(".*.tmp")) and not list(cache.rglob(".*.tmp"))


def test_a_changed_input_file_recomputes_its_chunks(tmp_path, inputs):
    real = tmp_path / "real.npy"
    np.save(real, np.load(inputs / "real.npy")[:4])
    args = ["features", "i3d", real, "-o", tmp_path / "f.npy", "--batch-size", "2",
            "--chunk-size", "2", "--cache-dir", tmp_path / "cache", "--resume"]
    assert _from_cache(_ok(run_vdbench(*args)).stderr) == (0, 2)
    assert _from_cache(_ok(run_vdbench(*args)).stderr) == (2, 0)
    os.utime(real, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file replaced in place
    res = _ok(run_vdbench(*args))
    assert _from_cache(res.stderr) == (0, 2) and "data files this chunk read changed" in res.stderr
    # other clips of the same file (--frames): another key, nothing reused
    assert _from_cache(_ok(run_vdbench(*args, "--frames", "9")).stderr) == (0, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ranks_that_see_different_inputs_stop_with_one_line(tmp_path, inputs):
    """Two ranks started by hand (as torchrun would), each given another input file."""
    port, procs = _free_port(), []
    for rank, path in enumerate([inputs / "real.npy", inputs / "gen.npy"]):
        rank_env = {**env(), "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
                    "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(subprocess.Popen(
            vdbench_cmd("stats", path, "-o", tmp_path / f"{rank}.npz"), cwd=ROOT, env=rank_env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    (_, err0), (_, err1) = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [2, 2], err0[-2000:] + err1[-2000:]
    lines = [x for x in err0.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "ranks disagree on the input" in lines[0], err0[-2000:]
    assert "rank 1" in lines[0] and "gen.npy" in lines[0], lines[0]
    assert "error:" not in err1 and not list(tmp_path.glob("*.npz"))


def test_chunk_size_must_be_a_multiple_of_the_batch_size(tmp_path, inputs):
    res = CliRunner().invoke(main, ["stats", str(inputs / "real.npy"), "-o",
                                    str(tmp_path / "s.npz"), "--batch-size", "2",
                                    "--chunk-size", "3"])
    assert_one_error(res, "--chunk-size: 3 is not a multiple of --batch-size 2",
                     leftovers=[tmp_path / "s.npz"])


def test_clips_of_another_shape_in_a_later_chunk_are_refused(tmp_path, i3d_weights):
    folder = tmp_path / "vids"
    folder.mkdir()
    write_video(folder / "0.mp4", random_videos(1, t=10, h=16, w=16, seed=5)[0])
    write_video(folder / "1.mp4", random_videos(1, t=10, h=32, w=32, seed=6)[0])
    res = CliRunner().invoke(main, ["features", "i3d", str(folder), "-o",
                                    str(tmp_path / "f.npy"), "--batch-size", "1",
                                    "--chunk-size", "1"])
    assert_one_error(res, "clips 1..1 have shape (10, 32, 32, 3)",
                     leftovers=[tmp_path / "f.npy"])


def test_the_default_cache_is_the_project_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VDBENCH_CACHE", str(tmp_path))
    assert ShardOptions(resume=True).cache_root() == tmp_path / "chunks"
    assert ShardOptions(cache_dir="x").cache_root() == Path("x")
    assert not ShardOptions().caching and ShardOptions(resume=True).caching
    assert ShardOptions().size(8) == 256 and ShardOptions(chunk_size=6).size(3) == 6


def test_cache_options_are_refused_where_no_side_is_videos(tmp_path, inputs):
    stats = tmp_path / "real.npz"
    assert CliRunner().invoke(main, ["stats", str(inputs / "real.npy"), "-o", str(stats),
                                     "--batch-size", "5"]).exit_code == 0
    res = CliRunner().invoke(main, ["fvd", str(stats), str(stats), "--resume"])
    assert_one_error(res, "--resume: no side is videos")
