"""Sampler throughput: 256 seeds in one batch vs one seed at a time on the CPU.

Target: batched throughput >= 20x the one-seed-at-a-time throughput. The network is the smoke
profile's UNet (``studies.model.unet.UNet``, 2 blocks of width 16 at 16x16) when that module exists,
else a small bias-free conv net of similar cost. Every chain runs exactly ``STEPS`` steps (its
residual is bounded so that it neither converges nor diverges), so both sides do the same work.
One-at-a-time is measured on a subset of seeds and scaled per seed. Default size is short for CI;
MEMGEN_BENCH_FULL=1 runs more steps and more one-at-a-time seeds; MEMGEN_BENCH_THREADS sets the
torch threads (default 1: on a loaded 2-core box two threads make every small one-seed call wait on
thread synchronisation, which inflates the speed-up with an artefact).

Finding: on a CPU the 20x target is out of reach for any conv net that does real work per image.
Batching removes per-call overhead only; the smoke UNet costs 11 MFLOP per 16x16 image. The
benchmark measures a fp32 GEMM on the same thread in the same run: a batch running at that peak
would be peak / (one-seed FLOP rate) faster, 10.6x on the Xeon of 2026-12-01 (measured 5.4x with
channels_last weights), so 20x cannot be reached with fp32 arithmetic. The assertion is therefore a
floor (batching must pay, the per-seed generators must not spoil it); the measured ratio, the
ceiling and whether the 20x target was met go into ``extra_info``. The second benchmark isolates the
sampler's own per-seed cost with a denoiser that does no work.
"""

from __future__ import annotations

import os
import resource
import time

import pytest
import torch

from studies.config import ModelConfig
from studies.peak import gemm_flops_per_s
from studies.sample import MAX_T, sample
from studies.zoo import forward_macs

from timing import timed

FULL = os.environ.get("MEMGEN_BENCH_FULL") == "1"
N_SEEDS = 256
STEPS = 30 if FULL else 10
ONE_AT_A_TIME = 16 if FULL else 6
RES = 16
CFG = ModelConfig(blocks=2, width=16, channels=1)


class _StandIn(torch.nn.Module):
    """Bias-free conv net with the UNet's first and last stages, used only if the UNet is missing."""

    def __init__(self, width: int) -> None:
        super().__init__()
        c = width
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, c, 3, padding=1, bias=False), torch.nn.ReLU(),
            torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c, affine=False), torch.nn.ReLU(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(c, 2 * c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(2 * c, affine=False), torch.nn.ReLU(),
            torch.nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(2 * c, affine=False), torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(2 * c, c, 2, stride=2, bias=False),
            torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c, affine=False), torch.nn.ReLU(),
            torch.nn.Conv2d(c, 1, 3, padding=1, bias=False),
        )

    def forward(self, y):
        return self.body(y)


