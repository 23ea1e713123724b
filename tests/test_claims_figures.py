"""The report's figures on stand-in evaluations: the same-noise grid scales pixels up by whole blocks
(nearest neighbour, no smoothing) and puts each sample beside its nearest training image; the
K24 Fig. 2 analogue and the PSNR curves render one series per measure / N."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studies.claims.core import _upscale, psnr_curves_figure, same_noise_grid_figure, similarity_vs_n_figure
from studies.claims.recorder import png_bytes


def _ev(n, rng, seeds=8):
    sig = np.logspace(0.3, 2.4, 15) / 255
    ip = list(10 * np.log10(1 / sig**2))

    def rec(off):
        gap = 2.0 / np.log10(n + 1)
        return {"train": {"input_psnr": ip, "mean": [v * 0.5 + 20 + off for v in ip]},
                "test": {"input_psnr": ip, "mean": [v * 0.5 + 18 + off for v in ip]},
                "gap": {"mean_gap": gap, "mean_gap_ci": [gap - 0.5, gap + 0.5]}}

    ev = SimpleNamespace(
        n=n, protocol="random", samples_a=rng.random((seeds, 1, 16, 16)), samples_b=rng.random((seeds, 1, 16, 16)),
        ab=rng.random(seeds), null=rng.random(seeds * (seeds - 1)) * 0.5, nn_a=rng.random(seeds), nn_b=rng.random(seeds),
        ref_a=rng.random(seeds), ref_b=rng.random(seeds), nn_index_a=rng.integers(0, 10, (seeds, 3)),
        nn_index_b=rng.integers(0, 10, (seeds, 3)), seeds=list(range(seeds)), summary={"psnr": {"A": rec(0), "B": rec(0.1)}},
    )
    ev.gap = lambda g: ev.summary["psnr"][g]["gap"]
    ev.mean_gap = lambda: float(np.mean([ev.gap(g)["mean_gap"] for g in "AB"]))
    return ev


def test_upscale_repeats_each_pixel_as_a_block():
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2) / 4
    up = _upscale(x, 3)
    assert up.shape == (6, 6, 3)
    assert np.array_equal(up[:3, :3, 0], np.full((3, 3), 0.0)) and np.array_equal(up[3:, 3:, 1], np.full((3, 3), 0.75))


@pytest.mark.parametrize("with_nearest", [True, False])
def test_same_noise_grid_has_a_block_per_pair(with_nearest):
    rng = np.random.default_rng(0)
    evals = [_ev(n, rng) for n in (10, 300)]
    train = torch.rand(10, 1, 16, 16)
    fig = same_noise_grid_figure(evals, "random", seeds=4, nearest=[(train, train)] * 2 if with_nearest else None)
    axes = fig.get_axes()
    assert len(axes) == 2
    block = axes[0].get_images()[0].get_array()
    side = 16 * 4  # 16x16 images shown as 64x64 blocks
    assert block.shape[0] == 2 * side + 4  # A above B
    assert block.shape[1] >= 4 * side * (2 if with_nearest else 1)
    assert axes[0].get_images()[0].get_interpolation() == "nearest"
    if with_nearest:  # the image right of seed 0's sample of A is A's nearest training image, pixel for pixel
        j = int(evals[0].nn_index_a[0, 0])
        shown = block[:side, side + 2: 2 * side + 2, 0]
        assert np.allclose(shown[::4, ::4], train[j, 0].numpy(), atol=1e-6)
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_similarity_and_psnr_figures_have_one_series_per_measure_and_n():
    rng = np.random.default_rng(1)
    evals = [_ev(n, rng) for n in (10, 300, 1000)]
    fig = similarity_vs_n_figure(evals, "random")
    assert len(fig.get_axes()[0].containers) == 4  # same-seed, different-seed, nearest training, held-out reference
    fig2 = psnr_curves_figure(evals, "random")
    assert len(fig2.get_axes()[0].get_lines()) == 2 * 3 + 1  # train and test per N, and the diagonal
    assert png_bytes(fig).startswith(b"\x89PNG") and png_bytes(fig2).startswith(b"\x89PNG")
