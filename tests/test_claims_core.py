"""Decision rules of the core claims (studies.claims.core) and the attribute classifier, on
numbers whose answer is known."""

import numpy as np
import pytest

from studies.claims.core import decide_above, decide_gap, decide_originality, replicates_agree, shift_ci
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.errors import InputError
from studies.metrics.attribute_classifier import fit_attribute_classifier


def test_gap_shrinking_and_matched_is_supported():
    ns = [10, 100, 1000, 4000]
    gaps = [[8.0, 8.2], [4.0, 4.1], [1.0, 0.9], [0.2, 0.1]]
    d, trend = decide_gap(ns, gaps, (0.0, 0.3), (7.5, 8.5), matched_db=1.0)
    assert d.verdict == SUPPORTED, d.reason
    assert trend.p < 0.05 and trend.statistic < 0


def test_gap_growing_is_refuted():
    d, _ = decide_gap([10, 100, 1000], [[1, 1], [2, 2], [3, 3]], (2.8, 3.2), (0.8, 1.2), matched_db=1.0)
    assert d.verdict == REFUTED


def test_gap_shrinking_but_large_at_largest_n_is_refuted():
    d, _ = decide_gap([10, 100, 1000, 4000], [[9, 9], [8, 8], [7, 7], [6, 6]], (5.5, 6.5), (8.5, 9.5), matched_db=1.0)
    assert d.verdict == REFUTED and "stays" in d.reason


def test_gap_two_sizes_uses_ci_separation():
    d, trend = decide_gap([10, 4000], [[6, 6], [0.1, 0.2]], (-0.1, 0.4), (5.5, 6.5), matched_db=1.0)
    assert trend is None and d.verdict == SUPPORTED
    d, _ = decide_gap([10, 4000], [[0.6, 0.6], [0.3, 0.3]], (-0.5, 1.2), (0.0, 1.2), matched_db=1.0)
    assert d.verdict == INCONCLUSIVE


def test_decide_above_three_ways():
    assert decide_above("x", (0.96, 0.99), 0.95, what="copies").verdict == SUPPORTED
    assert decide_above("x", (0.5, 0.9), 0.95, what="copies").verdict == REFUTED
    assert decide_above("x", (0.9, 0.97), 0.95, what="copies").verdict == INCONCLUSIVE


def _pairs(rng, shifts, n=64):
    nearest = [rng.uniform(0.7, 0.8, n) for _ in shifts]
    return [nn + d + rng.normal(0, 0.02, n) for nn, d in zip(nearest, shifts)], nearest


def test_originality_needs_every_replicate_on_its_side():
    rng = np.random.default_rng(0)
    assert decide_originality(*_pairs(rng, [0.05, 0.08, 0.04]), copy=0.95).verdict == SUPPORTED
    assert decide_originality(*_pairs(rng, [-0.05, -0.1, -0.02]), copy=0.95).verdict == REFUTED
    d = decide_originality(*_pairs(rng, [0.2, 0.1, -0.05]), copy=0.95)  # pooled p tiny, one replicate against
    assert d.verdict == INCONCLUSIVE and "disagree" in d.reason and "3 training-seed replicates" in d.reason, d.reason
    assert decide_originality(*_pairs(rng, [0.0]), copy=0.95).verdict == INCONCLUSIVE
    one = decide_originality(*_pairs(rng, [0.05]), copy=0.95)
    assert one.verdict == SUPPORTED and "replicates" not in one.reason


def test_replicates_agree_only_when_all_say_the_same():
    assert replicates_agree([SUPPORTED] * 3) == SUPPORTED and replicates_agree([REFUTED]) == REFUTED
    assert replicates_agree([SUPPORTED, SUPPORTED, INCONCLUSIVE]) == INCONCLUSIVE
    assert replicates_agree([REFUTED, SUPPORTED]) == INCONCLUSIVE and replicates_agree([INCONCLUSIVE] * 2) == INCONCLUSIVE
    with pytest.raises(ValueError):
        replicates_agree([])


def test_originality_copies_are_refuted_first():
    rng = np.random.default_rng(1)
    nearest = [rng.uniform(0.97, 0.99, 64)]
    d = decide_originality([nearest[0] + 0.005], nearest, copy=0.95)  # A/B even higher: still copies
    assert d.verdict == REFUTED and "copies" in d.reason
    with pytest.raises(ValueError):
        decide_originality([], [], copy=0.95)


def test_shift_ci_covers_the_true_shift_and_is_seeded():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.8, 0.05, 64), rng.normal(0.5, 0.05, 200)
    est, (lo, hi) = shift_ci(a, b)
    assert lo < 0.3 < hi and lo < est < hi
    assert shift_ci(a, b) == (est, (lo, hi))


def test_attribute_classifier_learns_a_visible_attribute():
    rng = np.random.default_rng(1)
    n = 400
    y = np.where(rng.random(n) < 0.3, 1, -1)
    x = rng.normal(0.5, 0.1, (n, 1, 8, 8)).astype(np.float32)
    x[y == 1, :, 2:4, 1:7] += 0.3  # "glasses": a bright bar
    clf = fit_attribute_classifier(x, y, name="bar", seed=0)
    assert clf.heldout_accuracy > 0.95
    assert clf.predict(x[:5]).tolist() == y[:5].tolist()
    # blind to a sample's overall gain and offset (what a bias-free sampler leaves undetermined)
    np.testing.assert_allclose(clf.prob(0.25 * x[:50] + 0.02), clf.prob(x[:50]), atol=1e-5)


def test_attribute_classifier_refuses_bad_labels():
    x = np.zeros((20, 1, 4, 4), np.float32)
    with pytest.raises(InputError, match="labels must be -1 or 1"):
        fit_attribute_classifier(x, np.zeros(20), name="a")
    with pytest.raises(InputError, match="at least 5"):
        fit_attribute_classifier(x, np.array([1] * 2 + [-1] * 18), name="a")
