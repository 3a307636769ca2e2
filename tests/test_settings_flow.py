"""What is asked is what runs: the protocol's paper settings (Appendix A), the checkpoint's where
the protocol leaves one open, then the command line reach the sampler, the record and the
artefact names; an option that cannot apply is refused."""

import functools
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.helpers_run import records, tiny_checkpoint
from vdbench.cli import main
from vdbench.engine.generator import GenerationRequest
from vdbench.engine.included_model import DiffusionGenerator
from vdbench.engine.settings import run_settings
from vdbench.metrics.errors import InputError
from vdbench.model import samplers
from vdbench.model.generate import LoadedModel
from vdbench.model.registry import SAMPLERS, SHARED_SAMPLER_ARGS
from vdbench.model.settings import FIELDS, SamplingSettings, resolve
from vdbench.protocols.registry import get_protocol

# Appendix A, per protocol: sampler, steps, Langevin corrections and δ (eq. 5, Section 2), γ,
# conditioning and w_r; Table 6: classifier-free guidance weight 2.0 (eq. 6).
APPENDIX_A = {
    "bair": dict(sampler="langevin", steps=256, corrector_steps=1, delta=0.1, gamma=0.0,
                 conditioning="reconstruction", w_r=50.0, cfg_weight=0.0),
    "kinetics600": dict(sampler="langevin", steps=128, corrector_steps=1, delta=0.1, gamma=0.0,
                        conditioning="reconstruction", w_r=9.0, cfg_weight=0.0),
    "ucf101": dict(sampler="ancestral", steps=256, gamma=0.1, conditioning="none",
                   cfg_weight=0.0),
    "text2video": dict(sampler="ancestral", steps=256, gamma=0.3, conditioning="none",
                       cfg_weight=0.0),
    "extension": dict(sampler="ancestral", steps=256, gamma=0.3, conditioning="reconstruction",
                      w_r=9.0, cfg_weight=2.0),
}
# A checkpoint whose sampling config disagrees with the paper everywhere.
CHECKPOINT_DEFAULTS = {"sampler": "ancestral", "steps": 7, "gamma": 0.77, "w_r": 3.0}


class Spy:
    """Stands in for the sampler functions, conditioning and classifier-free guidance; records
    what reaches them and returns zeros (no network is ever evaluated)."""

    def __init__(self, monkeypatch):
        self.calls, self.conditions, self.cfg = [], [], []
        for name in ("ancestral", "predictor_corrector"):
            monkeypatch.setattr(samplers, name, self._sampler(name))
        from vdbench.model import conditioning

        real_condition = conditioning.condition

        def condition(denoiser, **kw):
            self.conditions.append({k: kw[k] for k in ("method", "w_r")})
            return real_condition(denoiser, **kw)

        monkeypatch.setattr(conditioning, "condition", condition)
        spy = self

        class CFG:
            def __init__(self, denoiser, w, null_value=0):
                spy.cfg.append((w, null_value))

        monkeypatch.setattr(conditioning, "ClassifierFreeGuidance", CFG)

    def _sampler(self, name):
        @functools.wraps(getattr(samplers, name))  # keeps the signature the registry reads
        def sampler(denoiser, *, noise, **kw):
            self.calls.append({"function": name, **kw})
            return torch.zeros(len(noise.seeds), *noise.shape, dtype=noise.dtype)

        return sampler


def _model(cond="none", window=16, size=64):
    return LoadedModel(denoiser=None, shape=(3, window, size, size), cond=cond,
                       text_dim=4 if cond == "text" else 0, defaults=dict(CHECKPOINT_DEFAULTS))


def _request(protocol, model, n=2):
    context = None
    if protocol.context_frames:
        context = np.zeros((n, protocol.context_frames, protocol.resolution,
                            protocol.resolution, 3), np.uint8)
    text = np.ones((n, 4), np.float32) if model.cond == "text" else None
    return GenerationRequest(tuple(range(n)), protocol.frames, protocol.resolution, context,
                             text=text)


