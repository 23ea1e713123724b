"""The bias-free UNet denoiser of K24 (SPEC §4).

Layout and module names follow K24's code so that its published checkpoints load strictly:
``encoder.{b}`` (b = 0..B-1), ``mid_block``, ``upsample.{b}`` and ``decoder.{b}`` are
``nn.Sequential`` stacks whose indices are K24's (ReLUs included, so a conv's index is the same as in
K24's ``state_dict``):

- ``encoder.0``: conv C->K (0), ReLU (1), conv K->K (2), norm (3), ReLU (4)
- ``encoder.b``, b >= 1: conv (K·2^(b-1) -> K·2^b) (0), norm (1), ReLU (2), conv (3), norm (4), ReLU (5)
- ``mid_block``: conv (K·2^(B-1) -> K·2^B) (0), norm (1), ReLU (2), conv (3), norm (4), ReLU (5)
- ``upsample.b``: ConvTranspose 2x2 stride 2, 2c -> c with c = K·2^b
- ``decoder.0``: conv 2K->K (0), norm (1), ReLU (2), linear conv K->C (3)
- ``decoder.b``, b >= 1: conv 2c->c (0), norm (1), ReLU (2), conv c->c (3), norm (4), ReLU (5)

No layer has a bias. The norm keeps K24's parameter ``gammas`` and buffer ``running_sd``, both of
shape (1, c, 1, 1) as in K24's ``BF_batchNorm`` (a (c,)-shaped variant would not load K24's
checkpoints strictly)."""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import InputError

EPS = 1e-5
MOMENTUM = 0.1
GAMMA_SD = 2.0 / 9.0 / 64.0
GAMMA_CLAMP = 0.025


