"""The same-noise protocol: A and B get identical noise per seed, the validator catches any
mismatch, the start option is recorded, bad pairs are refused."""

import dataclasses

import numpy as np
import pytest
import torch

from studies.config import ModelConfig, SampleConfig
from studies.errors import InputError
from studies.sample import (
    START_COMMON,
    START_OWN,
    EmpiricalDenoiser,
    NoiseMismatchError,
    NoiseHash,
    same_noise_pair,
    sample,
    sampler_options,
    validate_same_noise,
)

torch.set_num_threads(1)

SHAPE = (1, 8, 8)
OPTS = dict(h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=500)


def _groups():
    g = torch.Generator().manual_seed(7)
    return torch.rand((3, *SHAPE), generator=g), torch.rand((3, *SHAPE), generator=g) * 0.5 + 0.25


def test_pair_common_start_same_noise_and_validated():
    xa, xb = _groups()
    m = torch.cat([xa, xb]).mean(0)
    pair = same_noise_pair(EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), [0, 1, 2, 3], shape=SHAPE, start=START_COMMON, mean=m, **OPTS)
    assert pair.validated and pair.start == START_COMMON and "given mean" in pair.start_detail
    assert [h.initial for h in pair.a.noise.hashes] == [h.initial for h in pair.b.noise.hashes]
    assert pair.a.options["start"] == pair.b.options["start"] == START_COMMON
    # A and B may stop at different t; they share the noise on the steps both ran
    for i in range(4):
        t = min(pair.a.noise.hashes[i].steps, pair.b.noise.hashes[i].steps)
        assert pair.a.noise.digest(i, t) == pair.b.noise.digest(i, t)


def test_pair_own_start_uses_each_groups_mean():
    xa, xb = _groups()
    pair = same_noise_pair(
        EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), [5, 6], shape=SHAPE, start=START_OWN, mean_a=xa.mean(0), mean_b=xb.mean(0), **OPTS
    )
    assert pair.start == START_OWN and pair.validated
    # identical initial noise, different start points: y_0 differs exactly by the mean difference
    ref = sample(EmpiricalDenoiser(xa), [5, 6], shape=SHAPE, mean=xa.mean(0), **OPTS)
    assert torch.equal(ref.images, pair.a.images)


def test_common_start_defaults_to_the_average_of_the_group_means():
    xa, xb = _groups()
    pair = same_noise_pair(
        EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), [5], shape=SHAPE, start=START_COMMON, mean_a=xa.mean(0), mean_b=xb.mean(0), **OPTS
    )
    ref = sample(EmpiricalDenoiser(xa), [5], shape=SHAPE, mean=0.5 * (xa.mean(0) + xb.mean(0)), **OPTS)
    assert torch.equal(ref.images, pair.a.images) and "average" in pair.start_detail


def test_same_seed_same_hashes_different_seed_different_hashes():
    xa, xb = _groups()
    a = sample(EmpiricalDenoiser(xa), [1, 2], shape=SHAPE, mean=0.5, **OPTS)
    b = sample(EmpiricalDenoiser(xb), [1, 2], shape=SHAPE, mean=0.5, **OPTS)
    validate_same_noise(a.noise, b.noise)
    c = sample(EmpiricalDenoiser(xb), [1, 3], shape=SHAPE, mean=0.5, **OPTS)
    assert a.noise.hashes[1].initial != c.noise.hashes[1].initial
    with pytest.raises(NoiseMismatchError, match="different seeds"):
        validate_same_noise(a.noise, c.noise)


def test_validator_catches_tampered_noise():
    xa, xb = _groups()
    a = sample(EmpiricalDenoiser(xa), [1, 2], shape=SHAPE, mean=0.5, **OPTS)
    b = sample(EmpiricalDenoiser(xb), [1, 2], shape=SHAPE, mean=0.5, **OPTS)
    h = b.noise.hashes[1]
    bad_initial = dataclasses.replace(b.noise, hashes=(b.noise.hashes[0], NoiseHash("0" * 64, h.stream, h.steps)))
    with pytest.raises(NoiseMismatchError, match="seed 2: initial noise"):
        validate_same_noise(a.noise, bad_initial)
    chain = [c.copy() for c in b.noise.chain]
    chain[0][0, 0] ^= 1  # the first injected draw of seed 1 differs
    with pytest.raises(NoiseMismatchError, match="seed 1: injected noise differs from step 1 on"):
        validate_same_noise(a.noise, dataclasses.replace(b.noise, chain=tuple(chain)))