class _Bounded(torch.nn.Module):
    """Residual 0.3·tanh(net(y)) + 0.1: sigma_t stays in (0.1, 0.4), so every chain runs max_T steps."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, y):
        return 0.3 * torch.tanh(self.net(y)) + 0.1


def _network() -> tuple[torch.nn.Module, str]:
    torch.manual_seed(0)
    try:
        from studies.model.unet import UNet

        # channels_last, as studies.model.checkpoint.load_checkpoint returns the zoo's models
        return UNet(CFG).to(memory_format=torch.channels_last).eval(), f"UNet {CFG.blocks} blocks width {CFG.width}"
    except ImportError:
        return _StandIn(CFG.width).eval(), f"stand-in conv net width {CFG.width} (studies.model.unet missing)"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def den():
    torch.set_num_threads(int(os.environ.get("MEMGEN_BENCH_THREADS", "1")))
    net, name = _network()
    return _Bounded(net).eval(), name


OPTS = dict(shape=(1, RES, RES), mean=0.5, h0=0.01, beta=0.1, sigma_0=1.0, sigma_L=1e-6, max_T=STEPS)


def test_batched_sampling_throughput(benchmark, den):
    net, name = den
    sample(net, [0, 1], **OPTS)  # warm-up (allocator, kernel selection)
    t0 = time.perf_counter()
    for s in range(ONE_AT_A_TIME):
        one = sample(net, [s], **OPTS)
        assert one.status == (MAX_T,)
    single_per_seed = (time.perf_counter() - t0) / ONE_AT_A_TIME

    res, wall = timed(benchmark, lambda: sample(net, range(N_SEEDS), **OPTS))
    assert res.status == (MAX_T,) * N_SEEDS
    batched_per_seed = wall[0] / N_SEEDS
    speedup = single_per_seed / batched_per_seed
    benchmark.extra_info.update({
        "network": name, "seeds": N_SEEDS, "steps": STEPS, "resolution": RES, "threads": torch.get_num_threads(),
        "one_seed_s_per_seed": single_per_seed, "batched_s_per_seed": batched_per_seed,
        "speedup": speedup, "peak_rss_mib": _peak_rss_mib(),
    })
    print(f"\n{name}, {STEPS} steps at {RES}x{RES}: one seed at a time {single_per_seed * 1e3:.1f} ms/seed; "
          f"{N_SEEDS} batched {batched_per_seed * 1e3:.2f} ms/seed; speedup {speedup:.1f}x; peak RSS {_peak_rss_mib():.0f} MiB")
    benchmark.extra_info["target_20x_met"] = speedup >= 20
    # The ceiling of batching: a batch can at best run at the fp32 GEMM peak; the one-seed path's
    # FLOP rate is what it is compared with. Steps + 1: the final denoising step of every chain.
    flops_per_seed = 2.0 * forward_macs(CFG, RES) * (STEPS + 1)
    peak = gemm_flops_per_s(torch.float32)
    ceiling = peak / (flops_per_seed / single_per_seed)
    benchmark.extra_info.update({
        "one_seed_gflops": flops_per_seed / single_per_seed / 1e9, "batched_gflops": flops_per_seed / batched_per_seed / 1e9,
        "peak_gflops": peak / 1e9, "ceiling_speedup": ceiling,
    })
    print(f"one seed at a time {flops_per_seed / single_per_seed / 1e9:.0f} GFLOP/s, batched {flops_per_seed / batched_per_seed / 1e9:.0f} GFLOP/s "
          f"of a {peak / 1e9:.0f} GFLOP/s fp32 GEMM ({torch.get_num_threads()} thread(s)): batching can give at most {ceiling:.1f}x")
    assert speedup >= 2, f"batched sampling only {speedup:.1f}x faster per seed than one seed at a time"


class _NoWork(torch.nn.Module):
    def forward(self, y):
        return 0.3 * torch.tanh(y) + 0.1


def test_sampler_overhead_per_seed(benchmark):
    """The sampler's own cost (generators, hashing, bookkeeping) per seed and step, batched vs one seed."""
    net = _NoWork().eval()
    opts = {**OPTS, "max_T": 100}
    sample(net, [0], **opts)
    t0 = time.perf_counter()
    for s in range(ONE_AT_A_TIME):
        sample(net, [s], **opts)
    single = (time.perf_counter() - t0) / ONE_AT_A_TIME / 100
    _, wall = timed(benchmark, lambda: sample(net, range(N_SEEDS), **opts))
    batched = wall[0] / N_SEEDS / 100
    benchmark.extra_info.update({"one_seed_s_per_step": single, "batched_s_per_seed_step": batched, "speedup": single / batched})
    print(f"\nsampler overhead: one seed {single * 1e6:.0f} us/step; batched {batched * 1e6:.1f} us/seed/step; {single / batched:.1f}x")
    # a network forward of one small image costs ~500 us: the sampler must stay well below that
    assert batched < 50e-6
