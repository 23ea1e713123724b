"""Exact LPIPS nearest neighbours vs brute-force pairwise ``lpips`` calls.

Target: 100 samples over 10,000 training images at 40x40 in <= 5 minutes on 2 cores, >= 10x
faster than brute force. Brute force (one lpips call per pair) is measured on a subset and
extrapolated linearly in the number of pairs. Default size is short for CI; MEMGEN_BENCH_FULL=1 runs
the full target size. The CI size has 40 queries (10 until 2026-12-03): the exact search pays one VGG
pass per training image however many queries there are, brute force one lpips call per pair, so with
10 queries the speed-up is bounded near 10x whatever the training set (5.5x on a 2-core Intel Xeon box,
2026-12-03, where the fresh-clone CI of d6e763b failed the >= 10x assertion); 40 queries cost the same
~6 s and measured 35x there."""

from __future__ import annotations

import os
import resource
import time

import pytest
import torch

from studies.metrics.lpips_nn import brute_force_nearest, exact_nearest
from studies.metrics.perceptual import LPIPS

from timing import timed

FULL = os.environ.get("MEMGEN_BENCH_FULL") == "1"
N_QUERIES, N_TRAIN = (100, 10_000) if FULL else (40, 500)
BRUTE_QUERIES, BRUTE_TRAIN = 2, 100
SIZE = 40


@pytest.fixture(scope="module")
def metric():
    torch.set_num_threads(2)
    # timing does not depend on whether the backbone weights are genuine
    return LPIPS("vgg", allow_random=True, batch_size=64)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_exact_lpips_nearest_vs_brute_force(benchmark, metric):
    g = torch.Generator().manual_seed(0)
    train = torch.rand(N_TRAIN, 1, SIZE, SIZE, generator=g)
    queries = torch.rand(N_QUERIES, 1, SIZE, SIZE, generator=g)

    t0 = time.perf_counter()
    brute_force_nearest(metric, queries[:BRUTE_QUERIES], train[:BRUTE_TRAIN])
    per_pair = (time.perf_counter() - t0) / (BRUTE_QUERIES * BRUTE_TRAIN)
    brute_extrapolated = per_pair * N_QUERIES * N_TRAIN

    rss_before = _peak_rss_mib()
    result, wall = timed(benchmark, lambda: exact_nearest(metric, queries, train, k=1, block=128))
    exact_s = wall[0]
    speedup = brute_extrapolated / exact_s
    benchmark.extra_info.update({
        "n_queries": N_QUERIES, "n_train": N_TRAIN, "resolution": SIZE, "threads": torch.get_num_threads(),
        "exact_s": exact_s, "brute_force_per_pair_s": per_pair,
        "brute_force_extrapolated_s": brute_extrapolated, "brute_force_measured_pairs": BRUTE_QUERIES * BRUTE_TRAIN,
        "speedup": speedup, "peak_rss_mib": _peak_rss_mib(), "peak_rss_growth_mib": _peak_rss_mib() - rss_before,
        "certified_fraction": float(result.certified.mean()),
    })
    print(f"\nexact LPIPS NN {N_QUERIES}x{N_TRAIN}@{SIZE}: {exact_s:.1f}s; brute force extrapolated "
          f"{brute_extrapolated:.0f}s ({per_pair * 1e3:.2f} ms/pair on {BRUTE_QUERIES * BRUTE_TRAIN} pairs); "
          f"speedup {speedup:.0f}x; peak RSS {_peak_rss_mib():.0f} MiB")
    assert result.certified.all()
    assert speedup >= 10, f"exact search only {speedup:.1f}x faster than brute force"
    if FULL:
        assert exact_s <= 300, f"{exact_s:.0f}s > 5 min for {N_QUERIES} samples over {N_TRAIN} images"
