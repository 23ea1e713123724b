"""The decision rules (studies.claims.rules) on inputs whose answer is known, and their measured
operating characteristics (studies.claims.operating): every rule keeps its false-positive rate at
alpha within Monte-Carlo error on the smoke designs."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from studies.claims import operating, rules
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED


def test_alpha_is_registered_once():
    assert rules.ALPHA == 0.05


def test_ci_vs_threshold_three_ways():
    assert rules.ci_vs_threshold("x", (0.96, 0.99), 0.95, what="copies").verdict == SUPPORTED
    assert rules.ci_vs_threshold("x", (0.5, 0.9), 0.95, what="copies").verdict == REFUTED
    d = rules.ci_vs_threshold("x", (0.9, 0.97), 0.95, what="copies", unit_note="one pair")
    assert d.verdict == INCONCLUSIVE and "one pair" in d.reason and d.rule == rules.CI_THRESHOLD


def test_pair_mean_ci_is_student_t():
    m, (lo, hi) = rules.pair_mean_ci([1.0, 2.0, 3.0])
    half = st.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert m == 2.0 and lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    assert all(math.isnan(v) for v in rules.pair_mean_ci([1.0])[1])


def test_one_sample_t_matches_scipy():
    x = np.array([[0.1, 0.3, 0.25], [-0.2, 0.1, 0.0]])
    for row, p in zip(x, rules.one_sample_t_p(x, alternative="greater")):
        assert p == pytest.approx(st.ttest_1samp(row, 0.0, alternative="greater").pvalue)


def test_pair_difference_decides_on_pairs_not_seeds():
    assert rules.pair_difference([0.10, 0.12, 0.11], what="x").verdict == SUPPORTED
    assert rules.pair_difference([-0.10, -0.12, -0.11], what="x").verdict == REFUTED
    # replicate medians 0.2, 0.1, -0.05: however many seeds each had, three pairs disagreeing are INCONCLUSIVE
    assert rules.pair_difference([0.2, 0.1, -0.05], what="x").verdict == INCONCLUSIVE
    one = rules.pair_difference([0.3], what="x")
    assert one.verdict == INCONCLUSIVE and "replicates" in one.reason


def test_pair_equivalence():
    assert rules.pair_equivalence([0.01, -0.02, 0.0], margin=0.25).verdict == SUPPORTED
    assert rules.pair_equivalence([1.0, 1.1, 0.9], margin=0.25).verdict == REFUTED
    assert rules.pair_equivalence([0.3, -0.2, 0.1], margin=0.25).verdict == INCONCLUSIVE


def test_exact_spearman_matches_enumeration():
    x = np.log10([10, 300, 1000, 4000])
    y = np.array([0.1, 0.5, 0.4, 0.7])
    rho, p = rules.spearman_p(x, y[None], alternative="increasing")
    ref = [st.spearmanr(x, perm).statistic for perm in itertools.permutations(y)]
    assert rho[0] == pytest.approx(st.spearmanr(x, y).statistic)
    assert p[0] == pytest.approx(np.mean(np.array(ref) >= rho[0] - 1e-12))


def test_trend_floor_of_small_designs():
    assert rules.min_trend_p([1, 2, 3, 4]) == pytest.approx(1 / 24)
    assert rules.min_trend_p([1, 2, 2, 2]) == pytest.approx(1 / 4)  # one pair at the small N, three at the large


def test_trend_and_level():
    up = [(10, [0.0]), (300, [0.2, 0.25, 0.22]), (1000, [0.4, 0.38, 0.45]), (4000, [0.6, 0.65, 0.62])]
    d = rules.trend_and_level(up, direction="increasing", level=0.1, what="grows")
    assert d.verdict == SUPPORTED and d.rule == rules.TREND_LEVEL, d.reason
    low = [(n, [v - 0.6 for v in vs]) for n, vs in up]
    assert rules.trend_and_level(low, direction="increasing", level=0.1, what="grows").verdict == REFUTED
    two = [(10, [0.0]), (4000, [0.6, 0.65, 0.62])]
    d = rules.trend_and_level(two, direction="increasing", level=0.1, what="grows")
    assert d.verdict == INCONCLUSIVE and "cannot reach alpha" in d.reason, d.reason
    down = [(n, [1 - v for v in vs]) for n, vs in up]
    assert rules.trend_and_level(down, direction="decreasing", level=0.5, what="shrinks").verdict == SUPPORTED
    assert rules.trend_and_level(down, direction="increasing", level=0.0, what="grows").verdict == REFUTED


def test_originality_rule():
    assert rules.originality([0.05, 0.08, 0.06], [0.7, 0.72, 0.71], copy=0.95).verdict == SUPPORTED
    assert rules.originality([-0.05, -0.08, -0.06], [0.7, 0.72, 0.71], copy=0.95).verdict == REFUTED
    d = rules.originality([0.001, 0.002, 0.0015], [0.98, 0.985, 0.982], copy=0.95)
    assert d.verdict == REFUTED and "copies" in d.reason


def test_contrast_needs_a_difference_from_the_control():
    rng = np.random.default_rng(0)
    control = rng.normal(0.2, 0.1, 64)
    assert rules.contrast(rng.normal(0.2, 0.1, 64), control, what="x").verdict == INCONCLUSIVE
    assert rules.contrast(rng.normal(0.4, 0.1, 64), control, what="x").verdict == SUPPORTED
    assert rules.contrast(rng.normal(0.0, 0.1, 64), control, what="x").verdict == REFUTED


def test_originality_vs_heldout_needs_the_contrast():
    up, near = [0.05, 0.08, 0.06], [0.9, 0.91, 0.92]
    # A/B closer and samples as near their training images as held-out images: SUPPORTED
    d = rules.originality_vs_heldout(up, near, [0.001, -0.002, 0.0], copy=0.95, margin=0.02)
    assert d.verdict == SUPPORTED and d.rule == rules.ORIGINALITY_HELDOUT and d.details["originality"] == "SUPPORTED"
    # the same A/B part, samples not shown to be as far as new images: the samples' statistic alone does not support
    d = rules.originality_vs_heldout(up, near, [0.0, 0.03, 0.01], copy=0.95, margin=0.02)
    assert d.verdict == INCONCLUSIVE and "held-out" in d.reason
    # nearer their training images than held-out images by more than the margin: REFUTED whatever A/B says
    d = rules.originality_vs_heldout(up, near, [0.05, 0.06, 0.055], copy=0.95, margin=0.02)
    assert d.verdict == REFUTED and "nearer their training images than held-out images" in d.reason
    # copies and the opposite A/B order stay REFUTED
    assert "copies" in rules.originality_vs_heldout([0.0, 0.001, 0.002], [0.98, 0.985, 0.99], [0.07, 0.07, 0.07], copy=0.95, margin=0.02).reason
    assert rules.originality_vs_heldout([-0.4, -0.45, -0.42], near, [0.0, 0.001, -0.001], copy=0.95, margin=0.02).verdict == REFUTED
    # one pair: no between-pair CI of the excess, never SUPPORTED
    assert rules.originality_vs_heldout([0.05], [0.9], [0.0], copy=0.95, margin=0.02).verdict == INCONCLUSIVE


def test_originality_vs_heldout_refuses_bad_input():
    with pytest.raises(ValueError, match="one diff, nearest and excess per pair"):
        rules.originality_vs_heldout([0.1, 0.2], [0.9, 0.9], [0.0], copy=0.95, margin=0.02)
    with pytest.raises(ValueError, match="finite"):
        rules.originality_vs_heldout([0.1, 0.2], [0.9, 0.9], [0.0, float("nan")], copy=0.95, margin=0.02)


def test_originality_vs_heldout_operating_characteristics():
    """Measured on the smoke design (3 pairs): its false-positive rate stays within alpha (the null's
    harder boundary), its power falls when the excess is as spread as the margin is wide, and one pair
    is never SUPPORTED."""
    oc = operating.originality_vs_heldout(3, 0.05, 0.005, 0.1, 0.02)
    assert oc.within_alpha(), oc
    assert oc.power > operating.originality_vs_heldout(3, 0.05, 0.02, 0.1, 0.02).power
    assert operating.originality_vs_heldout(1, 0.05, 0.005, 0.1, 0.02).power == 0.0


SMOKE_DESIGNS = [
    lambda: operating.pair_t(3, 0.05, 0.1),
    lambda: operating.pair_tost(3, 0.1, 0.25),
    lambda: operating.trend_and_level([10, 300, 1000, 4000], [1, 3, 3, 3], 0.05, direction="increasing", level=0.1, effect=0.2),
    lambda: operating.trend_and_level([10, 300, 1000, 4000], [1, 3, 3, 3], 0.1, direction="decreasing", level=1.0, effect=2.0),
    lambda: operating.trend_and_level([10, 4000], [1, 3], 0.05, direction="increasing", level=0.1, effect=0.2),
    lambda: operating.ci_threshold(128, 0.02, 0.95, 0.025),
    lambda: operating.contrast(64, 64, 0.1, 0.1, 0.1),
    lambda: operating.originality_vs_heldout(3, 0.05, 0.01, 0.1, 0.02),
]


@pytest.mark.parametrize("design", range(len(SMOKE_DESIGNS)))
def test_every_rule_keeps_alpha(design):
    oc = SMOKE_DESIGNS[design]()
    assert oc.within_alpha(), oc
    assert 0.0 <= oc.power <= 1.0 and oc.simulations == operating.SIMULATIONS
    assert SMOKE_DESIGNS[design]() == oc  # seeded


def test_one_pair_designs_are_never_supported():
    """The pair-level rules say INCONCLUSIVE on one pair; their simulators say so without dividing by a
    spread one pair does not have (a memorising control or an unreplicated cell is one pair)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for oc in (operating.pair_t(1, 0.05, 0.1), operating.pair_tost(1, 0.1, 0.25), operating.originality_vs_heldout(1, 0.05, 0.01, 0.1, 0.02)):
            assert oc.false_positive_rate == 0.0 and oc.power == 0.0
    assert rules.pair_equivalence([-0.166], margin=0.25).verdict == INCONCLUSIVE


def test_power_rises_with_the_effect():
    assert operating.pair_t(3, 0.05, 0.2).power > operating.pair_t(3, 0.05, 0.05).power


def test_pooling_seeds_as_units_would_not_keep_alpha():
    """Why the rules summarise per pair: the earlier per-seed Spearman over 4 pairs x 64 seeds, with a
    pair offset of sd 0.05 and no trend in N, says 'grows' far more often than alpha."""
    rng = np.random.default_rng(0)
    xs = np.repeat(np.log10([10, 300, 1000, 4000]), 64)
    y = np.repeat(rng.normal(0, 0.05, size=(2000, 4)), 64, axis=1) + rng.normal(0, 0.1, size=(2000, 256))
    _, p = rules.spearman_p(xs, y, alternative="increasing")
    assert np.mean(p < 0.05) > 0.2


def test_trend_reason_says_why_there_is_no_rank_test():
    """Two pairs (one per N) cannot carry a rank test: the reason says so instead of printing 'rho +nan'."""
    d = rules.trend_and_level([(10, [0.2]), (1000, [0.8])], direction="increasing", level=0.1, what="A/B")
    assert "nan" not in d.reason
    assert "no trend test (2 pairs over 2 N" in d.reason
    assert d.verdict != SUPPORTED
