"""The Gaussian control: images whose distribution and optimal denoiser are known in closed form.

Images x ~ N(mu, C) at the smoke resolution with a stationary covariance of power spectrum
S(f) ~ 1 / (f^2 + f0^2) (natural images fall roughly as 1/f^2), scaled to the pixel spread of the
smoke faces. For Gaussian data the MMSE denoiser at noise sigma is linear,
D(y) = mu + C (C + sigma^2 I)^-1 (y - mu). A denoiser fitted on N images replaces mu and C by their
empirical mean and covariance; two fitted on disjoint halves converge to each other and to the MMSE
as N grows (a known answer: generalisation without any training). Blind like the UNet: sigma^2 is
estimated from the input, (||y - mu||^2 - tr C) / D (clipped above 0), each image on its own.

``gaussian_pair(profile, n, replicate)`` gives the two fitted denoisers as zoo-like models that
``studies.evaluation.evaluate_pair`` measures like a trained pair; replicate r draws other images."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import config_hash
from .errors import InputError

# The smoke faces have pixel sd ~0.2 in [0, 1]; a Gaussian that wide would leave [0, 1] (which PSNR
# refuses), so the control is the sd-0.2 design scaled by SCALE about 0.5: pixel sd 0.08 keeps every
# pixel within 6 sd of the mean, and the sampler's noise levels (sigma_0, sigma_L) are scaled alike
# (``scaled_profile``). The sampler is then the same process up to scale, and correlations and PSNR
# gaps do not depend on the scale.
SCALE = 0.4
MEAN = 0.5
PIXEL_SD = 0.2 * SCALE
F0 = 1.0  # spectrum 1 / (f^2 + F0^2), f in cycles per image
GAUSSIAN = "gaussian"
VERSION = 2


def scaled_profile(profile):
    """``profile`` with the sampler's noise levels scaled like the control's images (SCALE)."""
    import dataclasses

    s = profile.sample
    return dataclasses.replace(profile, sample=dataclasses.replace(s, sigma_0=s.sigma_0 * SCALE, sigma_L=s.sigma_L * SCALE))


def spectrum_covariance(resolution: int) -> np.ndarray:
    """(D, D) stationary (circulant) covariance with power spectrum 1 / (f^2 + F0^2), pixel sd PIXEL_SD."""
    f = np.fft.fftfreq(resolution) * resolution
    fx, fy = np.meshgrid(f, f, indexing="ij")
    power = 1.0 / (fx**2 + fy**2 + F0**2)
    kernel = np.real(np.fft.ifft2(power))  # autocovariance over pixel offsets
    idx = np.arange(resolution)
    dx = (idx[:, None] - idx[None, :]) % resolution
    cov = kernel[dx[:, None, :, None], dx[None, :, None, :]].reshape(resolution**2, resolution**2)
    cov = 0.5 * (cov + cov.T)
    return cov * (PIXEL_SD**2 / np.mean(np.diag(cov)))


def draw_images(resolution: int, count: int, seed: int) -> torch.Tensor:
    """``count`` images (count, 1, R, R) of N(MEAN, C), seeded."""
    cov = spectrum_covariance(resolution)
    w, u = np.linalg.eigh(cov)
    root = u * np.sqrt(np.clip(w, 0, None))
    z = np.random.default_rng(seed).standard_normal((count, resolution**2))
    x = MEAN + z @ root.T
    if x.min() < 0 or x.max() > 1:
        raise InputError(f"Gaussian control draw (seed {seed}) leaves [0, 1]: range {x.min():.3f}..{x.max():.3f}")
    return torch.from_numpy(x.astype(np.float32)).reshape(count, 1, resolution, resolution)


class GaussianDenoiser(torch.nn.Module):
    """Blind linear denoiser of N(mu, C) (empirical mean and covariance of ``images``, or the true
    ones); forward returns the residual y - D(y), like the UNet."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray) -> None:
        super().__init__()
        w, u = np.linalg.eigh(0.5 * (cov + cov.T))
        self.register_buffer("mu", torch.from_numpy(np.asarray(mean, dtype=np.float64).ravel()))
        self.register_buffer("u", torch.from_numpy(u))
        self.register_buffer("lam", torch.from_numpy(np.clip(w, 0, None)))
        self.eval()

    @classmethod
    def fitted(cls, images: torch.Tensor) -> "GaussianDenoiser":
        x = images.reshape(images.shape[0], -1).double().numpy()
        mean = x.mean(axis=0)
        cov = np.cov(x, rowvar=False, bias=True) if x.shape[0] > 1 else np.zeros((x.shape[1], x.shape[1]))
        return cls(mean, cov)

    def denoise(self, y: torch.Tensor, sigma2: torch.Tensor | None = None) -> torch.Tensor:
        flat = y.reshape(y.shape[0], -1).to(torch.float64)
        c = flat - self.mu
        d = flat.shape[1]
        if sigma2 is None:
            sigma2 = ((c**2).sum(dim=1) - self.lam.sum()).clamp_min(1e-12) / d
        coef = (c @ self.u) * (self.lam[None, :] / (self.lam[None, :] + sigma2[:, None]))
        return (self.mu + coef @ self.u.T).to(y.dtype).reshape(y.shape)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y - self.denoise(y)


