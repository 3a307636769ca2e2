"""The built wheel, installed apart from the source checkout, run from a research repository's
folder that has its own `model/` package and `metrics.py`: `vdbench table` reads the paper's
tables from the installed package data, and `vdbench run --model model.mygen:make` loads the
user's generator, not anything of ours (everything of ours lives under `vdbench.`)."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_GENERATOR = '''
import json, sys
from pathlib import Path

import numpy as np


class MyGenerator:
    name = "user-mygen"

    def generate(self, request):
        r = request.resolution
        out = np.stack([np.random.default_rng(s).integers(0, 256, (request.frames, r, r, 3),
                                                          dtype=np.uint8)
                        for s in request.seeds])
        if request.context is not None:
            out[:, :request.context.shape[1]] = request.context
        return out


def make(**kw):
    # What this process imported, for the test: where vdbench came from, and whether anything
    # imported the folder's own metrics.py (it raises if imported).
    Path("imported.json").write_text(json.dumps({
        "vdbench": sys.modules["vdbench"].__file__, "model": __file__,
        "metrics": "metrics" in sys.modules, "kwargs": sorted(kw)}))
    return MyGenerator()
'''


def _copy_source(dest: Path) -> Path:
    """What a build needs from the checkout, copied so that the build's `build/` and
    `*.egg-info` never land in the working tree."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "vdbench", dest / "vdbench",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, site): the wheel built offline from this checkout, and the folder it is
    installed into with `pip install --no-deps --target`."""
    root = tmp_path_factory.mktemp("wheel")
    src = _copy_source(root / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(root / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (root / "dist").glob("vdbench-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target",
                    str(root / "site"), str(wheel)], check=True, capture_output=True)
    return wheel, root / "site"


@pytest.fixture()
def research_repo(tmp_path):
    """An otherwise empty folder laid out like a research repository."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "__init__.py").write_text("")
    (tmp_path / "model" / "mygen.py").write_text(USER_GENERATOR)
    for clash in ("metrics", "protocols"):
        (tmp_path / f"{clash}.py").write_text(
            f"raise RuntimeError('the folder\\'s own {clash}.py was imported')\n")
    return tmp_path


def _run(site: Path, cwd: Path, *args, script: bool = False,
         timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m vdbench ARGS` (or the installed `vdbench` script) in ``cwd``. PYTHONPATH
    holds only the install target, so the source checkout is not on the path; the test
    interpreter's environment provides the dependencies (torch, numpy, ...)."""
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    cmd = [str(site / "bin" / "vdbench")] if script else [sys.executable, "-m", "vdbench"]
    res = subprocess.run([*cmd, *map(str, args)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def test_wheel_installs_only_the_vdbench_package_with_the_paper_tables(installed):
    wheel, site = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"vdbench", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    for clash in ("model", "metrics", "protocols"):
        assert not any(n.split("/")[0] in (clash, f"{clash}.py") for n in names)
    tables = {f"vdbench/reporting/paper/table{n}.csv" for n in range(1, 7)}
    assert tables <= set(names)
    assert sorted(p.name for p in site.iterdir()) == ["bin", "vdbench",
                                                      wheel.name.split("-py3")[0] + ".dist-info"]


def test_installed_table_reads_its_package_data(installed, research_repo):
    _, site = installed
    res = _run(site, research_repo, "table", "2", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    with open(ROOT / "vdbench" / "reporting" / "paper" / "table2.csv") as f:
        paper = list(csv.DictReader(f))
    assert len(rows) == len(paper) == 10
    assert [{k: v for k, v in r.items() if k != "source"} for r in rows] == paper
    assert {r["source"] for r in rows} == {"paper"}
    assert ("langevin", "256", "66.92") in {(r["sampler"], r["steps"], r["fvd"]) for r in rows}


def test_installed_run_loads_the_users_model_package(installed, research_repo, i3d_weights):
    _, site = installed
    _run(site, research_repo, "run", "shapes", "--preset", "quick", "--model",
         "model.mygen:make", "--clips", "2", "--samples-per-clip", "1", "--batch-size", "2",
         "--out", "runs")
    seen = json.loads((research_repo / "imported.json").read_text())
    assert Path(seen["vdbench"]).resolve().is_relative_to(site.resolve()), seen
    assert Path(seen["model"]).resolve() == (research_repo / "model" / "mygen.py").resolve()
    assert seen["metrics"] is False
    assert set(seen["kwargs"]) >= {"resolution", "frames", "device"}
    (record,) = [json.loads(p.read_text()) for p in (research_repo / "runs").glob("*.json")]
    assert record["model"]["name"] == "user-mygen"
    assert record["model"]["factory"] == "model.mygen:make"
    assert record["counts"]["generated"] == 2 and record["metrics"]["fvd"] > 0
    # the installed console script runs too, and the run shows in the table, labelled
    res = _run(site, research_repo, "table", "2", "--runs", "runs", "--include-quick",
               "--format", "csv", script=True)
    ours = [r for r in csv.DictReader(io.StringIO(res.stdout)) if r["source"] != "paper"]
    assert [(r["source"], r["method"], r["preset"]) for r in ours] == [
        ("vdbench on shapes (custom preset)", "user-mygen", "custom")]
