"""Blocked top-k nearest-neighbour search: 1,000 samples against 100,000 training images
at 40x40 in <= 30 s on 2 cores, memory bounded by ``max_bytes``, plus PSNR-curve and similarity
throughput. The default size is short for CI (and the 30 s budget is then scaled by the number of
query-training pairs, plus 2 s); MEMGEN_BENCH_FULL=1 runs the full target size.

The training images are smooth random "face-like" arrays (a low-resolution random field upsampled
bicubically, plus a common oval), so that correlations spread like those of faces rather than
sitting at zero."""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studies.metrics.neighbours import topk
from studies.metrics.psnr import psnr_curve
from studies.metrics.similarity import pairwise_correlation

from timing import timed

FULL = os.environ.get("MEMGEN_BENCH_FULL") == "1"
N_QUERIES, N_TRAIN = (1000, 100_000) if FULL else (200, 10_000)
SIZE = 40
# the CI size gets the target scaled by its number of pairs plus 2 s for fixed costs (first-call
# warm-up, the exact rescoring) that do not shrink with it
BUDGET_S = 30.0 if FULL else 30.0 * (N_QUERIES * N_TRAIN) / (1000 * 100_000) + 2.0
MAX_BYTES = 256 * 2**20


def _faces(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 1, SIZE, SIZE)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, SIZE), torch.linspace(-1, 1, SIZE), indexing="ij")
    oval = ((xx / 0.7) ** 2 + (yy / 0.9) ** 2 < 1).float()
    for lo in range(0, n, 10_000):
        hi = min(n, lo + 10_000)
        field = F.interpolate(torch.rand(hi - lo, 1, 6, 6, generator=g), size=(SIZE, SIZE), mode="bicubic", align_corners=False)
        out[lo:hi] = (0.25 + 0.4 * oval + 0.3 * field).clamp(0, 1)
    return out


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(2)
    train = _faces(N_TRAIN, 0).numpy()
    # samples: noisy copies of some training images and fresh faces
    queries = _faces(N_QUERIES, 1)
    queries[::4] = torch.from_numpy(train[: len(queries[::4]) * 7 : 7]) + 0.02 * torch.randn(len(queries[::4]), 1, SIZE, SIZE)
    return queries, train


@pytest.mark.parametrize("metric", ["correlation", "l2"])
def test_topk_search(benchmark, data, metric):
    queries, train = data
    rss_before = _peak_rss_mib()
    res, wall = timed(benchmark, lambda: topk(queries, train, k=10, metric=metric, max_bytes=MAX_BYTES))
    seconds = wall[0]
    # the planted copies are found
    planted = res.indices[::4, 0]
    assert (planted == np.arange(0, len(planted) * 7, 7)).mean() > 0.99
    growth = _peak_rss_mib() - rss_before
    benchmark.extra_info.update({
        "n_queries": N_QUERIES, "n_train": N_TRAIN, "resolution": SIZE, "k": 10, "metric": metric,
        "threads": torch.get_num_threads(), "seconds": seconds, "budget_s": BUDGET_S,
        "max_bytes_mib": MAX_BYTES / 2**20, "peak_rss_mib": _peak_rss_mib(), "peak_rss_growth_mib": growth,
        "train_array_mib": train.nbytes / 2**20,
    })
    print(f"\ntopk {metric} {N_QUERIES}x{N_TRAIN}@{SIZE}, k=10: {seconds:.1f}s (budget {BUDGET_S:.0f}s); "
          f"peak RSS {_peak_rss_mib():.0f} MiB (+{growth:.0f} MiB over the data, max_bytes {MAX_BYTES / 2**20:.0f} MiB)")
    assert seconds <= BUDGET_S


def test_pairwise_correlation_of_seeds(benchmark):
    """A/B null matrix for 256 seeds at 40x40."""
    a, b = _faces(256, 2), _faces(256, 3)
    out = benchmark(pairwise_correlation, a, b)
    assert out.shape == (256, 256)


def test_psnr_curve_300_images(benchmark):
    """Full SPEC §7 curve (15 sigmas, 3 draws, 300 images) with a network that does no work: the
    metric's own cost, which a real denoiser adds to."""

    class Identity(torch.nn.Module):
        def forward(self, y):
            return torch.zeros_like(y)

    x = _faces(300, 4)
    curve = benchmark.pedantic(lambda: psnr_curve(Identity().eval(), x, n_draws=3, n_boot=2000), rounds=1, iterations=1)
    assert curve.mean.shape == (15,)
