"""Blocked top-k against brute force, tie-breaking, memory blocking, Gu et al.'s ratio and
Zhang et al.'s reproducibility score."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from studies.errors import InputError
from studies.metrics.criteria import (
    GU_RATIO_THRESHOLD,
    memorized_fraction,
    nearest_distance_ratio,
    ratio_to_memorized,
    reproducibility_score,
)
from studies.metrics.neighbours import topk
from studies.metrics.similarity import pairwise_correlation, pairwise_cosine


def _brute(q, t, metric):
    """Scores larger-is-nearer by direct formulas in float64, and (score desc, index asc) order."""
    if metric == "correlation":
        s = pairwise_correlation(q, t)
    elif metric == "cosine":
        s = pairwise_cosine(q, t)
    else:
        s = -np.sqrt(((q.reshape(len(q), 1, -1) - t.reshape(1, len(t), -1)) ** 2).sum(-1))
    order = np.lexsort((np.broadcast_to(np.arange(s.shape[1]), s.shape), -s), axis=1)
    return s, order


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_q=st.integers(1, 5),
    n_t=st.integers(1, 30),
    d=st.integers(2, 9),
    metric=st.sampled_from(["correlation", "cosine", "l2"]),
)
def test_topk_equals_brute_force(data, n_q, n_t, d, metric):
    # small integers make exact ties (duplicate rows, equal distances) common
    elems = st.integers(0, 3).map(float)
    q = data.draw(arrays(np.float64, (n_q, d), elements=elems))
    t = data.draw(arrays(np.float64, (n_t, d), elements=elems))
    k = data.draw(st.integers(1, n_t))
    block_bytes = data.draw(st.sampled_from([1, 200, 10**8]))  # 1 byte: blocks of k+margin rows
    res = topk(q, t, k=k, metric=metric, max_bytes=block_bytes)
    s, order = _brute(q, t, metric)
    want_scores = np.take_along_axis(s, order, 1)[:, :k]
    got = -res.scores if metric == "l2" else res.scores
    np.testing.assert_allclose(got, want_scores, atol=1e-12)
    # the returned indices carry the returned scores, and among equal scores the lower index comes first
    np.testing.assert_allclose(np.take_along_axis(s, res.indices, 1), want_scores, atol=1e-12)
    for i in range(n_q):
        for r in range(k - 1):
            a, b = got[i, r], got[i, r + 1]
            assert a >= b - 1e-12
            if a == b and (metric == "l2" or np.array_equal(t[res.indices[i, r]], t[res.indices[i, r + 1]])):
                # exact ties (L2 of integer data, or duplicate rows) go to the lower index first
                assert res.indices[i, r] < res.indices[i, r + 1]
        kept = res.indices[i].tolist()
        for j in kept:  # a duplicate row with a lower index is never passed over for j
            for lower in range(j):
                if np.array_equal(t[lower], t[j]):
                    assert lower in kept, (lower, j, kept)
        if metric == "l2":  # integer data: distances are exact, so is the whole order
            np.testing.assert_array_equal(res.indices[i], order[i, :k])


def test_duplicates_go_to_the_lowest_index_in_float32():
    rng = np.random.default_rng(0)
    t = rng.random((50, 1, 8, 8)).astype(np.float32)
    t[[7, 19, 33, 48]] = t[3]  # five copies: 3, 7, 19, 33, 48
    for metric in ("correlation", "cosine", "l2"):
        res = topk(t[3:4], t, k=3, metric=metric, max_bytes=4000)  # forces many small blocks
        assert res.indices[0].tolist() == [3, 7, 19], metric


def test_blocked_equals_unblocked_on_random_faces():
    g = torch.Generator().manual_seed(3)
    t = torch.rand(2000, 1, 10, 10, generator=g)
    q = t[torch.tensor([5, 1500])] + 0.05 * torch.randn(2, 1, 10, 10, generator=g)
    big = topk(q, t, k=5, max_bytes=10**9)
    small = topk(q, t, k=5, max_bytes=50_000)
    np.testing.assert_array_equal(big.indices, small.indices)
    np.testing.assert_allclose(big.scores, small.scores, atol=1e-12)
    assert big.indices[:, 0].tolist() == [5, 1500]


def test_training_set_smaller_than_k():
    with pytest.raises(InputError, match="holds 3 images, fewer than k = 4"):
        topk(np.ones((1, 4)), np.random.default_rng(0).random((3, 4)), k=4)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: topk(np.ones((1, 4)), np.ones((3, 5)), k=1), "pixels"),
        (lambda: topk(np.ones((1, 4)), np.ones((3, 4)), k=0), "k must be"),
        (lambda: topk(np.ones((1, 4)), np.ones((3, 4)), k=1, metric="ssim"), "metric"),
        (lambda: topk(np.ones((1, 4)), np.array([[1, 2, 3, 4.0], [np.nan, 0, 0, 0]]), k=1), "row 1 contains NaN"),
        (lambda: topk(np.ones((0, 4)), np.ones((3, 4)), k=1), "queries"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_gu_ratio_hand_values():
    t = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 10.0]])
    q = np.array([[1.0, 0.0], [0.0, 0.0], [1.5, 0.0]])
    r = nearest_distance_ratio(q, t)
    # q0: d1 = 1 (to t0), d2 = 2 (to t1) -> 0.5; q1: an exact copy -> 0; q2: equidistant -> 1
    np.testing.assert_allclose(r, [0.5, 0.0, 1.0])
    assert ratio_to_memorized(r).tolist() == [False, True, False]
    assert ratio_to_memorized([1 / 3]).tolist() == [False]  # strict
    assert memorized_fraction(q, t) == pytest.approx(1 / 3)
    assert GU_RATIO_THRESHOLD == pytest.approx(1 / 3)
    # two copies of the sample in the training set: 0/0 counts as a copy
    assert nearest_distance_ratio(np.zeros((1, 2)), np.zeros((2, 2))).tolist() == [0.0]


def test_reproducibility_score():
    assert reproducibility_score([0.1, 0.7, 0.95, 0.6], threshold=0.6) == pytest.approx(0.5)  # strict >
    with pytest.raises(InputError, match="NaN"):
        reproducibility_score([0.1, np.nan], threshold=0.5)
    with pytest.raises(InputError, match="empty"):
        reproducibility_score([], threshold=0.5)