class BiasFreeBatchNorm(nn.Module):
    """K24's ``BF_batchNorm``: x / sd · gamma, no mean subtraction and no beta, so the network stays
    homogeneous of degree 1 in its input (scaling the noisy image scales the prediction)."""

    def __init__(self, channels: int, *, generator: torch.Generator | None = None):
        super().__init__()
        self.register_buffer("running_sd", torch.ones(1, channels, 1, 1))
        g = (torch.randn((1, channels, 1, 1), generator=generator) * GAMMA_SD).clamp_(-GAMMA_CLAMP, GAMMA_CLAMP)
        self.gammas = nn.Parameter(g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            y, sd = _BiasFreeNorm.apply(x, self.gammas)
            with torch.no_grad():
                self.running_sd.mul_(1.0 - MOMENTUM).add_(sd.to(self.running_sd.dtype), alpha=MOMENTUM)
            return y
        return x * (self.gammas / self.running_sd)


class _BiasFreeNorm(torch.autograd.Function):
    """Training-mode y = x / sd · gamma, sd = sqrt(biased var over (batch, H, W) + eps), with a
    hand-written backward: autograd's graph of the same formula makes about twice as many passes
    over the activations, and on the CPU those passes cost as much as a small convolution.

    With d = x - mean, S = sum(go · x) per channel and M = batch·H·W:
    dgamma = S / sd;  dx = go · gamma / sd - (gamma · S / sd³ / M) · d."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, gammas: torch.Tensor):
        xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # statistics in fp32 at least
        m = xf.mean(dim=(0, 2, 3), keepdim=True)
        d = xf - m
        var = (d * d).mean(dim=(0, 2, 3), keepdim=True)
        sd = torch.sqrt(var + EPS)
        scale = gammas / sd
        ctx.save_for_backward(d, m, sd, gammas)
        ctx.in_dtype = x.dtype
        return (xf * scale).to(x.dtype), sd

    @staticmethod
    def backward(ctx, go: torch.Tensor, _gsd):
        d, m, sd, gammas = ctx.saved_tensors
        go = go.to(d.dtype)
        count = d.numel() // d.shape[1]
        s = (go * d).sum(dim=(0, 2, 3), keepdim=True) + m * go.sum(dim=(0, 2, 3), keepdim=True)  # sum(go · x)
        grad_g = s / sd
        coef = -(gammas * s) / (sd * sd * sd * count)
        grad_x = torch.addcmul(go * (gammas / sd), d, coef)
        return grad_x.to(ctx.in_dtype), grad_g


def _biased_var(x: torch.Tensor) -> torch.Tensor:
    """Biased variance over (batch, H, W), two-pass like ``Tensor.var``; written out because
    ``Tensor.var`` over non-trailing dims is ~20x slower on CPU than this mean of squares."""
    d = x - x.mean(dim=(0, 2, 3), keepdim=True)
    return (d * d).mean(dim=(0, 2, 3), keepdim=True)


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)


class UNet(nn.Module):
    """Bias-free UNet with ``cfg.blocks`` encoder/decoder blocks of base width ``cfg.width``; it
    predicts the noise, so the denoised image is ``y - net(y)`` (see ``denoise``)."""

    def __init__(self, cfg: ModelConfig, *, generator: torch.Generator | None = None):
        super().__init__()
        if cfg.kernel % 2 != 1:
            raise InputError(f"ModelConfig.kernel must be odd (padding keeps the size), got {cfg.kernel}")
        self.cfg = cfg
        B, K, C, k = cfg.blocks, cfg.width, cfg.channels, cfg.kernel
        norm = lambda c: BiasFreeBatchNorm(c, generator=generator)  # noqa: E731
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731

        self.encoder = nn.ModuleDict()
        self.encoder["0"] = nn.Sequential(_conv(C, K, k), relu(), _conv(K, K, k), norm(K), relu())
        for b in range(1, B):
            cin, c = K * 2 ** (b - 1), K * 2**b
            self.encoder[str(b)] = nn.Sequential(_conv(cin, c, k), norm(c), relu(), _conv(c, c, k), norm(c), relu())
        c_mid = K * 2**B
        self.mid_block = nn.Sequential(_conv(c_mid // 2, c_mid, k), norm(c_mid), relu(), _conv(c_mid, c_mid, k), norm(c_mid), relu())
        self.decoder = nn.ModuleDict()  # assigned before upsample, as in K24 (state_dict order)
        self.upsample = nn.ModuleDict()
        for b in range(B - 1, -1, -1):  # K24's insertion order (deepest first) keeps its state_dict order
            c = K * 2**b
            self.upsample[str(b)] = nn.ConvTranspose2d(2 * c, c, kernel_size=2, stride=2, bias=False)
            if b == 0:
                self.decoder[str(b)] = nn.Sequential(_conv(2 * c, c, k), norm(c), relu(), _conv(c, C, k))
            else:
                self.decoder[str(b)] = nn.Sequential(_conv(2 * c, c, k), norm(c), relu(), _conv(c, c, k), norm(c), relu())
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                # Kaiming-normal (fan-in, ReLU gain) as K24's weights_init_kaiming
                _kaiming_normal_(m.weight, generator)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        B = self.cfg.blocks
        if y.ndim != 4 or y.shape[1] != self.cfg.channels:
            raise InputError(f"UNet expects (batch, {self.cfg.channels}, H, W), got {tuple(y.shape)}")
        factor = 2**B
        if y.shape[-1] % factor or y.shape[-2] % factor:
            raise InputError(f"UNet with {B} blocks needs H and W divisible by {factor}, got {tuple(y.shape[-2:])}")
        x = y
        skips = []
        for b in range(B):
            x = self.encoder[str(b)](x)
            skips.append(x)
            x = self.pool(x)
        x = self.mid_block(x)
        for b in range(B - 1, -1, -1):
            x = self.upsample[str(b)](x)
            x = self.decoder[str(b)](torch.cat([x, skips[b]], dim=1))
        return x


def _kaiming_normal_(w: torch.Tensor, generator: torch.Generator | None) -> None:
    # nn.init.kaiming_normal_ has no generator argument in every torch; this is its fan-in formula
    fan_in = w.shape[1] * w[0, 0].numel()
    std = (2.0 / fan_in) ** 0.5
    with torch.no_grad():
        w.normal_(0.0, std, generator=generator)


def denoise(net: nn.Module, y: torch.Tensor) -> torch.Tensor:
    """The denoised image: the network predicts the noise (SPEC §4)."""
    return y - net(y)


def count_parameters(cfg: ModelConfig) -> int:
    """Trainable parameters of the UNet of ``cfg`` (convolutions and norm gammas; running_sd is a
    buffer), from the architecture's formula without building it."""
    B, K, C, k = cfg.blocks, cfg.width, cfg.channels, cfg.kernel
    kk = k * k
    total = C * K * kk + K * K * kk + K  # encoder 0: two convs, one norm
    for b in range(1, B):
        cin, c = K * 2 ** (b - 1), K * 2**b
        total += cin * c * kk + c * c * kk + 2 * c
    c_mid = K * 2**B
    total += (c_mid // 2) * c_mid * kk + c_mid * c_mid * kk + 2 * c_mid
    for b in range(B):
        c = K * 2**b
        total += 2 * c * c * 4  # upsample
        total += 2 * c * c * kk + c  # first decoder conv + norm
        total += c * C * kk if b == 0 else c * c * kk + c
    return total


def expected_keys(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every ``state_dict`` key of the UNet of ``cfg`` with its shape, derived from the architecture
    description in this module's docstring (not from an instance), in K24's order."""
    B, K, C, k = cfg.blocks, cfg.width, cfg.channels, cfg.kernel
    keys: dict[str, tuple[int, ...]] = {}

    def conv(prefix, cin, cout):
        keys[f"{prefix}.weight"] = (cout, cin, k, k)

    def norm(prefix, c):
        keys[f"{prefix}.gammas"] = (1, c, 1, 1)
        keys[f"{prefix}.running_sd"] = (1, c, 1, 1)

    conv("encoder.0.0", C, K)
    conv("encoder.0.2", K, K)
    norm("encoder.0.3", K)
    for b in range(1, B):
        cin, c = K * 2 ** (b - 1), K * 2**b
        conv(f"encoder.{b}.0", cin, c)
        norm(f"encoder.{b}.1", c)
        conv(f"encoder.{b}.3", c, c)
        norm(f"encoder.{b}.4", c)
    c_mid = K * 2**B
    conv("mid_block.0", c_mid // 2, c_mid)
    norm("mid_block.1", c_mid)
    conv("mid_block.3", c_mid, c_mid)
    norm("mid_block.4", c_mid)
    for b in range(B - 1, -1, -1):
        c = K * 2**b
        conv(f"decoder.{b}.0", 2 * c, c)
        norm(f"decoder.{b}.1", c)
        if b == 0:
            conv(f"decoder.{b}.3", c, C)
        else:
            conv(f"decoder.{b}.3", c, c)
            norm(f"decoder.{b}.4", c)
    for b in range(B - 1, -1, -1):
        c = K * 2**b
        keys[f"upsample.{b}.weight"] = (2 * c, c, 2, 2)
    return keys


def check_fits(cfg: ModelConfig, resolution: int) -> None:
    """Refuse a block count or width that the image side cannot carry, naming both."""
    cfg.check_resolution(resolution)
    if resolution // 2**cfg.blocks < 1:
        raise InputError(f"ModelConfig with {cfg.blocks} blocks pools {resolution}x{resolution} images below 1 pixel")
