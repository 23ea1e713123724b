"""The Gaussian control (studies.gaussian): the covariance has the registered spectrum and spread,
draws are seeded, and denoisers fitted on more images approach the MMSE of the true distribution."""

import numpy as np
import torch

from studies.gaussian import MEAN, PIXEL_SD, GaussianDenoiser, draw_images, excess_mse, gaussian_pair, spectrum_covariance


def test_covariance_is_stationary_with_a_falling_spectrum():
    c = spectrum_covariance(8)
    assert np.allclose(np.diag(c), PIXEL_SD**2) and np.allclose(c, c.T) and np.linalg.eigvalsh(c).min() > 0
    img = c[0].reshape(8, 8)  # covariance of pixel (0, 0) with every other: falls with distance, periodic
    assert img[0, 1] > img[0, 2] > img[0, 4] and np.isclose(img[0, 1], img[0, 7])


def test_draws_are_seeded_and_have_the_distribution():
    a, b = draw_images(8, 3000, seed=1), draw_images(8, 3000, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, draw_images(8, 3000, seed=2))
    x = a.reshape(3000, -1).double().numpy()
    assert abs(x.mean() - MEAN) < 0.01 and 0 <= x.min() and x.max() <= 1 and np.abs(np.cov(x, rowvar=False) - spectrum_covariance(8)).max() < 0.01


def test_fitted_denoisers_approach_the_mmse_and_each_other():
    small_a, small_b = gaussian_pair(8, 10, 0, n_max=2000, heldout=64)
    large_a, large_b = gaussian_pair(8, 2000, 0, n_max=2000, heldout=64)
    assert set(map(tuple, small_a.train_images.reshape(10, -1).tolist())).isdisjoint(map(tuple, small_b.train_images.reshape(10, -1).tolist()))
    ex_small = [r["excess_db"] for r in excess_mse(small_a, 8)]
    ex_large = [r["excess_db"] for r in excess_mse(large_a, 8)]
    assert all(s > l for s, l in zip(ex_small, ex_large)) and ex_large[-1] < 0.2
    y = draw_images(8, 16, seed=5) + 0.2 * torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    gap_small = float((small_a.net.denoise(y) - small_b.net.denoise(y)).abs().mean())
    gap_large = float((large_a.net.denoise(y) - large_b.net.denoise(y)).abs().mean())
    assert gap_large < 0.2 * gap_small


def test_known_sigma_oracle_is_the_linear_mmse():
    c = spectrum_covariance(4)
    den = GaussianDenoiser(np.full(16, MEAN), c)
    y = torch.full((1, 1, 4, 4), MEAN + 0.1)
    out = den.denoise(y, torch.tensor([0.01], dtype=torch.float64)).reshape(-1).double().numpy()
    want = MEAN + c @ np.linalg.solve(c + 0.01 * np.eye(16), np.full(16, 0.1))
    assert np.allclose(out, want, atol=1e-6)
