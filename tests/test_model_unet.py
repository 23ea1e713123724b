"""The bias-free UNet of SPEC §4: parameter counts, K24's module names, norm behaviour,
homogeneity (no bias anywhere), and refusal of images the UNet cannot carry."""

import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from studies.config import ModelConfig
from studies.errors import InputError
from studies.model.unet import GAMMA_CLAMP, BiasFreeBatchNorm, UNet, check_fits, count_parameters, denoise, expected_keys

PUBLISHED = {1: 366_080, 2: 1_825_024, 3: 7_659_264, 4: 30_993_152}

# K24's state_dict keys of the 1-block UNet, written out by hand from its code (UNet.init_encoder_block
# / init_decoder_block with num_enc_conv = num_mid_conv = num_dec_conv = 2)
K24_KEYS_1_BLOCK = [
    "encoder.0.0.weight", "encoder.0.2.weight", "encoder.0.3.gammas", "encoder.0.3.running_sd",
    "mid_block.0.weight", "mid_block.1.gammas", "mid_block.1.running_sd",
    "mid_block.3.weight", "mid_block.4.gammas", "mid_block.4.running_sd",
    "decoder.0.0.weight", "decoder.0.1.gammas", "decoder.0.1.running_sd", "decoder.0.3.weight",
    "upsample.0.weight",
]


@pytest.mark.parametrize("blocks", sorted(PUBLISHED))
def test_parameter_counts_match_k24(blocks):
    cfg = ModelConfig(blocks=blocks, width=64, channels=1)
    assert count_parameters(cfg) == PUBLISHED[blocks]
    if blocks <= 3:  # the 4-block net is 124 MB of float32; the formula is checked against instances below
        assert sum(p.numel() for p in UNet(cfg).parameters()) == PUBLISHED[blocks]


@settings(max_examples=15, deadline=None)
@given(blocks=st.integers(1, 3), width=st.integers(1, 12), channels=st.integers(1, 3))
def test_formula_equals_instance(blocks, width, channels):
    cfg = ModelConfig(blocks=blocks, width=width, channels=channels)
    net = UNet(cfg)
    assert count_parameters(cfg) == sum(p.numel() for p in net.parameters())
    state = net.state_dict()
    keys = expected_keys(cfg)
    assert list(state) == list(keys)
    assert {k: tuple(v.shape) for k, v in state.items()} == keys


def test_keys_are_k24s():
    assert list(UNet(ModelConfig(blocks=1, width=4)).state_dict()) == K24_KEYS_1_BLOCK
    keys = expected_keys(ModelConfig(blocks=3, width=64))
    assert keys["encoder.2.0.weight"] == (256, 128, 3, 3)
    assert keys["mid_block.3.weight"] == (512, 512, 3, 3)
    assert keys["upsample.2.weight"] == (512, 256, 2, 2)  # ConvTranspose weight is (in, out, k, k)
    assert keys["decoder.0.3.weight"] == (1, 64, 3, 3)
    assert keys["decoder.1.4.running_sd"] == (1, 128, 1, 1)
    assert not any(k.endswith(".bias") for k in keys)


def test_norm_training_and_eval():
    torch.manual_seed(0)
    norm = BiasFreeBatchNorm(3)
    assert norm.gammas.abs().max() <= GAMMA_CLAMP
    x = torch.randn(5, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1) + 7.0
    out = norm.train()(x)
    sd = torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(out, x / sd * norm.gammas)
    torch.testing.assert_close(norm.running_sd, 0.9 * torch.ones(1, 3, 1, 1) + 0.1 * sd)
    frozen = norm.running_sd.clone()
    out_eval = norm.eval()(x)
    torch.testing.assert_close(out_eval, x / frozen * norm.gammas)
    assert torch.equal(norm.running_sd, frozen)  # evaluation leaves the statistics alone


def test_bias_free_network_is_homogeneous():
    torch.manual_seed(0)
    net = UNet(ModelConfig(blocks=2, width=8)).eval()
    y = torch.rand(3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(net(2.5 * y), 2.5 * net(y), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(denoise(net, y), y - net(y))


def test_seeded_init_is_deterministic():
    cfg = ModelConfig(blocks=2, width=8)
    a = UNet(cfg, generator=torch.Generator().manual_seed(3)).state_dict()
    b = UNet(cfg, generator=torch.Generator().manual_seed(3)).state_dict()
    c = UNet(cfg, generator=torch.Generator().manual_seed(4)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["encoder.0.0.weight"], c["encoder.0.0.weight"])
    w = UNet(ModelConfig(blocks=1, width=64), generator=torch.Generator().manual_seed(0)).encoder["0"][2].weight
    assert abs(w.std().item() - (2 / (64 * 9)) ** 0.5) < 0.005  # Kaiming normal, fan-in


def test_resolution_must_fit():
    with pytest.raises(InputError, match="divisible by 8"):
        check_fits(ModelConfig(blocks=3, width=4), 20)
    check_fits(ModelConfig(blocks=3, width=4), 40)
    net = UNet(ModelConfig(blocks=2, width=4))
    with pytest.raises(InputError, match="divisible by 4"):
        net(torch.zeros(1, 1, 18, 18))
    with pytest.raises(InputError, match=r"\(batch, 1, H, W\)"):
        net(torch.zeros(1, 3, 16, 16))


def test_cli_prints_count():
    out = subprocess.run([sys.executable, "-m", "studies", "model", "params", "--blocks", "3", "--width", "64", "--channels", "1"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "7659264"
    bad = subprocess.run([sys.executable, "-m", "studies", "model", "params", "--blocks", "3", "--resolution", "20"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "divisible by 8" in bad.stderr


def test_norm_backward_matches_autograd_of_k24_formula():
    from studies.model.unet import EPS, _BiasFreeNorm

    g = torch.Generator().manual_seed(0)
    x = (torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64) + 0.7).requires_grad_()
    gam = torch.randn(1, 3, 1, 1, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: _BiasFreeNorm.apply(a, b)[0], (x, gam))
    go = torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64)
    ours = torch.autograd.grad((_BiasFreeNorm.apply(x, gam)[0] * go).sum(), (x, gam))
    sd = torch.sqrt(x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + EPS)
    ref = torch.autograd.grad((x / sd * gam * go).sum(), (x, gam))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b)
