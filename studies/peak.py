"""The machine's own arithmetic ceiling, measured in the same run as a benchmark or device check.

A speed-up target against a baseline that already runs near the machine's peak cannot be met by
any rewrite with the same arithmetic. These helpers measure the ceiling (a large GEMM, the best case
of the BLAS/oneDNN kernels the convolutions use) so the benchmarks can record how close a loop
runs to it and which ratio is reachable at all: ceiling / baseline FLOP rate."""

from __future__ import annotations

import time

import torch


def gemm_flops_per_s(dtype: torch.dtype = torch.float32, n: int = 1024, seconds: float = 0.5,
                     device: torch.device | str = "cpu") -> float:
    """FLOP/s of an n x n x n matrix product on ``device`` (CPU: at the current torch thread count),
    best of the runs that fit in ``seconds``: the ceiling, not the average, on a shared machine."""
    device = torch.device(device)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.rand(n, n, generator=g).to(device=device, dtype=dtype)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    a @ b  # warm-up: kernel selection, page faults
    sync()
    best, spent = float("inf"), 0.0
    while spent < seconds or best == float("inf"):
        t = time.perf_counter()
        a @ b
        sync()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
    return 2.0 * n**3 / best


def roofline(flops_per_image: float, images_per_s: float, baseline_images_per_s: float, peak: float) -> dict:
    """Achieved FLOP rates, their share of ``peak``, and the highest speed-up over the baseline that
    the same arithmetic could reach on this machine (peak / baseline rate)."""
    ours, base = flops_per_image * images_per_s, flops_per_image * baseline_images_per_s
    return {
        "flops_per_image": flops_per_image,
        "gflops": ours / 1e9,
        "baseline_gflops": base / 1e9,
        "peak_gflops": peak / 1e9,
        "utilisation": ours / peak,
        "baseline_utilisation": base / peak,
        "ceiling_ratio": peak / base,
    }
