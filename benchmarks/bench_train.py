"""Training throughput (images/s) of memgen's loop against a baseline written like K24's original
one, with identical math: fp32 NCHW, a torch DataLoader over the tiled tensor, noise allocated per
batch with ``randn_like``, and K24's ``BF_batchNorm`` (``Tensor.var`` then divide, multiply).
Two models: the smoke UNet (16x16, 2 blocks, width 16, batch 128) and the 7.6M-parameter UNet at
40x40 (3 blocks, width 64; batch 32 on the CPU to keep the benchmark short). Run with
``.venv/bin/python -m pytest benchmarks/bench_train.py``; figures go to benchmarks/RESULTS.md."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from studies.config import ModelConfig, TrainConfig
from studies.model.unet import BiasFreeBatchNorm, UNet
from studies.peak import gemm_flops_per_s, roofline
from studies.train import cpu_bf16_supported, memory_format_for, train_step
from studies.zoo import training_flops


CASES = {
    "smoke": dict(cfg=ModelConfig(blocks=2, width=16), side=16, batch=128, n=1000, steps=30),
    "unet7.6M-40px": dict(cfg=ModelConfig(blocks=3, width=64), side=40, batch=32, n=200, steps=6),
}


class K24Norm(BiasFreeBatchNorm):
    """K24's BF_batchNorm.forward, verbatim in its arithmetic."""

    def forward(self, x):
        sd_x = torch.sqrt(x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + 1e-05)
        if self.training:
            x = x / sd_x.expand_as(x)
            with torch.no_grad():
                self.running_sd.copy_((1 - 0.1) * self.running_sd.data + 0.1 * sd_x)
            return x * self.gammas.expand_as(x)
        return x / self.running_sd.expand_as(x) * self.gammas.expand_as(x)


def _baseline_net(cfg):
    net = UNet(cfg, generator=torch.Generator().manual_seed(0))
    for mod in net.modules():
        if isinstance(mod, BiasFreeBatchNorm):
            mod.__class__ = K24Norm
    return net


def baseline_steps(case, steps):
    """K24-style loop: DataLoader(TensorDataset(tiled)), randn_like noise per batch."""
    torch.manual_seed(0)
    data = torch.rand(case["n"], 1, case["side"], case["side"], generator=torch.Generator().manual_seed(1))
    tiled = data.repeat(4, 1, 1, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(tiled), batch_size=case["batch"], shuffle=True)
    net = _baseline_net(case["cfg"]).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    criterion = nn.MSELoss(reduction="sum")
    done, seen = 0, 0
    while done < steps:
        for (im,) in loader:
            noise_level = (torch.rand(im.shape[0], 1, 1, 1)) ** 2
            noise = torch.randn_like(im) * noise_level
            output = net(im + noise)
            loss = criterion(output, noise) / im.shape[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
            seen += im.shape[0]
            if done == steps:
                break
    return seen


def memgen_steps(case, steps, *, bf16=False):
    """memgen's inner loop (studies.train.train_step): preloaded tensor, permutation index,
    one-call noise, channels_last, the hand-written norm backward; ``bf16`` adds bf16 autocast
    (TrainConfig.bf16 on a CPU with native bf16: not the baseline's arithmetic)."""
    g = torch.Generator().manual_seed(0)
    data = torch.rand(case["n"], 1, case["side"], case["side"], generator=torch.Generator().manual_seed(1))
    sched = torch.arange(case["n"]).repeat(4)
    fmt = memory_format_for(TrainConfig(), torch.device("cpu"))
    net = UNet(case["cfg"], generator=torch.Generator().manual_seed(0)).train().to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    bsz, seen, done = case["batch"], 0, 0
    loss_sum = torch.zeros(())
    while done < steps:
        order = sched[torch.randperm(len(sched), generator=g)]
        for s in range(0, len(order), bsz):
            x = data[order[s : s + bsz]]
            loss_sum += train_step(net, opt, x, g, "quadratic", memory_format=fmt, autocast=bf16)
            done += 1
            seen += x.shape[0]
            if done == steps:
                break
    return seen


def _rate(fn, case):
    fn(case, 2)  # warm-up: allocator, oneDNN primitives
    t = time.perf_counter()
    seen = fn(case, case["steps"])
    return seen / (time.perf_counter() - t)


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the zoo trains one model per core
    yield
    torch.set_num_threads(old)


def test_norm_math_is_identical():
    torch.manual_seed(0)
    ours = BiasFreeBatchNorm(8)
    theirs = K24Norm(8)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(16, 8, 6, 6) + 0.5
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.running_sd, theirs.running_sd)