@dataclass
class _Data:
    images: torch.Tensor
    manifest: dict = field(default_factory=dict)


@dataclass
class GaussianModel:
    """A fitted Gaussian denoiser with what it was fitted on, shaped like ``studies.zoo.TrainedModel``."""

    net: GaussianDenoiser
    train_images: torch.Tensor
    test_images: torch.Tensor
    dataset: Any
    key: str
    protocol: str
    group: str
    n: int
    config: dict
    split: Any = None


def gaussian_pair(resolution: int, n: int, replicate: int = 0, *, n_max: int = 4000, heldout: int = 256) -> tuple[GaussianModel, GaussianModel]:
    """Denoisers A and B fitted on disjoint sets of N images of one Gaussian draw (seed = replicate);
    each one's test images are the other's training images plus ``heldout`` fresh ones, as in the zoo."""
    images = draw_images(resolution, 2 * n_max + heldout, seed=10_000 + replicate)
    a_imgs, b_imgs = images[:n], images[n_max : n_max + n]
    fresh = images[2 * n_max :]
    data = _Data(images=images, manifest={"kind": GAUSSIAN, "seed": 10_000 + replicate})
    out = []
    for group, mine, other in (("A", a_imgs, b_imgs), ("B", b_imgs, a_imgs)):
        key = "gaussian-" + config_hash({"kind": GAUSSIAN, "version": VERSION, "resolution": resolution, "n": n, "group": group,
                                          "replicate": replicate, "n_max": n_max, "heldout": heldout}, length=24)
        out.append(GaussianModel(net=GaussianDenoiser.fitted(mine), train_images=mine, test_images=torch.cat([other, fresh]),
                                 dataset=data, key=key, protocol="gaussian", group=group, n=n,
                                 config={"model_config": {"kind": GAUSSIAN, "fitted": "empirical mean and covariance"}}))
    return out[0], out[1]


def excess_mse(model: GaussianModel, resolution: int, sigmas=tuple(SCALE * s for s in (0.05, 0.1, 0.2, 0.4)), seed: int = 0) -> list[dict]:
    """Test MSE of a fitted denoiser and of the MMSE (true mean and covariance, sigma known) on the
    model's test images, per sigma: the excess is what fitting on N images costs."""
    oracle = GaussianDenoiser(np.full(resolution**2, MEAN), spectrum_covariance(resolution))
    x = model.test_images
    g = torch.Generator().manual_seed(seed)
    rows = []
    for s in sigmas:
        y = x + s * torch.randn(x.shape, generator=g)
        fitted = float(((model.net.denoise(y) - x) ** 2).mean())
        mmse = float(((oracle.denoise(y, torch.full((x.shape[0],), s**2, dtype=torch.float64)) - x) ** 2).mean())
        rows.append({"sigma": s, "fitted_mse": fitted, "mmse": mmse, "excess": fitted - mmse, "excess_db": 10 * math.log10(fitted / mmse)})
    return rows
