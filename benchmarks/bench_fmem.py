"""F_mem (Gu et al.'s nearest / second-nearest L2 ratio below 1/3, with Bonnaire et al.'s 1,000-resample
bootstrap CI) of 1,000 samples against 100,000 training images at 40x40, on 2 threads.

Target (recorded in benchmarks/RESULTS.md, not asserted, because the shared box's load makes timings
provisional): <= 30 s on 2 cores, the celeba40 profile's largest training set. Peak memory above the
inputs is measured (resident set, studies.data.dedup_measure) and recorded in extra_info; the search
is bounded by ``neighbours.DEFAULT_MAX_BYTES`` (256 MiB) whatever the training set's size.

Known answer: 500 samples are copies of training images with a little noise (memorised), 500 are
fresh noise images (not), so F_mem must be 0.5 exactly."""

import functools

import pytest
import torch

from studies.data.dedup_measure import measure
from studies.metrics.criteria import memorised_fraction_ci

torch.set_num_threads(2)
N_TRAIN, N_SAMPLES, RES = 100_000, 1_000, 40


@functools.lru_cache(maxsize=1)
def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    train = torch.rand(N_TRAIN, 1, RES, RES, generator=g)
    copies = train[torch.randperm(N_TRAIN, generator=g)[: N_SAMPLES // 2]] + 0.01 * torch.randn(N_SAMPLES // 2, 1, RES, RES, generator=g)
    fresh = torch.rand(N_SAMPLES - N_SAMPLES // 2, 1, RES, RES, generator=g)
    return torch.cat([copies, fresh]), train


def test_fmem_1000_samples_100000_training_images_40x40(benchmark):
    samples, train = _data()
    out = {}

    def call():
        out["m"] = measure(lambda: memorised_fraction_ci(samples, train, n_boot=1000, seed=0))
        return out["m"].value

    est = benchmark.pedantic(call, rounds=1, iterations=1)
    m = out["m"]
    benchmark.extra_info.update(n_train=N_TRAIN, n_samples=N_SAMPLES, resolution=RES, seconds=round(m.seconds, 3),
                                peak_bytes_above_input=int(m.peak_bytes), input_bytes=int(train.nbytes + samples.nbytes),
                                threads=torch.get_num_threads(), fmem=est.value, ci=list(est.ci))
    assert est.value == pytest.approx(0.5)
    assert est.ci[0] < 0.5 < est.ci[1]
