"""Global intensity (gain and offset) of samples, which a bias-free denoiser leaves undetermined.

A bias-free network is homogeneous of degree 1 (SPEC §4): scaling a noisy image scales its
denoised estimate, so the sampler has no force that restores the overall brightness and contrast
of a sample. An undertrained one also shrinks them: the smoke UNets' estimates keep 94-99.4% of
an image's mean at sigma 0.1 (measured 2026-12-01 on the smoke zoo), and over the sampler's
hundreds of steps that compounds, so smoke samples come out dark and flat (per-image means
0.05-0.4 against 0.45 for the data). Correlation is mean-removed and normalised, so the core claims
are blind to it; a pixel classifier or LPIPS is not. Those measures therefore see samples mapped
to the data's intensity first: each image standardised, then given the reference set's average
per-image mean and standard deviation. The map is affine per image and changes no correlation."""

from __future__ import annotations

from typing import Any

import torch

from .similarity import ZERO_NORM_FLOOR


def _flat(images: Any) -> tuple[torch.Tensor, tuple[int, ...]]:
    x = torch.as_tensor(images, dtype=torch.float32)
    return x.reshape(x.shape[0], -1), tuple(x.shape)


def standardise(images: Any, *, floor: float = ZERO_NORM_FLOOR) -> torch.Tensor:
    """Each image minus its mean, over its standard deviation (a blank image stays blank)."""
    x, shape = _flat(images)
    d = x - x.mean(dim=1, keepdim=True)
    sd = d.std(dim=1, unbiased=False, keepdim=True)
    return (d / sd.clamp_min(floor)).reshape(shape)


def intensity_stats(images: Any) -> tuple[float, float]:
    """(average per-image mean, average per-image standard deviation) of a set of images."""
    x, _ = _flat(images)
    return float(x.mean(dim=1).mean()), float(x.std(dim=1, unbiased=False).mean())


def match_intensity(samples: Any, reference: Any) -> torch.Tensor:
    """``samples`` with each image's mean and standard deviation set to the reference set's
    average per-image values (affine per image: correlations are unchanged)."""
    mean, sd = intensity_stats(reference)
    return standardise(samples) * sd + mean
