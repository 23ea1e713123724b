"""unet-params (T25 §4.1; K24 Tab. 1; SPEC §4): the bias-free UNet with B blocks of base width 64 on
grayscale images has 366,080 / 1,825,024 / 7,659,264 / 30,993,152 trainable parameters for
B = 1..4 (T25 quotes 7,659,264 for the 3-block network it trains at 40x40). The count is taken two
ways: summed over an instantiated ``studies.model.unet.UNet`` and from the architecture's formula
(``count_parameters``); both must equal the published number exactly."""

import pytest

from studies.claims.verdict import REFUTED, SUPPORTED
from studies.config import ModelConfig
from studies.model.unet import UNet, count_parameters

# published counts (K24 Tab. 1 for B = 1..4; T25 §4.1 repeats B = 3), width K = 64, one channel
PUBLISHED = {1: 366_080, 2: 1_825_024, 3: 7_659_264, 4: 30_993_152}


@pytest.mark.claim("unet-params")
@pytest.mark.parametrize("blocks", [pytest.param(b, id=f"blocks{b}") for b in PUBLISHED])
def test_unet_params(claim, blocks):
    cfg = ModelConfig(blocks=blocks, width=64, channels=1)
    claim.param(blocks=blocks, width=cfg.width, channels=cfg.channels)
    claim.method("exact equality: trainable parameters of an instantiated UNet (convolutions and norm gammas; running_sd is a buffer) and of the closed-form count, vs the published number")
    published = PUBLISHED[blocks]
    net = UNet(cfg)
    instantiated = sum(p.numel() for p in net.parameters() if p.requires_grad)
    formula = count_parameters(cfg)
    claim.measure("parameters (instantiated)", instantiated, threshold=published, direction="==", key=True)
    claim.measure("parameters (formula)", formula, threshold=published, direction="==")
    claim.table(
        "parameters per part",
        ["part", "parameters"],
        [[name, sum(p.numel() for p in getattr(net, name).parameters())] for name in ("encoder", "mid_block", "upsample", "decoder")],
    )
    if instantiated == formula == published:
        claim.conclude(SUPPORTED, f"{blocks} block(s): {instantiated:,} parameters, as published")
    else:
        claim.conclude(REFUTED, f"{blocks} block(s): instantiated {instantiated:,}, formula {formula:,}, published {published:,}")
