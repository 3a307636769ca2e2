"""`vdbench table`: which runs each table shows, how they are labelled, and what it says about
the records it leaves out (quick/custom presets, mirror protocols such as the demo's `shapes`,
protocols in no paper table such as the oracle)."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from vdbench.cli import main


def _record(folder, name, protocol, preset, metrics, paper_table="", **extra):
    rec = {"schema": "vdbench.result/1",
           "protocol": {"name": protocol, "preset": preset, "paper_table": paper_table, **extra},
           "model": {"name": "m"}, "sampler": {"name": "langevin", "steps": 8,
                                               "conditioning": "reconstruction"},
           "metrics": metrics}
    (folder / name).write_text(json.dumps(rec))


@pytest.fixture()
def runs(tmp_path):
    _record(tmp_path, "bair-paper.json", "bair", "paper", {"fvd": 70.5}, "2")
    _record(tmp_path, "bair-quick.json", "bair", "quick", {"fvd": 801.0}, "2")
    _record(tmp_path, "bair-custom.json", "bair", "custom", {"fvd": 802.0}, "2")
    _record(tmp_path, "ucf.json", "ucf101", "paper", {"fid_c3d": 300.5}, "1")
    _record(tmp_path, "shapes-quick.json", "shapes", "quick", {"fvd": 678.9},
            mirrors_table="2")
    # written before protocols carried `mirrors_table`: the registry's shapes says Table 2
    _record(tmp_path, "shapes-old.json", "shapes", "custom", {"fvd": 633.7})
    _record(tmp_path, "oracle.json", "oracle", "quick",
            {"extension/ancestral/replacement": {"mean_rel": 0.62, "cov_fro": 3.3}})
    return tmp_path


def _table(*args):
    res = CliRunner().invoke(main, ["table", *map(str, args)])
    assert res.exit_code == 0, res.output + res.stderr
    return res


def _csv(text):
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_paper_preset_only_and_the_rest_counted_with_reasons(runs):
    res = _table("2", "--runs", runs, "--format", "csv")
    df = _csv(res.stdout)
    assert df[df.source != "paper"].fvd.tolist() == ["70.5"]
    assert res.stderr.strip() == (
        "note: 6 of 7 records not in Table 2: 2 quick/custom preset (add --include-quick); "
        "2 shapes mirrors Table 2 on other data (add --include-quick); 1 of Table 1; "
        "1 oracle: no paper table (see `vdbench table other`)")


def test_include_quick_shows_quick_custom_and_mirror_runs_labelled(runs):
    res = _table("2", "--runs", runs, "--format", "csv", "--include-quick")
    df = _csv(res.stdout)
    ours = df[df.source != "paper"].set_index("run")
    assert sorted(ours.index) == ["bair-custom.json", "bair-paper.json", "bair-quick.json",
                                  "shapes-old.json", "shapes-quick.json"]
    assert ours.loc["bair-quick.json", ["preset", "protocol", "fvd"]].tolist() == \
        ["quick", "bair", "801"]
    assert ours.loc["bair-custom.json", "source"] == "vdbench (custom preset)"
    assert ours.loc["shapes-quick.json", ["source", "preset", "fvd"]].tolist() == \
        ["vdbench on shapes (quick preset)", "quick", "678.9"]
    assert ours.loc["shapes-old.json", "source"] == "vdbench on shapes (custom preset)"
    # paper rows carry no protocol/preset of ours
    assert set(df[df.source == "paper"].preset) == {""}
    assert res.stderr.strip() == ("note: 2 of 7 records not in Table 2: 1 of Table 1; "
                                  "1 oracle: no paper table (see `vdbench table other`)")


def test_other_lists_runs_in_no_paper_table_with_every_metric(runs):
    df = _csv(_table("other", "--runs", runs, "--format", "csv").stdout)
    assert set(df.run) == {"oracle.json"}
    got = dict(zip(df.metric, df.value, strict=True))
    assert got == {"extension/ancestral/replacement/mean_rel": "0.62",
                   "extension/ancestral/replacement/cov_fro": "3.3"}
    assert set(df.preset) == {"quick"} and set(df.protocol) == {"oracle"}


def test_all_with_include_quick_ends_with_the_other_runs(runs):
    res = _table("all", "--runs", runs, "--format", "markdown", "--include-quick")
    body = res.stdout
    assert body.index("**Table 6") < body.index("**Runs of protocols in no paper table")
    assert "extension/ancestral/replacement/mean_rel" in body
    assert "vdbench on shapes (quick preset)" in body and "300.5" in body
    assert res.stderr.strip() == ("note: 1 of 7 records not in any paper table: "
                                  "1 oracle: no paper table (see `vdbench table other`)")
    # without the flag, `all` keeps to the paper tables and says what it left out
    res = _table("all", "--runs", runs, "--format", "markdown")
    assert "Runs of protocols" not in res.stdout and "801" not in res.stdout
    assert res.stderr.strip() == (
        "note: 5 of 7 records not in any paper table: 2 quick/custom preset (add "
        "--include-quick); 2 shapes mirrors Table 2 on other data (add --include-quick); "
        "1 oracle: no paper table (see `vdbench table other`)")


def test_other_needs_runs():
    res = CliRunner().invoke(main, ["table", "other"])
    assert res.exit_code == 2 and "--runs" in res.stderr


def test_real_demo_style_records_are_shown(tmp_path, i3d_weights):
    """Records written by `vdbench run` itself: a shapes run as `make demo` makes it (quick
    preset, here with a noise generator and 2 clips) and an oracle run."""
    out = tmp_path / "runs"
    for args in (["shapes", "--model", "tests.fast_generator:factory", "--preset", "quick",
                  "--clips", "2", "--samples-per-clip", "1"],
                 ["oracle", "--preset", "quick", "--samples-per-clip", "8"]):
        res = CliRunner().invoke(main, ["run", *args, "--out", str(out)])
        assert res.exit_code == 0, res.output
    shapes = json.loads(next(out.glob("shapes-*.json")).read_text())
    df = _csv(_table("2", "--runs", out, "--format", "csv", "--include-quick").stdout)
    row = df[df.protocol == "shapes"].iloc[0]
    assert (row.source, row.preset) == ("vdbench on shapes (custom preset)", "custom")
    assert float(row.fvd) == pytest.approx(shapes["metrics"]["fvd"], rel=1e-3)
    oracle = json.loads(next(out.glob("oracle-*.json")).read_text())
    df = _csv(_table("other", "--runs", out, "--format", "csv").stdout)
    assert set(df.protocol) == {"oracle"} and set(df.preset) == {"custom"}

    def leaves(tree):
        return [x for v in tree.values()
                for x in (leaves(v) if isinstance(v, dict) else [v])]

    expect = leaves(oracle["metrics"])
    assert len(df) == len(expect) > 10
    np.testing.assert_allclose(sorted(map(float, df.value)), sorted(expect), rtol=1e-3)
