"""Helpers of the core claims (studies.claims.core) and the attribute classifier, on numbers whose
answer is known; the decision rules are tested in tests/test_claims_rules.py."""

import numpy as np
import pytest

from studies.claims.core import shift_ci
from studies.errors import InputError
from studies.metrics.attribute_classifier import fit_attribute_classifier


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