def test_sampler_options_from_config():
    cfg = SampleConfig()
    assert sampler_options(cfg) == dict(h0=cfg.h0, beta=cfg.beta, sigma_0=cfg.sigma_0, sigma_L=cfg.sigma_L, max_T=cfg.max_T)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(config_a=ModelConfig(blocks=2), config_b=ModelConfig(blocks=3)), "different configs"),
        (dict(config_a=(ModelConfig(), 16), config_b=(ModelConfig(), 32)), "different configs"),
        (dict(config_a=ModelConfig()), "both models"),
        (dict(seeds=[0, 0]), "seeds given twice"),
        (dict(start="shared"), "start must be"),
        (dict(start=START_OWN), "needs mean_a and mean_b"),
        (dict(mean=None), "needs mean"),
        (dict(mean_a=torch.zeros(1, 4, 4), mean_b=torch.zeros(SHAPE), mean=None), "mean_a has shape"),
    ],
)
def test_bad_pairs_are_refused(change, match):
    xa, xb = _groups()
    args = dict(seeds=[0, 1], shape=SHAPE, start=START_COMMON, mean=0.5, **OPTS)
    args.update(change)
    seeds = args.pop("seeds")
    with pytest.raises(InputError, match=match):
        same_noise_pair(EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), seeds, **args)


def test_unet_pair_same_noise_and_config_check():
    from studies.model.unet import UNet

    xa, xb = _groups()
    shape16 = (1, 16, 16)
    xa16 = torch.nn.functional.interpolate(xa, size=(16, 16))
    xb16 = torch.nn.functional.interpolate(xb, size=(16, 16))

    class Wrapped(torch.nn.Module):
        # an exact denoiser plus a small real UNet in eval mode: long chains through real conv/norm layers
        def __init__(self, x, cfg):
            super().__init__()
            torch.manual_seed(0)
            self.exact, self.unet, self.cfg = EmpiricalDenoiser(x), UNet(cfg), cfg
            self.eval()

        def forward(self, y):
            return self.exact(y) + 0.02 * torch.tanh(self.unet(y))

    cfg = ModelConfig(blocks=2, width=4, channels=1)
    pair = same_noise_pair(Wrapped(xa16, cfg), Wrapped(xb16, cfg), [0, 1, 2], shape=shape16, start=START_COMMON, mean=0.5, **OPTS)
    assert pair.validated and pair.a.steps.min() > 1
    one = sample(Wrapped(xa16, cfg), [1], shape=shape16, mean=0.5, **OPTS)
    assert one.noise.hashes[0] == pair.a.noise.hashes[1] and one.steps[0] == pair.a.steps[1]
    torch.testing.assert_close(one.images[0], pair.a.images[1], rtol=0, atol=1e-5)
    with pytest.raises(InputError, match="different configs"):
        same_noise_pair(
            Wrapped(xa16, cfg), Wrapped(xb16, ModelConfig(blocks=2, width=8, channels=1)), [0], shape=shape16, start=START_COMMON, mean=0.5, **OPTS
        )


def test_pair_record_is_json_ready():
    import json

    xa, xb = _groups()
    pair = same_noise_pair(EmpiricalDenoiser(xa), EmpiricalDenoiser(xb), [0, 1], shape=SHAPE, start=START_COMMON, mean=0.5, **OPTS)
    d = json.loads(json.dumps(pair.to_dict()))
    assert d["start"] == START_COMMON and d["validated"] is True
    assert d["a"]["noise_hashes"][0]["initial"] == d["b"]["noise_hashes"][0]["initial"]
    assert d["a"]["options"]["start"] == START_COMMON and d["a"]["counts"]["converged"] == 2
