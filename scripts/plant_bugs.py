"""Plant known infrastructure bugs one at a time and check that the named tests catch each.

Each mutation is a textual patch (one exact snippet replaced in one file). For each, the file is
patched, the named tests run (`python -m pytest -x -q`), and the file is restored, whatever
happens. A mutation is *caught* when pytest reports a failing test (exit 1), *survived* when the
tests pass, *error* on anything else (collection error, interrupted). Nothing is committed.

    python scripts/plant_bugs.py              # all mutations (about 30 min on 2 CPU cores)
    python scripts/plant_bugs.py --only fold  # the mutations whose name contains "fold"
    python scripts/plant_bugs.py --list

Exit status 0 when every mutation run was caught.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to the repository root
    old: str
    new: str
    tests: tuple[str, ...]  # pytest node ids that must fail


MUTATIONS = (
    Mutation(
        "clip-selection", "vdbench/protocols/datasets/base.py",
        "keys = seeded_hash(seed, _PICK, np.arange(total))",
        "keys = seeded_hash(seed, _DRAW, np.arange(total))",
        ("tests/test_selection_pinned.py",)),
    Mutation(
        "chunk-checksum-skipped", "vdbench/engine/cache.py",
        'if arrays is None or digest != meta.get("sha256"):',
        "if arrays is None:",
        ("tests/test_resume.py::test_corrupted_chunks_are_detected_and_regenerated",)),
    Mutation(
        "atomic-savez-in-place", "vdbench/util/atomic.py",
        "    with atomic_path(path) as tmp, open(tmp, \"wb\") as f:\n        np.savez(",
        "    with open(path, \"wb\") as f:\n        np.savez(",
        ("tests/test_atomic_kill.py",
         "tests/test_resume.py::test_sigkill_at_many_points_then_resume_gives_the_uninterrupted"
         "_result")),
    Mutation(
        "checkpoint-in-place", "vdbench/model/checkpoint.py",
        "save_file(flat, str(tmp), metadata={\"format\": FORMAT})",
        "save_file(flat, str(weights), metadata={\"format\": FORMAT})",
        ("tests/test_atomic_kill.py::test_a_checkpoint_killed_mid_write_leaves_the_earlier_"
         "checkpoints",)),
    Mutation(
        "fold-order-across-ranks", "vdbench/engine/runner.py",
        "for item in gathered:",
        "for item in reversed(gathered):",
        ("tests/test_distributed.py::test_tiny_model_is_world_size_invariant",)),
    Mutation(
        "is-real-generated-swapped", "vdbench/metrics/base.py",
        "        out = self._scores(gen, self.name)\n"
        "        if real is not None and real.has(self.array.key):\n"
        "            out.update(self._scores(real, f\"{self.name}_real\"))",
        "        out = self._scores(real, self.name)\n"
        "        if real is not None and real.has(self.array.key):\n"
        "            out.update(self._scores(gen, f\"{self.name}_real\"))",
        ("tests/test_runner_datasets.py::test_run_kinetics600_from_clip_folder",
         "tests/test_runner_text2video.py::test_text2video_runs_with_captions_and_two_references")),
    Mutation(
        "traceback-above-error-line", "vdbench/cli/boundary.py",
        "        if debug:\n            traceback.print_exception(err, file=sys.stderr)",
        "        if True:\n            traceback.print_exception(err, file=sys.stderr)",
        ("tests/test_cli_scores.py", "tests/test_cli_fvd.py::test_bad_inputs")),
)


def run_one(m: Mutation, python: str) -> tuple[str, float, str]:
    path = ROOT / m.path
    original = path.read_text()
    if original.count(m.old) != 1:
        return "error", 0.0, f"{m.path}: the snippet to replace occurs {original.count(m.old)}×"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    try:
        path.write_text(original.replace(m.old, m.new))
        res = subprocess.run([python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                              *m.tests], cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        path.write_text(original)
    failed = [line for line in res.stdout.splitlines() if line.startswith("FAILED")]
    verdict = {0: "SURVIVED", 1: "caught"}.get(res.returncode, "error")
    detail = "; ".join(failed) or (res.stdout.strip().splitlines() or [""])[-1]
    return verdict, time.monotonic() - t0, detail


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the mutations whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args()
    chosen = [m for m in MUTATIONS if args.only in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.path}: {m.old!r} -> {m.new!r}; tests {', '.join(m.tests)}")
        return 0
    ok = True
    for m in chosen:
        verdict, seconds, detail = run_one(m, sys.executable)
        ok &= verdict == "caught"
        print(f"{m.name:28s} {verdict:8s} {seconds:6.0f} s  {detail}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
