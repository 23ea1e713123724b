"""PSNR against hand values, the SPEC §7 curve grid, tiling, noise streams, CIs and the gap."""

import numpy as np
import pytest
import torch

from studies.errors import InputError
from studies.metrics.psnr import (
    CURVE_SIGMAS_255,
    PSNR_CAP_DB,
    curves_to_gap,
    default_sigmas,
    denoise_psnr,
    mse_to_psnr,
    psnr,
    psnr_curve,
    psnr_to_curve,
    sigma_to_input_psnr,
    tile_to,
    train_test_curves,
)
from studies.sample import EmpiricalDenoiser

torch.set_num_threads(1)


class Identity(torch.nn.Module):
    """Returns its input unchanged (residual 0): PSNR = input PSNR."""

    def forward(self, y):
        return torch.zeros_like(y)


class Shrink(torch.nn.Module):
    """Denoised = 0.5 (a constant image): PSNR depends on the image only, not on the noise."""

    def forward(self, y):
        return y - 0.5


def test_psnr_hand_values():
    x = torch.zeros(2, 1, 2, 2)
    y = x.clone()
    y[0] += 0.1  # MSE 0.01 -> 20 dB
    y[1, 0, 0, 0] = 0.2  # MSE 0.04 / 4 = 0.01 -> 20 dB
    np.testing.assert_allclose(psnr(image_true=x, image_test=y), [20.0, 20.0], atol=1e-12)
    assert psnr(image_true=torch.ones(1, 1, 2, 2), image_test=torch.full((1, 1, 2, 2), 0.5))[0] == pytest.approx(10 * np.log10(4))
    assert mse_to_psnr(1e-4) == pytest.approx(40.0)
    assert mse_to_psnr(0.0) == np.inf
    assert psnr(image_true=x[0], image_test=x[0])[0] == np.inf  # a single (C, H, W) image works too
    assert psnr(image_true=x * 255, image_test=y * 255, data_range=255.0)[0] == pytest.approx(20.0)


def test_psnr_refuses_positional_images():
    # scikit-image's peak_signal_noise_ratio takes (image_true, image_test); this psnr once took
    # (image_test, image_true). A positional call could mean either, so none is accepted.
    x, y = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.1)
    with pytest.raises(TypeError):
        psnr(x, y)
    with pytest.raises(TypeError):
        psnr(x, image_test=y)
    # the reference is the one range-checked: naming the images the wrong way round is caught when
    # the estimate leaves [0, 1]
    assert psnr(image_true=x, image_test=y - 0.2)[0] == pytest.approx(10 * np.log10(1 / 0.01))
    with pytest.raises(InputError, match="image_true has values"):
        psnr(image_true=y - 0.2, image_test=x)


def test_curve_grid_is_spec_7():
    assert CURVE_SIGMAS_255.shape == (15,)
    assert CURVE_SIGMAS_255[0] == pytest.approx(10**0.3) and CURVE_SIGMAS_255[-1] == pytest.approx(10**2.4)
    inp = sigma_to_input_psnr(default_sigmas())
    # SPEC §7: input PSNR 42.1 dB down to 0.1 dB
    assert inp[0] == pytest.approx(42.1, abs=0.05) and inp[-1] == pytest.approx(0.1, abs=0.05)


def test_tiling():
    x = torch.arange(3.0).view(3, 1, 1, 1) / 3
    t, src = tile_to(x, 7)
    assert src.tolist() == [0, 1, 2, 0, 1, 2, 0] and torch.equal(t[:, 0, 0, 0], x[src, 0, 0, 0])
    t, src = tile_to(torch.rand(10, 1, 2, 2), 4)
    assert src.tolist() == [0, 1, 2, 3]


def test_identity_denoiser_measures_the_input_psnr():
    x = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    sig = np.array([0.05, 0.2])
    v = denoise_psnr(Identity().eval(), x, sigmas=sig, n_draws=2)
    assert v.shape == (2, 2, 200)
    # mean MSE over many images is sigma²; PSNR of the mean MSE is the input PSNR
    mse = 10 ** (-v / 10)
    np.testing.assert_allclose(mse.mean(axis=(0, 2)), sig**2, rtol=0.02)