@pytest.mark.parametrize("name", sorted(APPENDIX_A))
def test_each_protocol_samples_with_appendix_a(name, monkeypatch):
    spy = Spy(monkeypatch)
    protocol = get_protocol(name)
    model = _model("text" if name in ("text2video", "extension") else "none")
    settings, sources = run_settings(protocol, model, {})
    DiffusionGenerator(settings, model=model).generate(_request(protocol, model))
    expect = APPENDIX_A[name]
    call = spy.calls[0]
    assert call["function"] == {"ancestral": "ancestral",
                                "langevin": "predictor_corrector"}[expect["sampler"]]
    assert (call["steps"], call["gamma"]) == (expect["steps"], expect["gamma"])
    if expect["sampler"] == "langevin":
        assert (call["corrector_steps"], call["delta"]) == (1, 0.1)
    else:
        assert "corrector_steps" not in call and "delta" not in call
    methods = {c["method"] for c in spy.conditions}
    if expect["conditioning"] != "none":
        assert methods == {expect["conditioning"]}
        assert {c["w_r"] for c in spy.conditions} == {expect["w_r"]}
    else:
        assert methods <= {"none"}
    assert spy.cfg == ([(expect["cfg_weight"], 0.0)] if expect["cfg_weight"] else [])
    # every paper value is recorded as coming from the protocol, not the checkpoint
    for key in ("steps", "gamma", "sampler"):
        assert sources[key] == "protocol"
    assert settings.record()["gamma"] == expect["gamma"]


def test_the_checkpoint_fills_what_the_protocol_leaves_open_and_options_win():
    protocol = get_protocol("shapes", "quick")  # γ is left to the checkpoint
    model = _model(size=32)
    settings, sources = run_settings(protocol, model, {})
    assert (settings.gamma, sources["gamma"]) == (0.77, "checkpoint")
    assert (settings.steps, sources["steps"]) == (32, "protocol")
    assert (settings.w_r, sources["w_r"]) == (50.0, "protocol")
    settings, sources = run_settings(protocol, model, {"gamma": 0.5, "steps": 3, "delta": 0.2,
                                                       "corrector_steps": 2})
    assert (settings.gamma, settings.steps, settings.delta, settings.corrector_steps) == \
        (0.5, 3, 0.2, 2)
    assert {sources[k] for k in ("gamma", "steps", "delta", "corrector_steps")} == {"option"}
    bair, _ = run_settings(get_protocol("bair"), _model(), {})
    assert bair.gamma == 0.0  # the paper's value beats the checkpoint's 0.77


@pytest.mark.parametrize("protocol, options, model, fragment", [
    ("shapes", {"delta": 0.3, "sampler": "ancestral"}, "none", "--delta: does not apply"),
    ("shapes", {"corrector_steps": 3, "sampler": "ancestral"}, "none",
     "--corrector-steps: does not apply"),
    ("shapes-uncond", {"conditioning": "replacement"}, "none", "nothing to condition on"),
    ("shapes-uncond", {"w_r": 3.0}, "none", "--guidance-weight: does not apply"),
    ("shapes", {"conditioning": "replacement", "w_r": 3.0}, "none",
     "--guidance-weight: does not apply"),
    ("shapes", {"cfg_weight": 2.0}, "none", "--cfg-weight: the model is unconditional"),
    ("text2video", {"cfg_null": 1.0}, "text", "--cfg-null: does not apply"),
    ("shapes", {"context_frames": 4}, "none", "--context-frames: protocol shapes needs no"),
    ("shapes", {"conditioning": "none"}, "none", "conditions on observed frames"),
])
def test_options_that_cannot_apply_are_refused(protocol, options, model, fragment):
    size = 32 if protocol.startswith("shapes") else 64
    with pytest.raises((InputError, ValueError), match=fragment):
        run_settings(get_protocol(protocol, "quick"), _model(model, size=size), options)


def test_record_states_only_what_applied():
    s = SamplingSettings(sampler="ancestral", conditioning="replacement")
    assert not {"corrector_steps", "delta", "w_r", "cfg_null"} & set(s.record())
    s = SamplingSettings(sampler="langevin", conditioning="reconstruction", cfg_weight=1.0)
    assert {"corrector_steps", "delta", "w_r", "cfg_null"} <= set(s.record())
    # settings that differ in anything that applies get different artefact names
    tags = {SamplingSettings(gamma=g).tag() for g in (0.1, 0.2)}
    assert len(tags) == 2
    assert SamplingSettings(delta=0.3).tag() == SamplingSettings(delta=0.1).tag()  # ancestral


