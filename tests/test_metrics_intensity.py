"""studies.metrics.intensity: the affine per-image map that puts samples at the data's intensity."""

import numpy as np
import torch

from studies.metrics.intensity import intensity_stats, match_intensity, standardise
from studies.metrics.similarity import paired_similarity


def test_match_intensity_sets_the_reference_stats_and_keeps_correlation():
    g = torch.Generator().manual_seed(0)
    ref = 0.45 + 0.2 * torch.randn(50, 1, 8, 8, generator=g)
    dark = 0.05 + 0.03 * torch.randn(6, 1, 8, 8, generator=g)  # a drifted, flat sample
    out = match_intensity(dark, ref)
    mean, sd = intensity_stats(ref)
    flat = out.reshape(6, -1)
    np.testing.assert_allclose(flat.mean(1).numpy(), mean, atol=1e-5)
    np.testing.assert_allclose(flat.std(1, unbiased=False).numpy(), sd, atol=1e-5)
    np.testing.assert_allclose(paired_similarity(out, dark), np.ones(6), atol=1e-5)  # affine: correlation 1


def test_blank_image_stays_blank():
    x = torch.full((2, 1, 4, 4), 0.3)
    np.testing.assert_allclose(standardise(x).numpy(), 0.0, atol=1e-3)  # rounding of the mean, over the 1e-3 floor
    np.testing.assert_allclose(match_intensity(x, torch.rand(5, 1, 4, 4)).std().item(), 0.0, atol=1e-7)
