"""Dedup on real images: Fashion-MNIST's 60,000 training images at 28x28 under SPEC §2's literal
rule (kernel 28 // 20 = 1: 784-d comparison), the exact engine against T25's published blockwise
listing (b = 5,000), in one run. Target (recorded in benchmarks/RESULTS.md, not asserted: the shared
box's load makes timings provisional): exact >= 5x faster, same removed set. Both are marked slow
(minutes on two cores); they skip without the data (scripts/setup.sh installs it)."""

import functools

import numpy as np
import pytest
import torch

from studies.data import fashion
from studies.data.dedup import remove_duplicates, witness
from studies.data.dedup_measure import measure

torch.set_num_threads(2)
HAVE = all((fashion.SYSTEM_DIR / n).is_file() for n in fashion.REGISTERED)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not HAVE, reason="Fashion-MNIST not installed (scripts/setup.sh)")]
_RESULTS: dict = {}


@functools.lru_cache(maxsize=1)
def _train() -> np.ndarray:
    return fashion.to_float(fashion.load_fashion().train_images)


@pytest.mark.parametrize("method", ["exact", "blockwise_published"])
def test_dedup_fashion_train(benchmark, method):
    x = _train()
    out = {}

    def call():
        out["m"] = measure(lambda: remove_duplicates(x, method=method, block=5000))
        return out["m"].value

    removed = benchmark.pedantic(call, rounds=1, iterations=1)
    m = out["m"]
    _RESULTS[method] = (removed, m.seconds)
    benchmark.extra_info.update(n=len(x), method=method, pool="literal (kernel 1, 784-d)", n_removed=int(removed.size),
                                seconds=round(m.seconds, 2), peak_bytes_above_input=int(m.peak_bytes), threads=torch.get_num_threads(),
                                # the exact engine runs on one thread whatever the caller's count (studies.data.dedup._one_thread)
                                engine_threads=1 if method == "exact" else torch.get_num_threads())
    if len(_RESULTS) == 2:
        (ra, ta), (rb, tb) = _RESULTS["exact"], _RESULTS["blockwise_published"]
        diff = np.setxor1d(ra, rb)
        benchmark.extra_info.update(speedup_exact_vs_published=round(tb / ta, 2), identical_removed_set=bool(diff.size == 0),
                                    differ=[[int(i), witness(x, int(i))] for i in diff[:10]])
        print(f"\nfashion dedup: exact {ta:.1f} s, blockwise_published {tb:.1f} s, speed-up {tb / ta:.1f}x; "
              f"removed {ra.size} / {rb.size}, identical: {diff.size == 0}")