def test_registry_parameters_match_the_sampler_signatures():
    import inspect

    for entry in SAMPLERS.values():
        names = set(inspect.signature(entry.function()).parameters) - {"denoiser"}
        assert SHARED_SAMPLER_ARGS <= names
        assert entry.parameters() <= set(FIELDS)  # each extra parameter is a settings field
    assert SAMPLERS["langevin"].parameters() == {"corrector_steps", "delta"}


def test_resolve_names_unknown_settings_and_bad_values():
    with pytest.raises(ValueError, match="unknown sampling setting 'gama'"):
        resolve(("protocol", {"gama": 0.1}))
    with pytest.raises(ValueError, match="--gamma: must lie in"):
        resolve(("option", {"gamma": 1.5}))
    with pytest.raises(ValueError, match="--guidance-weight: must be a finite number"):
        resolve(("option", {"w_r": float("inf"), "conditioning": "reconstruction"}))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


QUICK = ["--preset", "quick", "--clips", "2", "--samples-per-clip", "1", "--batch-size", "2",
         "--metrics", "context_consistency"]


def test_cli_overrides_reach_the_sampler_and_the_record(checkpoint, tmp_path, monkeypatch):
    real = samplers.predictor_corrector
    seen = []

    @functools.wraps(real)
    def spy(denoiser, **kw):
        seen.append({k: kw[k] for k in ("steps", "gamma", "corrector_steps", "delta")})
        return real(denoiser, **kw)

    monkeypatch.setattr(samplers, "predictor_corrector", spy)
    res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", str(checkpoint), *QUICK,
                                    "--steps", "2", "--gamma", "0.4", "--delta", "0.2",
                                    "--corrector-steps", "2", "--guidance-weight", "7",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert seen and all(s == {"steps": 2, "gamma": 0.4, "corrector_steps": 2, "delta": 0.2}
                        for s in seen)
    (rec,) = records(tmp_path)
    sampler = rec["sampler"]
    assert (sampler["steps"], sampler["gamma"], sampler["delta"], sampler["w_r"]) == \
        (2, 0.4, 0.2, 7.0)
    assert sampler["sources"]["gamma"] == "option" and sampler["sources"]["w_r"] == "option"
    assert rec["cache"]["chunks_cached"] == 0 and rec["cache"]["chunks"] == 1


