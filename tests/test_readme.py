"""Docs that run: every command of README.md's ```bash blocks and every ```python snippet is
executed on tiny inputs made here, so that the README cannot drift from what vdbench does.

How a block runs (one test per block, its commands in order, in a fresh copy of a workspace
in which every file the README names exists as a tiny stand-in in the right format):
- `vdbench ...` runs in this process through click (the console script's own entry point);
  `torchrun ...` and `make ...` run as subprocesses.
- PLACEHOLDERS: README words that stand for the user's files, mapped to stand-ins.
- SHRINK: sizes capped (`--steps` 2, `-n` 2, `--splits` 2, ...); `vdbench run`/`compare` get
  2 samples over at most 2 clips, `--batch-size 2 --steps 2`, where they do not set them;
  `--device cuda` runs on the CPU; `torchrun` runs 2 local processes.
- `[--option value]` runs both without and with the option (tests/readme_blocks.py).
- Weights: the real I3D; C3D and the FID Inception as random weights in the release files'
  layout (the release files cannot be downloaded here), the Inception file's name-hash check
  waived for that stand-in.
- `make demo` / `make test` run the Makefile with VENV set to this interpreter's environment
  and a fresh install stamp (installing is what `make` does first on a clean clone; it is not
  repeated here); `make test` runs the suite on one test file, since the whole suite holds
  this test; `make demo` is slow (minutes) and checks the README's table of its results.
- Python snippets run statement by statement with NAMES bound to tiny arrays; a comment that
  states shapes (`# [B, 4096], [B, 101]`) is checked against the values assigned; a snippet
  that defines `factory` is also run as `vdbench run shapes --model <snippet>:factory`.
Checks per command: exit code 0; every `-o/--output/--out` path exists afterwards; `--json`
output parses; `[N, D]` shapes stated in a comment; and the results the README states about
a command (RESULT_CHECKS). Commands that cannot run here are marked in the README with
`<!-- not-run "TEXT": why -->` and listed by `test_not_run_exceptions_are_few_and_justified`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from click.testing import CliRunner

from tests.readme_blocks import README, ROOT, Block, Command, readme_blocks
from tests.videos import random_videos, write_video

PLACEHOLDERS = {
    "REAL": "real.npy",  # uint8 [3, 16, 32, 32, 3]
    "GENERATED": "generated.npy",  # uint8 [3, 16, 32, 32, 3]
    "INPUT": "real.npy",
    "DIR": "data",  # every dataset's layout at once: BAIR, UCF101, Kinetics-600, captioned
    "/data/bair": "data", "/data/k600": "data",
    "RUN_DIR": "runs/bair64", "RUN": "runs/bair64",  # a tiny 64×64 checkpoint (BAIR's size)
    "HOST": "127.0.0.1",
}
SHRINK = {"--steps": 2, "-n": 2, "--num-samples": 2, "--splits": 2,
          "--nproc-per-node": 2}  # option: at most this value
COUNTS = {"--batch-size": "2", "--steps": "2"}  # + 2 samples over at most 2 clips
SLOW = (r"^make demo\b",  # minutes
        r"^vdbench fid .*--network c3d",  # two SVDs of 4096×4096: a minute on one core
        r"^vdbench model plan (bair|kinetics600)")  # five traced steps of a paper preset
MAX_NOT_RUN = 3
NAMES = {  # the snippets' free names
    "real_uint8_videos": lambda: random_videos(3, 10, 32, 32, seed=11),
    "generated_uint8_videos": lambda: random_videos(3, 10, 32, 32, seed=12),
    "videos": lambda: random_videos(2, 16, 32, 32, seed=13),  # C3D: 16 frames
    "all_logits": lambda: np.random.default_rng(14).normal(size=(20, 1008)),
}


# --- the workspace ---------------------------------------------------------------------------

def _train(ws: Path, out: str, videos: np.ndarray, *sets: str, labels=None) -> None:
    from vdbench.cli import main

    data = ws / f"{out.replace('/', '-')}.npz"
    np.savez(data, videos=videos, **({} if labels is None else {"labels": labels}))
    args = ["train", "--config", "tiny", "--data", str(data), "--out", str(ws / out),
            "--steps", "1", "--no-progress", "--set", "unet.base_channels=8",
            "--set", "train.batch_size=1", "--set", "train.image_frames=0"]
    for s in sets:
        args += ["--set", s]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    data.unlink()


def _checkpoints(ws: Path) -> None:
    """runs/bair (8×8×8: the oracle's size, so ctx.npy fits both), runs/ucf (the same,
    class-conditional), runs/bair64 (64×64, BAIR's resolution)."""
    small = ("video.height=8", "video.width=8", "video.frames=8", "unet.channel_mults=[1,2]",
             "unet.attn_resolutions=[4]")
    _train(ws, "runs/bair", random_videos(2, 8, 8, 8, seed=1), *small)
    _train(ws, "runs/ucf", random_videos(2, 8, 8, 8, seed=2), *small, "unet.cond=class",
           "unet.num_classes=5", "diffusion.cond_drop_prob=0.5",
           labels=np.array([1, 3], np.int64))
    _train(ws, "runs/bair64", random_videos(2, 16, 64, 64, seed=3), "video.height=64",
           "video.width=64", "unet.channel_mults=[1,2]", "unet.attn_resolutions=[32]")


def _datasets(root: Path) -> None:
    """Tiny BAIR, UCF101, Kinetics-600 and captioned sets in their real layouts, one root."""
    from tests.test_datasets_bair import bair_videos, write_bair

    write_bair(root / "softmotion30_44k" / "test", bair_videos(3, seed=4))
    classes = ["ApplyEyeMakeup", "YoYo"]
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 YoYo\n")
    train = []
    for n, (c, g) in enumerate([(0, 8), (1, 8), (0, 9)]):
        name = f"{classes[c]}/v_{classes[c]}_g{g:02d}_c01.avi"
        (root / "UCF-101" / classes[c]).mkdir(parents=True, exist_ok=True)
        write_video(root / "UCF-101" / name, random_videos(1, 18, 72, 96, seed=20 + n)[0])
        (train if g == 8 else []).append(f"{name} {c + 1}")
    (lists / "trainlist01.txt").write_text("\n".join(train) + "\n")
    (lists / "testlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi\n")
    rows = ["label,youtube_id,time_start,time_end,split"]
    for n, yid in enumerate(["abcdefghijk", "bcdefghijkl"]):
        write_video(root / f"{yid}_{n:06d}_{n + 10:06d}.mp4",
                    random_videos(1, 20, 72, 128, seed=30 + n)[0])
        rows.append(f"dancing,{yid},{n},{n + 10},test")
    (root / "test.csv").write_text("\n".join(rows) + "\n")
    val = root / "validation"
    (val / "clips").mkdir(parents=True)
    lines = []
    for n in range(2):
        write_video(val / "clips" / f"{n:04d}.mp4", random_videos(1, 20, 64, 64, seed=40 + n)[0])
        lines.append(json.dumps({"video": f"clips/{n:04d}.mp4", "caption": f"clip {n}"}))
    (val / "captions.jsonl").write_text("\n".join(lines) + "\n")


def _weights(cache: Path, i3d: Path) -> None:
    import torch

    from tests.test_c3d import _random_release
    from tests.test_inception import _random_state
    from vdbench.metrics import c3d_weights, inception_weights

    (cache / "weights" / "c3d").mkdir(parents=True)
    (cache / "weights" / i3d.name).symlink_to(i3d)
    arrays, mean, _ = _random_release(7)
    np.savez(cache / "weights" / "c3d" / c3d_weights.MODEL_FILE, **arrays)
    np.savez(cache / "weights" / "c3d" / c3d_weights.MEAN_FILE, mean=mean)
    torch.save(_random_state(5), cache / "weights" / inception_weights.WEIGHTS_FILE)


TINY_NET = '''"""A stand-in for a user's network, pickled whole in my.pt (README: own model)."""
import numpy as np
import torch


class TinyNet(torch.nn.Module):
    def sample(self, context, frames, seeds):
        out = np.repeat(context[:, -1:], frames, axis=1)
        for i, seed in enumerate(seeds):
            out[i, context.shape[1]:] >>= np.uint8(np.random.default_rng(seed).integers(1, 4))
        out[:, :context.shape[1]] = context
        return out
'''


def _bin(ws: Path) -> None:
    """`vdbench`, `torchrun` and `python` on PATH for subprocesses (this interpreter)."""
    (ws / "bin").mkdir()
    for name, module in (("vdbench", "-m vdbench"), ("torchrun", "-m torch.distributed.run"),
                         ("python", "")):
        path = ws / "bin" / name
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" {module} "$@"\n')
        path.chmod(0o755)


@pytest.fixture(scope="session")
def world(tmp_path_factory, i3d_weights) -> Path:
    """Everything the README's commands read, made once per test process."""
    from vdbench.protocols.datasets.shapes import ShapesDataset

    ws = tmp_path_factory.mktemp("readme-world")
    np.save(ws / "real.npy", random_videos(3, 16, 32, 32, seed=1))
    np.save(ws / "generated.npy", random_videos(3, 16, 32, 32, seed=2) // 2)
    np.save(ws / "videos.npy", np.stack([ShapesDataset("train", 4).video(i) for i in range(4)]))
    np.save(ws / "ctx.npy", random_videos(1, 2, 8, 8, seed=5)[0])  # [T, H, W, 3]: 2 frames
    np.save(ws / "keys.npy", random_videos(1, 8, 8, 8, seed=6)[0])  # every 3rd of 22 frames
    np.save(ws / "low.npy", random_videos(1, 8, 4, 4, seed=7)[0])  # half the oracle's size
    _checkpoints(ws)
    _datasets(ws / "data")
    _weights(ws / "cache", Path(i3d_weights))
    (ws / "checkpoints").mkdir()
    (ws / "checkpoints" / "shapes-tiny-v").symlink_to(ROOT / "checkpoints" / "shapes-tiny-v")
    (ws / "tinynet.py").write_text(TINY_NET)
    subprocess.run([sys.executable, "-c", "import torch, tinynet; "
                    "torch.save(tinynet.TinyNet(), 'my.pt')"], cwd=ws, check=True)
    _bin(ws)
    return ws


@pytest.fixture()
def workspace(world, tmp_path, monkeypatch) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(world, ws, symlinks=True)
    monkeypatch.chdir(ws)
    monkeypatch.setattr(sys, "path", sys.path[:])  # `--model` puts the folder on the path
    monkeypatch.setenv("VDBENCH_CACHE", str(ws / "cache"))
    monkeypatch.setenv("PATH", f"{ws / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from vdbench.metrics import inception_weights

    monkeypatch.setattr(inception_weights, "_check_hash", lambda path: None)  # the stand-in
    return ws


# --- running commands ------------------------------------------------------------------------

def substitute(command: Command) -> list[str]:
    """The argv that runs here: placeholders mapped, sizes shrunk, counts added."""
    argv = [PLACEHOLDERS.get(a, a) for a in command.argv]
    assert "..." not in argv, f"write the command out in full: {command.text}"
    for i, arg in enumerate(argv[:-1]):
        if arg in SHRINK:
            argv[i + 1] = str(min(int(argv[i + 1]), SHRINK[arg]))
        elif arg == "--device" and argv[i + 1].startswith("cuda"):
            argv[i + 1] = "cpu"
    tool = argv.index("vdbench") if "vdbench" in argv else -1
    if tool >= 0 and argv[tool + 1:tool + 2] in (["run"], ["compare"]):
        user_model = "--model" in argv  # samples by itself: our sampling options are refused
        argv += [arg for option, value in _counts(argv[tool + 2], user_model)
                 if option not in argv for arg in (option, value)]
    return argv


def _counts(protocol: str, user_model: bool = False) -> list[tuple[str, str]]:
    from vdbench.protocols.registry import PROTOCOLS

    clips = min(2, PROTOCOLS[protocol].num_clips)
    counts = [(k, v) for k, v in COUNTS.items() if not (user_model and k == "--steps")]
    return [("--clips", str(clips)), ("--samples-per-clip", str(2 // clips)), *counts]


def run_argv(argv: list[str], ws: Path) -> tuple[int, str]:
    """(exit code, output) of one command."""
    if argv[0] == "vdbench":
        from vdbench.cli import main

        res = CliRunner().invoke(main, argv[1:])
        detail = "" if res.exception is None or isinstance(res.exception, SystemExit) else \
            f"\n{type(res.exception).__name__}: {res.exception}"
        return res.exit_code, res.output + detail
    if argv[0] == "make":
        argv = make_argv(argv, ws)
    res = subprocess.run(argv, cwd=ws if argv[0] != "make" else ROOT, capture_output=True,
                         text=True, timeout=1800)
    return res.returncode, res.stdout + res.stderr


def make_argv(argv: list[str], ws: Path) -> list[str]:
    stamp = ws / "installed.stamp"
    stamp.touch()
    extra = [f"VENV={sys.prefix}", f"STAMP={stamp}", f"DEMO_OUT={ws / 'demo-out'}"]
    if argv[1:] == ["test"]:
        extra.append("PYTEST_ARGS=tests/test_schedule.py -q")
    return ["make", "--no-print-directory", *argv[1:], *extra]


def outputs(argv: list[str]) -> list[Path]:
    return [Path(argv[i + 1]) for i, a in enumerate(argv[:-1])
            if a in ("-o", "--output", "--out")]


def check_common(argv: list[str], command: Command, code: int, output: str) -> None:
    assert code == 0, f"{' '.join(argv)} exited {code}:\n{output[-3000:]}"
    for path in outputs(argv):
        assert path.exists(), f"{' '.join(argv)} did not write {path}"
    if "--json" in argv:
        json.loads(output[output.index("{"):output.rindex("}") + 1])
    shapes = re.findall(r"\[N, (\d+)\] ?(\w*)", command.comment)
    if shapes and outputs(argv) and str(outputs(argv)[0]).endswith(".npy"):
        got = np.load(outputs(argv)[0]).shape
        inputs = [np.load(a, mmap_mode="r").shape[0] for a in argv if a.endswith(".npy")
                  and Path(a).exists() and Path(a) not in outputs(argv)]
        assert got in {(inputs[0], d) for d in stated_dims(argv, shapes)}, (got, command.comment)


def stated_dims(argv: list[str], shapes: list[tuple[str, str]]) -> set[int]:
    """The widths a comment states for this command: `[N, 4096] features or [N, 101] logits`
    with `--logits` given means 101, without it 4096 (a word naming a flag of the command
    goes with that flag)."""
    from vdbench.cli import main

    command = main
    for token in argv[1:]:
        command = getattr(command, "commands", {}).get(token, command)
    flags = {opt for param in command.params for opt in param.opts}
    given = {int(d) for d, word in shapes if f"--{word}" in flags and f"--{word}" in argv}
    return given or {int(d) for d, word in shapes if f"--{word}" not in flags}


# --- what the README states about a command's result -----------------------------------------

def _records(folder: Path, before: set[Path] = frozenset()) -> list[dict]:
    """The JSON files in ``folder`` that are not in ``before``."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
            if p not in before]


def _result_records(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))
            if "cache" not in p.relative_to(folder).parts
            and '"vdbench.result' in p.read_text()}


def check_table(argv, output, ws, before):
    """The paper's rows; with --runs, the runs that belong to the table (their own or the
    one their protocol mirrors) are listed when paper-preset or asked for, others are not."""
    from vdbench.reporting.tables import paper_table

    which = argv[2]
    if which != "other":
        for value in paper_table(which).iloc[:, -1]:
            assert value in output, f"Table {which}: {value} missing"
    if "--runs" not in argv:
        return
    for name, rec in _result_records(ws / argv[argv.index("--runs") + 1]).items():
        p = rec["protocol"]
        home = p.get("paper_table") or p.get("mirrors_table") or "other"
        listed = which in home.split(",") and (
            "--include-quick" in argv or (p["preset"] == "paper" and p.get("paper_table")))
        assert (name in output) == bool(listed or which == home == "other"), (name, which)


def check_export(argv, output, ws, before):
    import pandas as pd

    records = _result_records(ws / argv[argv.index("--runs") + 1])
    table = pd.read_csv(outputs(argv)[0])
    assert sorted(Path(r).name for r in table["run"]) == sorted(records)


def check_run(argv, output, ws, before):
    out = ws / (argv[argv.index("--out") + 1] if "--out" in argv else "runs")
    recs = [r for r in _records(out, before)
            if str(r.get("schema", "")).startswith("vdbench.result")]
    assert recs, f"no new record in {out}"
    clips = int(argv[argv.index("--clips") + 1])
    per = int(argv[argv.index("--samples-per-clip") + 1])
    for rec in recs:
        p = rec["protocol"]
        assert (p["num_clips"], p["samples_per_clip"], p["preset"]) == (clips, per, "custom")
        assert rec["metrics"] and rec["counts"].get("generated", clips * per) == clips * per
        if "--resume" in argv:  # "reuses finished chunks": every chunk of the run before
            assert rec["timing"]["chunks_cached"] >= 1, rec["timing"]


def check_sample(argv, output, ws, before):
    from vdbench.cli.sample import sample

    out = Path(argv[argv.index("--out") + 1])
    array = np.load(out if out.suffix == ".npy" else out / "samples.npy")
    n = next(int(argv[i + 1]) for i, a in enumerate(argv) if a in ("-n", "--num-samples")) \
        if {"-n", "--num-samples"} & set(argv) else \
        next(p.default for p in sample.params if p.name == "num_samples")
    assert array.shape[0] == n and array.dtype == np.uint8 and array.shape[-1] == 3
    if "--frames" in argv:
        assert array.shape[1] == int(argv[argv.index("--frames") + 1])
    if "--video-format" in argv:
        fmt = argv[argv.index("--video-format") + 1]
        assert len(list(out.glob(f"*.{fmt}"))) == n


def check_protocols(argv, output, ws, before):
    from vdbench.protocols.registry import PROTOCOLS

    if "--card" in argv:  # the card as printed, and shown so in the README under its command
        from vdbench.protocols.cards import card
        from vdbench.protocols.registry import get_protocol

        name = argv[argv.index("--card") + 1]
        assert output.rstrip("\n") == card(get_protocol(name))
        shown = f"`vdbench protocols --card {name}`:\n\n```\n{output.rstrip()}\n```"
        assert shown in README.read_text(), f"README: regenerate the card of {name}"
        return
    assert all(name in output for name in PROTOCOLS)


def check_stats(argv, output, ws, before):
    from vdbench.metrics.frechet import GaussianStats

    path = outputs(argv)[0]
    stats = GaussianStats.load(path)
    if "mu-sigma" in argv:  # `--format mu-sigma`: pytorch-fid's keys, no count
        with np.load(path) as f:
            assert f["mu"].shape == (stats.dim,) and f["sigma"].shape == (stats.dim, stats.dim)
    else:
        assert stats.count >= 2
    with np.load(path) as f:
        assert "meta_is_mean" in f.files  # "stores the Inception Score ... and prints it"
    assert "IS" in output or "Inception Score" in output


def check_train(argv, output, ws, before):
    run = Path(argv[argv.index("--out") + 1])
    assert list(run.glob("ckpt-*.safetensors")) and (run / "log.jsonl").is_file()
    assert (run / "config.json").is_file()


def check_model_export(argv, output, ws, before):
    assert list(Path(outputs(argv)[0]).glob("*.safetensors"))


# | `row` | value [lo, hi] | ... |  (one column per DEMO_VALUES entry)
# (the real clips' row leaves the FVD cell empty: "| — ")
DEMO_ROW = re.compile(r"^\| `([\w/-]+)`[^|]*(?:\| — )?((?:\| [\d.]+ \[[\d.]+, [\d.]+\] )+)\|$")
DEMO_CELL = re.compile(r"([\d.]+) \[([\d.]+), ([\d.]+)\]")
DEMO_VALUES = ("fvd", "context_consistency", "sprite_dynamics")
# - `row` vs `reference`, value: verdict
DEMO_VERDICT = re.compile(r"^- `([\w/-]+)` vs `([\w/-]+)`, (\w+): (.+)$")


def _agrees(stated: str, value: float) -> bool:
    """``value`` rounds to ``stated`` (as printed), give or take 0.1% for other CPUs' BLAS."""
    decimals = len(stated.partition(".")[2])
    return abs(value - float(stated)) <= 0.5 * 10 ** -decimals + 1e-3 * abs(value)


def _demo_row(records: list[dict], row: str) -> tuple[dict, str]:
    """(the record, the metrics suffix) of a README demo row: a compare row's name, or
    `real-clips` (the real side of the metrics that score it, FVD 0 by definition)."""
    from vdbench.engine.verdicts import variant_name

    if row == "real-clips":
        return records[0], "_real"
    (record,) = [r for r in records if variant_name(r) == row]
    return record, ""


def check_demo(argv, output, ws, before):
    """The README's table of `make demo`'s results (value and 95% interval per row, the real
    clips' own scores) and its verdicts are what `make demo` gives."""
    text = README.read_text()
    rows = [m.groups() for line in text.splitlines() if (m := DEMO_ROW.match(line.strip()))]
    assert len(rows) >= 4, "the README's demo table was not found"
    records = list(_result_records(ws / "demo-out").values())
    for row, cells in rows:
        record, suffix = _demo_row(records, row)
        values = DEMO_VALUES[-len(DEMO_CELL.findall(cells)):]  # real clips: no FVD column
        for key, stated in zip(values, DEMO_CELL.findall(cells), strict=True):
            interval = record["intervals"][key + suffix]["ci"]
            measured = [record["metrics"][key + suffix], *interval]
            for s_value, value in zip(stated, measured, strict=True):
                assert _agrees(s_value, value), (row, key, stated, measured)
    verdicts = [m.groups() for line in text.splitlines()
                if (m := DEMO_VERDICT.match(line.strip()))]
    assert verdicts, "the README states no verdict of the demo"
    for row, reference, key, stated in verdicts:
        record, _ = _demo_row(records, row)
        assert record["paired"]["against"] == reference
        got = record["paired"]["values"][key]["verdict"]
        number = r"\d+(?:\.\d+)?"
        assert re.sub(number, "#", got) == re.sub(number, "#", stated), (row, key, got)
        for s_value, value in zip(re.findall(number, stated), re.findall(number, got),
                                  strict=True):
            assert _agrees(s_value, float(value)), (row, key, stated, got)


RESULT_CHECKS = [
    (r"^make demo", check_demo),
    (r"^vdbench table ([1-6]|other)\b", check_table),
    (r"^vdbench export ", check_export),
    (r"^vdbench (run|compare) ", check_run),
    (r"^(torchrun .*)?vdbench run ", check_run),
    (r"^vdbench sample ", check_sample),
    (r"^vdbench protocols", check_protocols),
    (r"^vdbench stats ", check_stats),
    (r"^vdbench train ", check_train),
    (r"^vdbench model export ", check_model_export),
]


def run_command(command: Command, ws: Path) -> None:
    argv = substitute(command)
    before = set(ws.rglob("*.json"))
    start = time.perf_counter()
    code, output = run_argv(argv, ws)
    print(f"{time.perf_counter() - start:7.1f} s  {' '.join(argv)}")  # shown on failure
    check_common(argv, command, code, output)
    line = " ".join(argv)
    for pattern, check in RESULT_CHECKS:
        if re.search(pattern, line.replace(" -m vdbench", " vdbench")):
            check(argv, output, ws, before)
            break


# --- python snippets -------------------------------------------------------------------------

def _stated_shapes(source_line: str) -> list[tuple[int, ...]]:
    comment = source_line.partition("#")[2]
    return [tuple(int(d) for d in m.split(", ")[1:])
            for m in re.findall(r"\[([A-Z], \d+(?:, \d+)*)\]", comment)]


def _targets(stmt: ast.stmt) -> list[str]:
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return []
    t = stmt.targets[0]
    elts = t.elts if isinstance(t, ast.Tuple) else [t]
    return [e.id for e in elts if isinstance(e, ast.Name)]


def run_snippet(block: Block, ws: Path) -> dict:
    """Executes the snippet statement by statement; checks the shapes its comments state."""
    namespace = {name: make() for name, make in NAMES.items()}
    lines = block.body.splitlines()
    printed = io.StringIO()
    for stmt in ast.parse(block.body).body:
        code = compile(ast.Module([stmt], []), f"README.md:{block.line + stmt.lineno}", "exec")
        with contextlib.redirect_stdout(printed):
            exec(code, namespace)
        stated = _stated_shapes(lines[stmt.lineno - 1])
        names = _targets(stmt)
        if stated and names:
            got = [tuple(np.shape(namespace[n])) for n in names]
            assert [g[1:] for g in got] == stated, (lines[stmt.lineno - 1], got)
            assert len({g[0] for g in got}) == 1
    check_printed(block, printed.getvalue())
    return namespace


def stated_output(block: Block) -> Optional[str]:
    """The untagged block right below a python block (blank lines aside): what it prints."""
    lines = README.read_text().splitlines()
    i = block.line + len(block.body.splitlines()) + 1  # the line after the closing fence
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "```":
        return None
    end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
    return "\n".join(lines[i + 1:end])


def check_printed(block: Block, printed: str) -> None:
    """A snippet's output, where the README shows it: the same text, numbers as printed give
    or take 0.1% (another CPU's BLAS)."""
    stated = stated_output(block)
    if stated is None:
        return
    number = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
    got = printed.strip()
    assert re.sub(number, "#", got) == re.sub(number, "#", stated.strip()), (got, stated)
    for s_value, value in zip(re.findall(number, stated), re.findall(number, got),
                              strict=True):
        assert _agrees(s_value, float(value)), (s_value, value, got)


def run_plugin(block: Block, ws: Path) -> None:
    """A snippet that defines `factory` is a --model plug-in: evaluate it on shapes."""
    module = f"readme_snippet_{block.line}"
    (ws / f"{module}.py").write_text(block.body)
    argv = ["vdbench", "run", "shapes", "--model", f"{module}:factory", "--preset", "quick",
            *[a for pair in _counts("shapes", user_model=True) for a in pair],
            "--out", "plugin-runs"]
    code, output = run_argv(argv, ws)
    assert code == 0, output
    (rec,) = _records(ws / "plugin-runs")
    assert rec["model"]["factory"] == f"{module}:factory"
    assert rec["counts"]["generated"] == 2 and rec["metrics"]["fvd"] > 0


# --- the tests -------------------------------------------------------------------------------

BLOCKS = [b for b in readme_blocks() if b.lang in ("bash", "python")]


def _is_slow(command: Command) -> bool:
    return any(re.search(pattern, command.text) for pattern in SLOW)


def _params():
    for block in BLOCKS:
        if block.lang == "python":
            if not block.block_reason():
                yield pytest.param(block, False, id=block.id)
            continue
        runnable = [c for c in block.commands() if not c.not_run]
        if any(not _is_slow(c) for c in runnable):
            yield pytest.param(block, False, id=block.id)
        if any(_is_slow(c) for c in runnable):
            yield pytest.param(block, True, id=f"{block.id}-slow", marks=pytest.mark.slow)


@pytest.mark.parametrize("block,slow", list(_params()))
def test_readme_block_runs(block: Block, slow: bool, workspace: Path):
    if block.lang == "python":
        namespace = run_snippet(block, workspace)
        if callable(namespace.get("factory")):
            run_plugin(block, workspace)
        return
    for command in block.commands():
        if not command.not_run and (slow or not _is_slow(command)):
            run_command(command, workspace)


def test_untagged_blocks_hold_no_commands():
    """Code the test would not run cannot hide in a block without a language tag."""
    for block in readme_blocks():
        assert block.lang in ("bash", "python", ""), f"README.md:{block.line}: ```{block.lang}"
        if not block.lang:
            for line in block.body.splitlines():
                assert not re.match(r"\s*(\$ |vdbench |python |make |torchrun |import |from )",
                                    line), f"README.md:{block.line}: tag this block: {line}"


def test_quick_start_is_make_demo_and_make_test():
    """The quick start begins with exactly `make demo` and `make test` (and the Makefile has
    both targets); the block's tests above run them."""
    (quick,) = [b for b in BLOCKS if b.heading == "Quick start"]
    assert [c.text for c in quick.commands()][:2] == ["make demo", "make test"]
    for target, expect in (("demo", "compare shapes"), ("test", "-m pytest")):
        res = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=ROOT,
                             capture_output=True, text=True)
        assert res.returncode == 0 and expect in res.stdout, res.stdout + res.stderr


def test_not_run_exceptions_are_few_and_justified():
    """Every exception names what it exempts and why, exempts a command that exists, and
    there are few of them."""
    exempt = []
    for block in readme_blocks():
        commands = block.commands() if block.lang == "bash" else []
        for text, reason in block.not_run:
            assert len(reason) >= 20, f"README.md:{block.line}: say why: {reason!r}"
            assert not text or any(text in c.text for c in commands), \
                f"README.md:{block.line}: no command contains {text!r}"
            exempt += [c.text for c in commands if text and text in c.text] or [block.id]
    print("not run:", *exempt, sep="\n  ")
    assert len(exempt) <= MAX_NOT_RUN, exempt


def _cli_defaults() -> dict[str, set[str]]:
    """Each option name → every default it has across vdbench's commands, as text."""
    import click

    from vdbench.cli import main

    found: dict[str, set[str]] = {}

    def walk(command):
        for param in command.params:
            texts = {str(param.default)} if param.default is not None else set()
            if isinstance(getattr(param, "show_default", None), str):
                texts.add(param.show_default)
            texts |= set(re.findall(r"\[default: ([^\]]+)\]", getattr(param, "help", "") or ""))
            for name in param.opts:
                found.setdefault(name, set()).update(texts)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    assert isinstance(main, click.Group)
    walk(main)
    return found


STATED_DEFAULT = (re.compile(r"`(--[\w-]+)`[^`()\n]{0,40}\(default:? `?([^`),;]+)"),
                  re.compile(r"\(`(--[\w-]+)`, default:? `?([^`),;]+)"))


def test_defaults_the_readme_states_are_the_clis():
    text = " ".join(README.read_text().split())
    stated = [m.groups() for pattern in STATED_DEFAULT for m in pattern.finditer(text)]
    assert stated, "the README states no option default: update STATED_DEFAULT"
    cli = _cli_defaults()
    for option, value in stated:
        assert option in cli, f"README states a default for {option}, which no command has"
        assert any(value.strip().startswith(t) for t in cli[option]), (option, value, cli[option])


def test_demo_table_states_the_shapes_quick_preset():
    from vdbench.protocols.registry import get_protocol

    text = README.read_text()
    stated = re.findall(r"protocol `([\w-]+)`, quick preset \((\d+) clips × (\d+) samples, "
                        r"(\d+) steps\)", text)
    assert stated
    for name, clips, samples, steps in stated:
        p = get_protocol(name, "quick")
        # sampler settings: a field of the protocol, or in its `sampling` settings
        p_steps = getattr(p, "steps", None) or getattr(p, "sampling", {}).get("steps")
        assert (p.num_clips, p.samples_per_clip, p_steps) == (int(clips), int(samples),
                                                              int(steps))