@pytest.mark.parametrize("name", list(CASES))
def test_train_throughput(benchmark, name):
    case = CASES[name]
    base = _rate(baseline_steps, case)
    ours = benchmark.pedantic(lambda: _rate(memgen_steps, case), rounds=1, iterations=1)
    ratio = ours / base
    # The ceiling: fp32 GEMM FLOP/s on this thread, measured now. No loop with the baseline's fp32
    # arithmetic can beat the baseline by more than peak / (baseline FLOP rate).
    roof = roofline(training_flops(case["cfg"], case["side"], 1), ours, base, gemm_flops_per_s(torch.float32))
    benchmark.extra_info.update({"images_per_s": ours, "baseline_images_per_s": base, "ratio": ratio,
                                 "target_1_5x_met": ratio >= 1.5, **roof})
    print(f"\n{name}: memgen {ours:.0f} img/s, baseline {base:.0f} img/s, ratio {ratio:.2f}x; "
          f"{roof['gflops']:.0f} vs {roof['baseline_gflops']:.0f} GFLOP/s of a {roof['peak_gflops']:.0f} GFLOP/s fp32 GEMM "
          f"(utilisation {roof['utilisation']:.0%}); highest ratio the fp32 arithmetic allows: {roof['ceiling_ratio']:.2f}x")
    # One round each on a shared 2-core machine: the two timings carry ~10% noise, so the guard is
    # "not slower beyond noise" (0.9). The 1.5x target is tracked in benchmarks/RESULTS.md:
    # met for the smoke UNet; for the 7.6M UNet the baseline already runs near the fp32 GEMM peak.
    assert ratio > 0.9, f"memgen loop slower than the baseline: {ours:.0f} vs {base:.0f} images/s (ratio {ratio:.2f})"


@pytest.mark.skipif(not cpu_bf16_supported(), reason="this CPU has no native bf16 (AVX512-BF16 / AMX)")
def test_train_throughput_bf16_cpu(benchmark):
    """TrainConfig.bf16 on the CPU: the 7.6M UNet with bf16 autocast against the fp32 baseline. A
    different arithmetic (bf16 products), so it does not count for the identical-math target; it is
    the fast path for researchers training paper-scale models on AMX CPUs."""
    case = CASES["unet7.6M-40px"]
    base = _rate(baseline_steps, case)
    ours = benchmark.pedantic(lambda: _rate(lambda c, s: memgen_steps(c, s, bf16=True), case), rounds=1, iterations=1)
    ratio = ours / base
    roof = roofline(training_flops(case["cfg"], case["side"], 1), ours, base, gemm_flops_per_s(torch.bfloat16))
    benchmark.extra_info.update({"images_per_s": ours, "baseline_images_per_s": base, "ratio": ratio, **roof})
    print(f"\nunet7.6M-40px bf16 autocast: {ours:.0f} img/s vs fp32 baseline {base:.0f} img/s, ratio {ratio:.2f}x; "
          f"{roof['gflops']:.0f} GFLOP/s of a {roof['peak_gflops']:.0f} GFLOP/s bf16 GEMM ({roof['utilisation']:.0%})")
    assert ratio > 1.0, f"bf16 autocast on this CPU is not faster than fp32: {ours:.0f} vs {base:.0f} images/s"