def test_noise_does_not_depend_on_batch_size_and_draws_differ():
    x = torch.rand(9, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    a = denoise_psnr(Identity().eval(), x, sigmas=[0.1], n_draws=2, batch_size=2)
    b = denoise_psnr(Identity().eval(), x, sigmas=[0.1], n_draws=2, batch_size=9)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
    c = denoise_psnr(Identity().eval(), x, sigmas=[0.1], n_draws=2, seed=1)
    assert not np.array_equal(a, c)


def test_clip_and_cap():
    x = torch.full((2, 1, 2, 2), 0.5)
    assert (denoise_psnr(Shrink().eval(), x, sigmas=[0.3]) == PSNR_CAP_DB).all()

    class Overshoot(torch.nn.Module):
        def forward(self, y):
            return y - 2.0  # denoised = 2

    ones = torch.ones(1, 1, 2, 2)
    assert denoise_psnr(Overshoot().eval(), ones, sigmas=[0.1], clip=True)[0, 0, 0] == PSNR_CAP_DB
    assert denoise_psnr(Overshoot().eval(), ones, sigmas=[0.1])[0, 0, 0] == pytest.approx(0.0)


def test_curve_averages_per_distinct_image_and_bootstraps_over_them():
    x = torch.tensor([0.2, 0.5, 0.9]).view(3, 1, 1, 1).expand(3, 1, 2, 2).clone()
    curve = psnr_curve(Shrink().eval(), x, n_images=7, sigmas=[0.1, 0.2], n_draws=2)
    # denoised = 0.5 whatever the noise: per-image PSNR is 10log10(1/(x-0.5)²), capped for x = 0.5
    want = np.array([10 * np.log10(1 / 0.09), PSNR_CAP_DB, 10 * np.log10(1 / 0.16)])
    np.testing.assert_allclose(curve.per_image[:, 0], want)
    # the mean is over the 7 tiled images (0,1,2,0,1,2,0)
    np.testing.assert_allclose(curve.mean, [want[[0, 1, 2, 0, 1, 2, 0]].mean()] * 2)
    assert curve.n_images == 7 and curve.n_distinct == 3 and curve.n_draws == 2
    assert (curve.ci_lo <= curve.per_image.mean(0) + 1e-9).all() and (curve.ci_hi >= curve.per_image.mean(0) - 1e-9).all()
    assert set(curve.to_dict()) >= {"sigmas", "mean", "ci_lo", "ci_hi", "input_psnr"}


def test_memorising_denoiser_has_a_large_gap_and_an_identity_has_none():
    g = torch.Generator().manual_seed(2)
    train, test = torch.rand(4, 1, 6, 6, generator=g), torch.rand(30, 1, 6, 6, generator=g)
    sig = default_sigmas()[::3]
    tr, te = train_test_curves(EmpiricalDenoiser(train), train, test, n_images=30, sigmas=sig, n_draws=2, n_boot=500)
    gap = curves_to_gap(tr, te, n_boot=500)
    assert gap.mean_gap > 20 and gap.mean_gap_ci[0] > 20
    assert (gap.gap_ci_lo <= gap.gap + 1e-9).all() and (gap.gap <= gap.gap_ci_hi + 1e-9).all()
    tr, te = train_test_curves(Identity().eval(), test[:15], test[15:], n_images=15, sigmas=sig, n_draws=2, n_boot=500)
    gap = curves_to_gap(tr, te, n_boot=500)
    assert abs(gap.mean_gap) < 0.5 and gap.mean_gap_ci[0] < 0 < gap.mean_gap_ci[1]
    assert gap.to_dict()["mean_gap"] == gap.mean_gap


def test_single_training_image_curve():
    curve = psnr_curve(Identity().eval(), torch.rand(1, 1, 4, 4), n_images=5, sigmas=[0.1], n_draws=2, n_boot=200)
    assert curve.n_distinct == 1 and curve.ci_lo[0] < curve.mean[0] < curve.ci_hi[0]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: psnr(image_true=torch.zeros(3, 1, 2, 2), image_test=torch.zeros(2, 1, 2, 2)), "equal shapes"),
        (lambda: psnr(image_true=torch.full((1, 1, 2, 2), 1.5), image_test=torch.zeros(1, 1, 2, 2)), "outside"),
        (lambda: psnr(image_true=torch.zeros(1, 1, 2, 2), image_test=torch.full((1, 1, 2, 2), float("nan"))), "NaN"),
        (lambda: psnr(image_true=torch.zeros(4), image_test=torch.zeros(4)), "images"),
        (lambda: denoise_psnr(Identity().eval(), torch.zeros(1, 1, 2, 2), sigmas=[0.0]), "sigmas"),
        (lambda: denoise_psnr(Identity().eval(), torch.zeros(1, 1, 2, 2), sigmas=[0.1], n_draws=0), "n_draws"),
        (lambda: denoise_psnr(torch.nn.BatchNorm2d(1), torch.zeros(1, 1, 2, 2), sigmas=[0.1]), "training mode"),
        (lambda: tile_to(torch.zeros(1, 1, 2, 2), 0), "n must be"),
        (lambda: psnr_to_curve(np.zeros((1, 2, 3)), np.arange(3), [0.1]), "values must be"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_gap_refuses_different_grids():
    x = torch.rand(3, 1, 2, 2)
    a = psnr_curve(Identity().eval(), x, n_images=3, sigmas=[0.1], n_draws=1, n_boot=100)
    b = psnr_curve(Identity().eval(), x, n_images=3, sigmas=[0.2], n_draws=1, n_boot=100)
    with pytest.raises(InputError, match="different sigma grids"):
        curves_to_gap(a, b)
