"""Decision rules of studies.data.dedup on hand-built cases, bad input, and exact == dense (property)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from studies.data import dedup, fashion
from studies.data.dedup import METHODS, cross_duplicates, remove_duplicates
from studies.data.dedup_cases import dedup_cases
from studies.data.dedup_facelike import facelike
from studies.errors import InputError

torch.set_num_threads(1)


def _random(n, c=1, res=20, seed=0):
    return np.random.default_rng(seed).random((n, c, res, res), dtype=np.float32)


def test_identical_pair_published_listing_keeps_both_with_b1():
    x = _random(2)
    x[1] = x[0]
    assert remove_duplicates(x, method="dense").tolist() == [1]
    assert remove_duplicates(x, method="exact").tolist() == [1]
    assert remove_duplicates(x, method="blockwise_repository", block=1).tolist() == [1]
    # local indices 0 == 0 in the off-diagonal block: the listing skips the real pair (SPEC §2)
    assert remove_duplicates(x, method="blockwise_published", block=1).tolist() == []
    assert remove_duplicates(x, method="blockwise_published", block=2).tolist() == [1]


def test_anticorrelated_pair_counts_and_later_index_goes():
    x = _random(4, seed=1)
    x[3] = 1.0 - x[1]
    for m in METHODS:
        assert remove_duplicates(x, method=m, block=4).tolist() == [3], m
    # 1 and 3 = 1 + 1·b share the local index 1 when b = 2: the listing misses them
    assert remove_duplicates(x, method="blockwise_published", block=2).tolist() == []


def test_chain_removes_every_later_member():
    # b = a + small change, c = b + small change: a~b, b~c, a !~ c; dense removes b and c
    rng = np.random.default_rng(2)
    base = rng.normal(size=(3, 1, 20, 20))
    a = base[0]
    d1 = base[1] - (base[1] * a).sum() / (a * a).sum() * a
    b = a + 0.26 * np.linalg.norm(a) / np.linalg.norm(d1) * d1
    d2 = base[2] - (base[2] * b).sum() / (b * b).sum() * b
    c = b + 0.26 * np.linalg.norm(b) / np.linalg.norm(d2) * d2
    x = (0.5 + 0.05 * np.stack([a, b, c]) / np.abs(base).max()).astype(np.float32)
    D = dedup.features(torch.from_numpy(x)).double()
    C = (D @ D.T).numpy()
    assert C[0, 1] > 0.95 and C[1, 2] > 0.95 and C[0, 2] < 0.95
    for m in METHODS:
        assert remove_duplicates(x, method=m).tolist() == [1, 2], m


def test_constant_images_have_zero_features_and_stay():
    x = _random(4, seed=3)
    x[1] = 0.0
    x[2] = 0.0
    D = dedup.features(torch.from_numpy(x))
    assert float(D[1].abs().max()) == 0.0
    assert remove_duplicates(x, method="dense").tolist() == []
    assert remove_duplicates(x, method="exact").tolist() == []


def test_colour_per_channel_mean_is_the_difference_between_dense_and_the_listings():
    x = _random(3, c=3, seed=4)
    x[2] = x[0] + np.array([0.6, 0.0, -0.4], dtype=np.float32)[:, None, None]
    assert remove_duplicates(x, method="dense").tolist() == [2]
    assert remove_duplicates(x, method="exact").tolist() == [2]
    assert remove_duplicates(x, method="blockwise_repository").tolist() == []


def test_pooling_uses_h_over_20_kernel():
    x = _random(3, res=40, seed=5)
    x[2] = np.repeat(np.repeat(dedup.pooled(torch.from_numpy(x[:1])).numpy(), 2, 2), 2, 3)[0]
    assert remove_duplicates(x, method="exact").tolist() == [2]


def test_accepts_tensor_and_returns_sorted_int64():
    x = torch.from_numpy(_random(5, seed=6))
    x[4] = x[0]
    x[3] = x[0]
    out = remove_duplicates(x, method="exact")
    assert out.dtype == np.int64 and out.tolist() == [3, 4]


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (np.zeros((0, 1, 20, 20), np.float32), {}, "empty"),
        (np.zeros((1, 1, 20, 20), np.float32), {}, "single image"),
        (np.zeros((2, 20, 20), np.float32), {}, "4 dimensions"),
        (np.zeros((2, 1, 10, 10), np.float32), {}, "smaller than the 20x20"),
        (np.full((2, 1, 20, 20), np.nan, np.float32), {}, "NaN or inf"),
        (np.zeros((2, 1, 20, 20), np.float32), {"threshold": 1.0}, "threshold"),
        (np.zeros((2, 1, 20, 20), np.float32), {"threshold": 0.0}, "threshold"),
        (np.zeros((2, 1, 20, 20), np.float32), {"block": 0}, "block"),
        (np.zeros((2, 1, 20, 20), np.float32), {"method": "fast"}, "unknown"),
        ([[1.0]], {}, "numpy array or torch tensor"),
    ],
)
def test_bad_input_is_named(images, kwargs, message):
    with pytest.raises(InputError, match=message):
        remove_duplicates(images, **kwargs)


def test_inf_names_the_index():
    x = _random(4, seed=7)
    x[2, 0, 3, 3] = np.inf
    with pytest.raises(InputError, match="first at index 2"):
        remove_duplicates(x)


def test_dense_memory_guard_names_the_bytes():
    with pytest.raises(InputError, match=r"50,000 bytes"):
        remove_duplicates(_random(100), method="dense", max_dense_bytes=1000)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dedup_cases(channels=1, block=2) | dedup_cases(channels=3, block=3))
def test_exact_equals_dense_property(case):
    want = remove_duplicates(case.images, method="dense")
    assert remove_duplicates(case.images, method="exact", block=case.block).tolist() == want.tolist(), case.describe()


def test_exact_equals_dense_on_facelike_data_with_small_tiles(monkeypatch):
    x, planted = facelike(1500, seed=3, duplicate_rate=0.03)
    want = remove_duplicates(x, method="dense")
    # planted copies carry noise and clipping, so a few may fall below the threshold
    assert len(set(planted[:, 1].tolist()) & set(want.tolist())) >= 0.9 * len(planted)
    monkeypatch.setattr(dedup, "ROW_TILE", 64)
    monkeypatch.setattr(dedup, "COL_TILE", 256)
    assert remove_duplicates(x, method="exact").tolist() == want.tolist()


def test_exact_equals_dense_on_facelike_colour():
    x, _ = facelike(800, channels=3, seed=4, duplicate_rate=0.05)
    assert remove_duplicates(x, method="exact").tolist() == remove_duplicates(x, method="dense").tolist()


@pytest.mark.parametrize("threshold", [0.5, 0.9, 0.99])
def test_exact_window_scan_equals_dense_across_slabs(monkeypatch, threshold):
    # a low threshold widens the window, so many pairs straddle slabs and tile edges; small tiles
    # put block boundaries everywhere
    x, _ = facelike(1200, seed=8, duplicate_rate=0.05)
    monkeypatch.setattr(dedup, "ROW_TILE", 37)
    monkeypatch.setattr(dedup, "COL_TILE", 101)
    want = remove_duplicates(x, method="dense", threshold=threshold)
    assert remove_duplicates(x, method="exact", threshold=threshold).tolist() == want.tolist()


def test_exact_window_scan_bounds_fewer_pairs_than_the_triangle(monkeypatch):
    x, _ = facelike(3000, seed=9)
    monkeypatch.setattr(dedup, "ROW_TILE", 128)  # blocks small against N, as at full scale
    stats = {}
    dedup._exact(dedup._as_images(x), 0.95, 5000, stats=stats)
    # the slab-and-window order must skip a real share of the N(N-1)/2 pairs on face-like data
    assert stats["bound_pairs"] < 0.6 * 3000 * 2999 / 2, stats
    assert stats["verified_pairs"] > 0


@pytest.mark.parametrize("rank", dedup.RANK_LADDER)
def test_exact_equals_dense_at_every_rank_of_the_ladder(monkeypatch, rank):
    # the rank only decides how much the bound prunes, never which images go
    x, _ = facelike(900, seed=10, duplicate_rate=0.05)
    monkeypatch.setattr(dedup, "RANK_LADDER", (rank,))
    monkeypatch.setattr(dedup, "ROW_TILE", 128)
    stats = {}
    got = dedup._exact(dedup._as_images(x), 0.95, 5000, stats=stats)
    assert stats["rank"] == rank
    assert got.tolist() == remove_duplicates(x, method="dense").tolist()
    assert cross_duplicates(x[:450], x[450:]) == _brute_cross(x[:450], x[450:])


def _brute_cross(a, b, t=0.95):
    D = dedup.features(torch.from_numpy(np.concatenate([a, b]))).double()
    C = (D[:len(a)] @ D[len(a):].T).abs().numpy()
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(C > t))]


def test_rank_choice_keeps_the_small_rank_on_face_like_data():
    x, _ = facelike(3000, seed=9)
    stats = {}
    dedup._exact(dedup._as_images(x), 0.95, 5000, stats=stats)
    assert stats["rank"] == dedup.PCA_RANK, stats


@pytest.mark.skipif(not all((fashion.SYSTEM_DIR / n).is_file() for n in fashion.REGISTERED), reason="Fashion-MNIST not installed (scripts/setup.sh)")
def test_rank_choice_raises_the_rank_on_fashion_and_still_equals_dense():
    # 784-d silhouettes: at rank 24 about 1% of all pairs survive the bound (40x the duplicates), so
    # the estimate must pick a higher rank; the removed set stays the dense one
    x = fashion.to_float(fashion.load_fashion().train_images[:3000])
    stats = {}
    got = dedup._exact(dedup._as_images(x), 0.95, 5000, stats=stats)
    assert stats["rank"] > dedup.PCA_RANK, stats
    assert got.tolist() == remove_duplicates(x, method="dense").tolist()
    assert got.tolist() == remove_duplicates(x, method="blockwise_published", block=5000).tolist()


def test_cross_duplicates_matches_brute_force():
    x, _ = facelike(600, seed=5, duplicate_rate=0.05)
    a, b = x[:300], x[300:].copy()
    b[7] = 1.0 - a[11]  # an anti-correlated cross pair
    D = dedup.features(torch.from_numpy(np.concatenate([a, b]))).double()
    C = (D[:300] @ D[300:].T).abs().numpy()
    want = sorted(zip(*map(list, np.nonzero(C > 0.95))))
    got = cross_duplicates(a, b, 0.95)
    assert got == [(int(i), int(j)) for i, j in want]
    assert (11, 7) in got
    assert cross_duplicates(a[:1], b[:1], 0.95) in ([], [(0, 0)])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_exact_on_cuda_matches_cpu():
    x, _ = facelike(3000, seed=6)
    assert remove_duplicates(x, method="exact", device="cuda").tolist() == remove_duplicates(x, method="exact", device="cpu").tolist()
