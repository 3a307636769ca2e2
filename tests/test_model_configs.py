import json

import pytest

from vdbench.model.configs import PRESETS, ModelConfig, parse_override, preset
from vdbench.model.errors import ConfigError

PAPER = ["ucf101", "bair", "kinetics600", "t2v-small", "t2v-large", "t2v-9x128"]


def test_all_paper_presets_present_and_round_trip():
    for name in PAPER + ["tiny", "tiny-v"]:
        cfg = preset(name)
        assert cfg.name == name
        again = ModelConfig.from_dict(json.loads(cfg.to_json()))
        assert again == cfg


@pytest.mark.parametrize("name, expect", [
    # Values transcribed from the paper's Appendix A tables.
    ("ucf101", dict(base=256, mults=(1, 2, 4, 8), blocks=2, mlp=4, dropout=0.1, pred="eps",
                    lr=3e-4, betas=(0.9, 0.99), ema=0.9999, images=8, wd=0.0, head=64)),
    ("bair", dict(base=128, mults=(1, 2, 3, 4), blocks=3, mlp=2, dropout=0.1, pred="v",
                  lr=2e-4, betas=(0.9, 0.999), ema=0.999, images=8, wd=0.01, head=64)),
    ("kinetics600", dict(base=256, mults=(1, 2, 4, 8), blocks=2, mlp=2, dropout=0.1, pred="v",
                         lr=2e-4, betas=(0.9, 0.99), ema=0.9999, images=8, wd=0.0, head=64)),
    ("t2v-small", dict(base=128, mults=(1, 2, 4, 8), blocks=2, mlp=4, dropout=0.0, pred="eps",
                       lr=3e-4, betas=(0.9, 0.99), ema=0.9999, images=8, wd=0.0, head=64)),
    ("t2v-large", dict(base=256, mults=(1, 2, 4, 8), blocks=2, mlp=4, dropout=0.0, pred="eps",
                       lr=3e-4, betas=(0.9, 0.99), ema=0.9999, images=8, wd=0.0, head=64)),
    ("t2v-9x128", dict(base=128, mults=(1, 2, 4, 8, 16), blocks=2, mlp=4, dropout=0.0,
                       pred="eps", lr=2e-4, betas=(0.9, 0.99), ema=0.9999, images=7, wd=0.0,
                       head=128)),
])
def test_paper_values(name, expect):
    cfg = preset(name)
    u, t = cfg.unet, cfg.train
    got = dict(base=u.base_channels, mults=u.channel_mults, blocks=u.num_res_blocks,
               mlp=u.emb_mlp_layers, dropout=u.dropout, pred=cfg.diffusion.prediction, lr=t.lr,
               betas=t.adam_betas, ema=t.ema_decay, images=t.image_frames, wd=t.weight_decay,
               head=u.head_dim)
    assert got == expect
    assert u.attn_resolutions == (8, 16, 32) and u.emb_dim == 1024
    assert (cfg.diffusion.logsnr_min, cfg.diffusion.logsnr_max) == (-20.0, 20.0)
    frames = 9 if name == "t2v-9x128" else 16
    assert (cfg.video.frames, cfg.video.height) == (frames, 128 if frames == 9 else 64)


def test_sampling_defaults_from_appendix():
    assert preset("bair").sampling.langevin and preset("bair").sampling.recon_guidance_weight == 50
    assert preset("kinetics600").sampling.timesteps == 128
    assert preset("ucf101").sampling.gamma == 0.1
    assert preset("t2v-small").unet.cond == "text"


def test_unknown_preset_and_keys_are_errors():
    with pytest.raises(ConfigError, match="unknown preset 'nope'.*ucf101"):
        preset("nope")
    data = preset("tiny").to_dict()
    data["unet"]["channel_mult"] = [1, 2]
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['channel_mult'\] in config.unet"):
        ModelConfig.from_dict(data)
    with pytest.raises(ConfigError, match="unknown config key 'train.learning_rate'"):
        preset("tiny").replace(**{"train.learning_rate": 1.0})
    with pytest.raises(ConfigError, match="unknown config section"):
        preset("tiny").replace(**{"optim.lr": 1.0})


def test_values_are_validated():
    with pytest.raises(ConfigError, match="must be of type int"):
        preset("tiny").replace(**{"unet.base_channels": "32"})
    with pytest.raises(ConfigError, match="prediction"):
        preset("tiny").replace(**{"diffusion.prediction": "x"})
    with pytest.raises(ConfigError, match="divisible by 4"):
        preset("tiny").replace(**{"video.height": 30})
    with pytest.raises(ConfigError, match="norm_groups"):
        preset("tiny").replace(**{"unet.base_channels": 12})
    with pytest.raises(ConfigError, match="num_classes"):
        preset("tiny").replace(**{"unet.cond": "class"})
    cfg = preset("tiny").replace(**{"train.lr": 1, "unet.channel_mults": [1, 2]})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert cfg.unet.channel_mults == (1, 2)


def test_configs_are_frozen_and_overrides_parse():
    with pytest.raises(AttributeError):
        preset("tiny").train.lr = 1.0  # type: ignore[misc]
    assert parse_override("train.lr=1e-3") == ("train.lr", 1e-3)
    assert parse_override("unet.channel_mults=[1,2]") == ("unet.channel_mults", [1, 2])
    assert parse_override("diffusion.prediction=v") == ("diffusion.prediction", "v")
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("train.lr")
    assert set(PAPER) <= set(PRESETS)
