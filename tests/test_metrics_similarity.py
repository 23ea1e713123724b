"""Correlation and cosine (paired and pairwise), A/B similarity and its null, against hand values."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from studies.errors import InputError
from studies.metrics.similarity import (
    ZERO_NORM_FLOOR,
    ab_similarity,
    correlation,
    cosine,
    cross_seed_similarity,
    pairwise_correlation,
    pairwise_cosine,
    pairwise_similarity,
)


def test_hand_computed_values():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    b = np.array([[2.0, 4.0, 6.0, 8.5]])
    # Pearson by hand: centred a = (-1.5,-.5,.5,1.5), centred b = (-3.125,-1.125,.875,3.375)
    ca, cb = np.array([-1.5, -0.5, 0.5, 1.5]), np.array([-3.125, -1.125, 0.875, 3.375])
    assert correlation(a, b)[0] == pytest.approx(ca @ cb / np.sqrt((ca @ ca) * (cb @ cb)), abs=1e-15)
    assert cosine(a, b)[0] == pytest.approx((a @ b.T).item() / np.sqrt((a @ a.T) * (b @ b.T)).item(), abs=1e-15)
    assert correlation([[1.0, 2.0, 3.0]], [[3.0, 2.0, 1.0]])[0] == pytest.approx(-1.0)
    assert correlation([[1.0, 2.0, 3.0]], [[10.0, 20.0, 30.0]])[0] == pytest.approx(1.0)
    # correlation ignores brightness and contrast; cosine does not
    assert correlation([[0.0, 1.0]], [[5.0, 7.0]])[0] == pytest.approx(1.0)
    assert cosine([[0.0, 1.0]], [[5.0, 7.0]])[0] == pytest.approx(7 / np.sqrt(74))


def test_zero_norm_floor():
    flat = np.full((1, 1, 4, 4), 0.3)
    other = np.random.default_rng(0).random((1, 1, 4, 4))
    assert correlation(flat, other)[0] == 0.0  # constant image: centred norm 0 -> floor, not NaN
    assert correlation(flat, flat)[0] == 0.0
    assert cosine(np.zeros((1, 4)), other.reshape(1, -1)[:, :4])[0] == 0.0
    # a tiny but non-zero norm is kept as it is (only an exact zero is floored)
    tiny = np.array([[0.0, 1e-6, 0.0, 0.0]])
    assert correlation(tiny, tiny)[0] == pytest.approx(1.0)
    assert ZERO_NORM_FLOOR == 1e-3


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (5, 12), elements=st.floats(-2, 2, allow_nan=False, width=32)),
    arrays(np.float64, (3, 12), elements=st.floats(-2, 2, allow_nan=False, width=32)),
)
def test_pairwise_agrees_with_paired_and_numpy(a, b):
    pc = pairwise_correlation(a, b)
    for i in range(5):
        for j in range(3):
            assert pc[i, j] == pytest.approx(correlation(a[i : i + 1], b[j : j + 1])[0], abs=1e-12)
            sa, sb = a[i].std(), b[j].std()
            if sa > 1e-6 and sb > 1e-6:
                assert pc[i, j] == pytest.approx(np.corrcoef(a[i], b[j])[0, 1], abs=1e-9)
    assert np.all(np.abs(pc) <= 1 + 1e-12)
    np.testing.assert_allclose(pairwise_cosine(a, b), pairwise_similarity(a, b, metric="cosine"))


def test_images_of_any_layout():
    x = torch.rand(4, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(correlation(x, x), np.ones(4), atol=1e-12)
    assert pairwise_correlation(x).shape == (4, 4)
    assert correlation(x[0], x[0]).shape == (1,)


def test_ab_similarity_and_null():
    rng = np.random.default_rng(1)
    base = rng.random((6, 1, 4, 4))
    a, b = base, base + 0.01 * rng.standard_normal(base.shape)
    same = ab_similarity(a, b)
    null = cross_seed_similarity(a, b)
    assert same.shape == (6,) and null.shape == (30,)
    assert same.min() > 0.95 and np.median(null) < 0.9
    pw = pairwise_correlation(a, b)
    np.testing.assert_allclose(same, np.diag(pw), atol=1e-12)
    assert sorted(null.tolist()) == pytest.approx(sorted(pw[~np.eye(6, dtype=bool)].tolist()))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: correlation(np.ones((2, 4)), np.ones((3, 4))), "equal shapes"),
        (lambda: correlation(np.array([[np.nan, 1.0]]), np.ones((1, 2))), "NaN"),
        (lambda: pairwise_correlation(np.ones((2, 4)), np.ones((2, 5))), "equal image sizes"),
        (lambda: pairwise_similarity(np.ones((2, 4)), metric="ssim"), "metric"),
        (lambda: cross_seed_similarity(np.ones((1, 4)), np.ones((1, 4))), "two seeds"),
        (lambda: correlation(np.ones((0, 4)), np.ones((0, 4))), "empty"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(InputError, match=match):
        call()
