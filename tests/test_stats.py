"""studies.stats against values known without scipy: exact permutation counts, t-table values and
the normal-theory interval of a mean."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studies.errors import InputError
from studies.stats import bootstrap_ci, paired_test, tost, trend_test

N_GRID = [10, 100, 1000, 4000]
GAP_DB = [17.7, 6.0, 1.1, 0.9]  # SPEC §9 probe, sigma 0.05


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_perfect_decreasing_trend_on_four_points_has_p_one_over_24(method):
    # only the identity ordering of 4! = 24 is as extreme: exact one-sided p = 1/24
    r = trend_test(N_GRID, GAP_DB, method=method, alternative="decreasing")
    assert r.statistic == pytest.approx(-1.0)
    assert r.p == pytest.approx(1 / 24)
    assert r.significant and r.alpha == 0.05 and method.title()[:5] in r.test


def test_trend_in_the_wrong_direction_is_not_significant():
    r = trend_test(N_GRID, GAP_DB, alternative="increasing")
    assert r.p == pytest.approx(1.0) and not r.significant


def test_spearman_exact_p_for_one_swap_on_five_points():
    # rho = 0.9 for one adjacent swap; orderings of 5 with rho >= 0.9: identity and the 4 adjacent swaps -> 5/120
    r = trend_test([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], alternative="increasing")
    assert r.statistic == pytest.approx(0.9)
    assert r.p == pytest.approx(5 / 120)
    assert "exact" in r.test


def test_spearman_uses_asymptotic_p_above_nine_points():
    x = np.arange(20)
    r = trend_test(x, -x + np.random.default_rng(0).normal(0, 3, 20), alternative="decreasing")
    assert "approximation" in r.test and r.p < 1e-3


def test_wilcoxon_all_positive_differences_exact_p():
    # signed-rank: all 2^5 sign patterns equally likely under H0; all positive is the only one as extreme
    r = paired_test([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], alternative="greater")
    assert r.p == pytest.approx(1 / 32)
    r2 = paired_test([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], alternative="two-sided")
    assert r2.p == pytest.approx(2 / 32)
    assert r.test == "Wilcoxon signed-rank" and r.mean_difference == 3.0


def test_paired_t_matches_the_t_table():
    # d = 1..5: mean 3, sd sqrt(2.5), t = 3 / (sqrt(2.5)/sqrt(5)) = 4.2426 on 4 dof; two-sided p = 0.013236
    r = paired_test([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], method="t")
    assert r.statistic == pytest.approx(3 / math.sqrt(2.5 / 5))
    assert r.p == pytest.approx(0.0132356, abs=1e-6)


def test_paired_tost_matches_the_t_table():
    # d mean 0, sd sqrt(0.025), se 0.0707; each one-sided t = 0.5 / 0.0707 = 7.071 on 4 dof -> p = 0.0010553
    r = tost([0.1, -0.1, 0.2, -0.2, 0.0], [0.0] * 5, margin=0.5, paired=True)
    assert r.p == pytest.approx(0.0010553, abs=1e-6)
    assert r.p_lower == pytest.approx(r.p_upper)
    # 90% CI: 0 +- t_{0.95,4} * se = 2.1318 * 0.070711
    assert r.ci == pytest.approx((-2.131847 * math.sqrt(0.025 / 5), 2.131847 * math.sqrt(0.025 / 5)), rel=1e-5)
    assert r.equivalent and "paired" in r.test


def test_unpaired_tost_refuses_equivalence_when_the_margin_is_too_small():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(0, 1, 30)
    assert not tost(a, b, margin=0.05).equivalent
    assert tost(a, b, margin=2.0).equivalent
    assert tost(a, b + 5, margin=2.0).p > 0.5


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # hypothesis finds near-constant samples
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=12),
    st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=12),
    st.floats(0.01, 5),
)
def test_tost_equivalent_iff_its_ci_lies_inside_the_margin(a, b, margin):
    if np.var(a) == 0 and np.var(b) == 0:
        return
    r = tost(a, b, margin=margin)
    inside = -margin < r.ci[0] and r.ci[1] < margin
    if abs(abs(r.ci[0]) - margin) > 1e-9 and abs(abs(r.ci[1]) - margin) > 1e-9:
        assert r.equivalent == inside


def test_bootstrap_ci_is_seeded_and_near_the_normal_theory_interval():
    x = np.random.default_rng(0).normal(5.0, 2.0, 2000)
    lo, hi = bootstrap_ci(x, seed=3)
    assert (lo, hi) == tuple(bootstrap_ci(x, seed=3))
    half = 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - half, abs=0.02)
    assert hi == pytest.approx(x.mean() + half, abs=0.02)
    assert bootstrap_ci(x, seed=4) != bootstrap_ci(x, seed=3)


def test_bootstrap_ci_reports_its_method_and_handles_constant_data():
    ci = bootstrap_ci([2.0, 2.0, 2.0], np.median, method="BCa")
    assert tuple(ci) == (2.0, 2.0) and ci.alpha == 0.05 and "BCa" in ci.test
    ci = bootstrap_ci(np.arange(50.0), np.median, n_boot=500, alpha=0.1)
    assert ci.lo < 24.5 < ci.hi and "500 resamples" in ci.describe()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bootstrap_ci([1.0]), "at least 2"),
        (lambda: bootstrap_ci([1.0, float("nan")]), "non-finite"),
        (lambda: trend_test([1, 2, 3], [1, 2, 3, 4]), "differ in length"),
        (lambda: trend_test([1, 2, 3], [1, 2, 3], method="pearson"), "spearman"),
        (lambda: trend_test([1, 2, 3], [1, 1, 1]), "all equal"),
        (lambda: tost([1, 2], [1, 2], margin=-1), "margin"),
        (lambda: paired_test([1, 2], [1, 2, 3]), "differ in length"),
        (lambda: paired_test([1, 2, 3], [1, 2, 3]), "identical"),
        (lambda: paired_test([1, 2, 3], [3, 2, 1], alpha=0.7), "alpha"),
    ],
)
def test_bad_input_is_refused_with_the_value(call, match):
    with pytest.raises(InputError, match=match):
        call()
