"""identity-psnr-equal (T25 §5.3): PSNR of identity-disjoint models on held-out images is
statistically indistinguishable from that of random-split (identity-overlapping) models.

At the largest N of the identity protocol (the random grid must contain it): per held-out image,
the test PSNR averaged over sigma, for models A and B of each protocol. Equivalence by TOST
(two one-sided Welch tests, alpha 0.05) with margin ``margin_db``. SUPPORTED when equivalent;
REFUTED when the 90% CI of the difference lies wholly outside the margin; else INCONCLUSIVE."""

import numpy as np
import pytest

from studies.claims.core import with_random_reference
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.stats import tost


@pytest.mark.zoo
@pytest.mark.claim("identity-psnr-equal", source="T25 §5.3",
                   statement="Identity-disjoint PSNR is indistinguishable from identity-overlapping PSNR.")
@pytest.mark.parametrize("protocol", ["identity"])
def test_identity_psnr_equal(claim, profile, evaluation, protocol):
    ev, ref = with_random_reference(profile, evaluation, "identity")
    claim.param(protocol=protocol, n=ev.n, reference="random")
    margin = claim.threshold("margin_db")
    a = np.concatenate([ev.test_psnr_a, ev.test_psnr_b])
    b = np.concatenate([ref.test_psnr_a, ref.test_psnr_b])
    r = tost(a, b, margin=margin)
    claim.method(f"{r.describe()}; per held-out image test PSNR averaged over 15 sigmas, both models of each protocol")
    claim.measure("test PSNR difference identity - random (dB)", r.difference, ci=r.ci, unit="dB", key=True)
    claim.measure("TOST p", r.p, threshold=0.05, direction="<")
    claim.measure("equivalence margin (dB)", margin)
    claim.measure("mean test PSNR identity (dB)", float(a.mean()), unit="dB")
    claim.measure("mean test PSNR random (dB)", float(b.mean()), unit="dB")
    claim.propose("margin_db", 0.25, "a quarter dB is below what a reader can see on a PSNR curve and above the seed-to-seed spread of one model")
    lo, hi = r.ci
    if r.p < r.alpha:
        claim.conclude(SUPPORTED, f"equivalent within ±{margin} dB: difference {r.difference:.3f} dB, 90% CI {lo:.3f}..{hi:.3f}")
    elif lo > margin or hi < -margin:
        claim.conclude(REFUTED, f"difference {r.difference:.3f} dB (90% CI {lo:.3f}..{hi:.3f}) lies outside ±{margin} dB")
    else:
        claim.conclude(INCONCLUSIVE, f"90% CI {lo:.3f}..{hi:.3f} is neither inside nor outside ±{margin} dB")
