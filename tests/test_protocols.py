"""Protocol parameters against the paper's text (Section 4, Tables 1-6)."""

import dataclasses

import pytest

from vdbench.metrics.errors import InputError
from vdbench.protocols.registry import PROTOCOLS, get_protocol


def test_bair_section_4_2():
    p = get_protocol("bair")
    assert (p.resolution, p.frames, p.context_frames, p.generated_frames) == (64, 16, 1, 15)
    assert (p.num_clips, p.samples_per_clip, p.num_samples) == (256, 100, 25600)  # 100 × 256
    assert p.sampling == {"sampler": "langevin", "corrector_steps": 1, "delta": 0.1, "steps": 256,
                          "gamma": 0.0, "conditioning": "reconstruction", "w_r": 50.0}
    assert p.metrics == ("fvd", "fvd_per_draw") and p.split == "test"  # pooled and per draw


def test_kinetics_section_4_2():
    p = get_protocol("kinetics600")
    assert (p.resolution, p.context_frames, p.generated_frames) == (64, 5, 11)
    assert (p.num_clips, p.samples_per_clip) == (50000, 1) and not p.with_replacement
    assert p.sampling == {"sampler": "langevin", "corrector_steps": 1, "delta": 0.1, "steps": 128,
                          "gamma": 0.0, "conditioning": "reconstruction", "w_r": 9.0}
    assert set(p.metrics) == {"fvd", "is_i3d"}


def test_ucf_text_and_extension():
    u = get_protocol("ucf101")
    assert (u.frames, u.resolution, u.context_frames, u.num_samples) == (16, 64, 0, 10000)
    assert set(u.metrics) == {"fid_c3d", "is_c3d"}
    t = get_protocol("text2video")
    assert t.num_samples == 4096 and {"fid_avg", "is_first"} <= set(t.metrics)
    e = get_protocol("extension")
    assert (e.frames, e.resolution, e.paper_table) == (64, 64, "6")


def test_presets_and_custom_counts():
    q = get_protocol("bair", "quick")
    assert q.preset == "quick" and (q.num_clips, q.samples_per_clip) == (16, 4)
    assert q.sampling["steps"] == 32 and q.sampling["corrector_steps"] == 1
    c = get_protocol("bair").with_counts(3, None)
    assert c.preset == "custom" and c.num_clips == 3 and c.samples_per_clip == 100
    assert get_protocol("bair").with_counts(None, None).preset == "paper"
    summary = q.summary()
    assert summary["preset"] == "quick" and summary["num_samples"] == 64


def test_every_protocol_cites_the_paper_and_bad_names():
    for p in PROTOCOLS.values():
        assert p.paper_section and p.notes
    with pytest.raises(InputError, match="unknown protocol"):
        get_protocol("moving-mnist")
    with pytest.raises(InputError, match="unknown preset"):
        get_protocol("bair", "huge")


def test_frameskip_is_validated_and_recorded():
    import dataclasses

    t = get_protocol("text2video")
    assert t.frameskip == 1 and t.summary()["frameskip"] == 1
    assert t.dataset == "captioned-videos"
    four = dataclasses.replace(t, frameskip=4)  # Table 5: frameskip 1 and 4
    assert four.summary()["frameskip"] == 4 and four.with_preset("quick").frameskip == 4
    for bad in (0, -1, 2.0, True):
        with pytest.raises(InputError, match="text2video: frameskip must be an integer ≥ 1"):
            dataclasses.replace(t, frameskip=bad)


def test_ucf101_tgan2_is_tganv2s_sample_protocol():
    """TGANv2 (pfnet-research/tgan2 scripts/compute_fid.py, compute_inception_score.py): 10
    sets of 2,048 samples, each set scored alone; the real reference is `ucf101`'s."""
    t, u = get_protocol("ucf101-tgan2"), get_protocol("ucf101")
    assert (t.num_clips, t.samples_per_clip, t.num_samples) == (2048, 10, 20480)
    assert t.metrics == ("fid_c3d_per_draw", "is_c3d_per_draw") and t.paper_table == "1"
    assert (t.reference_clips, t.split, t.frames, t.resolution) == (u.num_clips, u.split, 16, 64)
    assert t.with_counts(4, None).reference_clips == 0  # hand-set clips are the reference
    with pytest.raises(InputError, match="reference_clips applies to unconditional"):
        dataclasses.replace(get_protocol("bair"), reference_clips=500)


def test_fvd_exclude_context_is_a_recorded_protocol_field():
    b = get_protocol("bair")
    assert not b.fvd_exclude_context
    fitvid = dataclasses.replace(b, fvd_exclude_context=True)
    assert fitvid.summary()["fvd_exclude_context"] is True and fitvid.generated_frames == 15
    with pytest.raises(InputError, match="needs conditioning frames"):
        dataclasses.replace(get_protocol("ucf101"), fvd_exclude_context=True)


def test_stats_default_split_is_the_protocols():
    from vdbench.protocols.registry import protocol_split

    assert protocol_split("ucf101") == "all"  # all 13,320 videos, as the ucf101 protocol
    assert (protocol_split("bair"), protocol_split("kinetics600")) == ("test", "test")
    assert protocol_split("captioned-videos") == "validation"
    assert protocol_split("my-own-folder") == "train"