def test_runs_differing_only_in_gamma_keep_their_own_artefacts(checkpoint, tmp_path):
    for gamma in ("0.1", "0.2"):
        res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", str(checkpoint), *QUICK,
                                        "--steps", "1", "--gamma", gamma, "--out", str(tmp_path)])
        assert res.exit_code == 0, res.output
    recs = records(tmp_path)
    assert sorted(r["sampler"]["gamma"] for r in recs) == [0.1, 0.2]
    assert len({r["cache"]["folder"] for r in recs}) == 2
    grids = sorted(p.name for p in tmp_path.glob("samples-*.png"))
    assert len(grids) == 2 and len(set(grids)) == 2
    generated = [p for p in (tmp_path / "cache").iterdir() if "-real-" not in p.name]
    assert len(generated) == 2
    # a resumed run reports how much came from the cache
    res = CliRunner().invoke(main, ["run", "shapes", "--checkpoint", str(checkpoint), *QUICK,
                                    "--steps", "1", "--gamma", "0.1", "--resume",
                                    "--out", str(tmp_path / "again"),
                                    "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    (again,) = records(tmp_path / "again")
    assert again["cache"]["chunks_cached"] == again["cache"]["chunks"] == 1
    assert "1 of 1 generated chunks came from the cache" in res.output


def test_compare_refuses_conditioning_on_an_unconditional_protocol(checkpoint, tmp_path):
    res = CliRunner().invoke(main, ["compare", "shapes-uncond", "--checkpoint", str(checkpoint),
                                    "--conditioning", "replacement,reconstruction",
                                    "--out", str(tmp_path), *QUICK[:6]])
    assert res.exit_code == 2 and "nothing to condition on" in res.output
    assert not list(tmp_path.glob("*.json"))


def test_oracle_runs_the_steps_and_gamma_asked_for(tmp_path, monkeypatch):
    real, seen = samplers.ancestral, []

    @functools.wraps(real)
    def spy(denoiser, **kw):
        seen.append((kw["steps"], kw["gamma"]))
        return real(denoiser, **kw)

    monkeypatch.setattr(samplers, "ancestral", spy)
    res = CliRunner().invoke(main, ["run", "oracle", "--preset", "quick", "--steps", "4",
                                    "--gamma", "0.5", "--samples-per-clip", "16",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert seen and set(seen) == {(4, 0.5)}
    (rec,) = records(tmp_path)
    (variant,) = rec["sampler"]["variants"]
    assert (variant["steps"], variant["gamma"]) == (4, 0.5)
    res = CliRunner().invoke(main, ["run", "oracle", "--conditioning", "replacement",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 2 and "does not apply to the oracle" in res.output


def test_table6_rows_carry_the_cfg_weight(tmp_path):
    from vdbench.reporting.tables import build_table

    for w, method in ((2.0, "replacement"), (5.0, "reconstruction")):
        rec = {"schema": "vdbench.result/1", "model": {"name": "m"},
               "protocol": {"paper_table": "6", "preset": "paper"},
               "sampler": {"sampler": "ancestral", "conditioning": method, "cfg_weight": w,
                           **({"w_r": 9.0} if method == "reconstruction" else {})},
               "metrics": {"fvd": 100.0 + w}}
        (tmp_path / f"{method}.json").write_text(json.dumps(rec))
    t6 = build_table("6", tmp_path)
    ours = t6[t6["run"].str.endswith(".json")]
    assert sorted(zip(ours["conditioning"], ours["guidance_weight"], strict=True)) == \
        [("reconstruction", "5"), ("replacement", "2")]


def test_protocols_command_shows_the_sampling_settings():
    res = CliRunner().invoke(main, ["protocols"])
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line for line in res.output.splitlines() if "sampler=" in line}
    assert "gamma=0.0" in rows["bair"] and "w_r=50.0" in rows["bair"]
    assert "steps=128" in rows["kinetics600"] and "gamma=0.1" in rows["ucf101"]
    assert "gamma=0.3" in rows["text2video"] and "cfg_weight=2.0" in rows["extension"]
    assert "gamma=<checkpoint>" in rows["shapes"]
    quick = CliRunner().invoke(main, ["protocols", "--preset", "quick"]).output
    assert "steps=32" in quick


def test_run_and_compare_share_the_cache_of_equal_settings(checkpoint, tmp_path):
    """Where a setting came from (protocol or option) does not change the samples: a compare
    variant equal to an earlier run reuses its chunks with --resume."""
    base = ["--checkpoint", str(checkpoint), *QUICK, "--steps", "1", "--out", str(tmp_path)]
    assert CliRunner().invoke(main, ["run", "shapes", *base]).exit_code == 0
    res = CliRunner().invoke(main, ["compare", "shapes", "--conditioning",
                                    "replacement,reconstruction", "--resume", *base])
    assert res.exit_code == 0, res.output
    recs = {r["sampler"]["conditioning"]: r for r in records(tmp_path)
            if r["sampler"]["sources"]["conditioning"] == "option"}
    assert recs["reconstruction"]["cache"]["chunks_cached"] == 1
    assert recs["replacement"]["cache"]["chunks_cached"] == 0


def toy_sampler(denoiser, *, noise, steps, schedule=None, gamma=0.0, cond=None, replace=None,
                callback=None, delta=0.5):
    """A sampler registered by one line in a test: returns its δ and steps as the sample."""
    return torch.full((len(noise.seeds), *noise.shape), delta * 100 + steps, dtype=noise.dtype)


def test_a_sampler_is_its_function_plus_one_registry_line(monkeypatch):
    from vdbench.model.registry import SamplerEntry
    from vdbench.model.samplers import PerSampleNoise

    monkeypatch.setitem(SAMPLERS, "toy", SamplerEntry("toy", "tests.test_settings_flow:toy_sampler",
                                                      "a test sampler"))
    settings, sources = resolve(("option", {"sampler": "toy", "steps": 3, "delta": 0.25}))
    assert settings.record()["delta"] == 0.25 and "corrector_steps" not in settings.record()
    x = settings.draw(None, noise=PerSampleNoise([1], (1, 1, 1, 1)))
    assert float(x.flatten()[0]) == 0.25 * 100 + 3
    with pytest.raises(ValueError, match="--corrector-steps: does not apply"):
        resolve(("option", {"sampler": "toy", "corrector_steps": 2}))
