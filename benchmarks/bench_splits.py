"""Benchmarks of the splits: the split audit of 200,000 names must take <= 5 s, metadata
parsing included, as ``memgen split audit`` runs it; and making each protocol's split on the real
metadata. Run: ``.venv/bin/python -m pytest benchmarks/bench_splits.py``. Needs ../shared/celeba."""

from __future__ import annotations

import resource
import time
import tracemalloc

import numpy as np
import pytest

from studies.config import SplitConfig
from studies.data.audit import audit, read_group
from studies.data.celeba import default_meta_dir, read_metadata, write_order
from studies.data.splits import make_split

from timing import timed

META = default_meta_dir()
pytestmark = [pytest.mark.needs_celeba_meta, pytest.mark.skipif(META is None, reason="CelebA metadata folder not found")]

AUDIT_BUDGET_S = 5.0  # target: a 200,000-name audit takes <= 5 s


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    """Two text lists of 100,000 names each (A, B) from a seeded order of the real metadata."""
    meta = read_metadata(META)
    order = [meta.filenames[i] for i in np.random.default_rng(0).permutation(len(meta.filenames)).tolist()]
    folder = tmp_path_factory.mktemp("lists")
    write_order(folder / "a.txt", order[:100_000])
    write_order(folder / "b.txt", order[-100_000:])
    return folder / "a.txt", folder / "b.txt"


def _audit_from_files(a_path, b_path):
    names_a, names_b = read_group(a_path, "a"), read_group(b_path, "b")
    meta = read_metadata(META)
    return audit(names_a, names_b, meta, attribute="Eyeglasses")


def test_audit_200k_names_with_parsing(benchmark, lists):
    rep, wall = timed(benchmark, _audit_from_files, args=lists, rounds=3, warmup_rounds=0)
    assert rep["n_a"] + rep["n_b"] == 200_000 and rep["overlap_names"] == 0
    tracemalloc.start()
    _audit_from_files(*lists)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    benchmark.extra_info["peak_traced_MiB"] = round(peak / 2**20, 1)
    benchmark.extra_info["max_rss_MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    median = sorted(wall)[len(wall) // 2]
    assert median <= AUDIT_BUDGET_S, f"200,000-name audit took {median:.2f} s (median of 3), budget {AUDIT_BUDGET_S} s"


def test_audit_only_200k_names(benchmark, lists):
    """The audit itself, metadata already parsed (what the claim does once per split)."""
    meta = read_metadata(META)
    names_a, names_b = read_group(lists[0], "a"), read_group(lists[1], "b")
    rep = benchmark.pedantic(audit, args=(names_a, names_b, meta), kwargs={"attribute": "Male"}, rounds=3, iterations=1)
    assert rep["shared_identities"] > 0


@pytest.mark.parametrize("protocol", ["random", "eyeglasses", "male", "identity"])
def test_make_split_full_size(benchmark, protocol):
    meta = read_metadata(META)
    order = meta.filenames
    cfg = {
        "random": SplitConfig(protocol="random"),
        "eyeglasses": SplitConfig(protocol="attribute", attribute="Eyeglasses"),
        "male": SplitConfig(protocol="attribute", attribute="Male"),
        "identity": SplitConfig(protocol="identity"),
    }[protocol]
    t0 = time.perf_counter()
    split = benchmark.pedantic(make_split, args=(cfg, 98_117), kwargs={"names": order, "meta": meta}, rounds=3, iterations=1)
    assert split.n >= 13_193 and time.perf_counter() - t0 > 0
    benchmark.extra_info["n"] = split.n
