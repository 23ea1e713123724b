"""identity-psnr-equal (T25 §5.3): PSNR of identity-disjoint models on held-out images is
statistically indistinguishable from that of random-split (identity-overlapping) models.

At the largest N of the identity protocol (the random grid must contain it): per held-out image,
the test PSNR averaged over sigma, for models A and B of each protocol. Equivalence by TOST
(two one-sided Welch tests, alpha 0.05) with margin ``margin_db``. SUPPORTED when equivalent;
REFUTED when the 90% CI of the difference lies wholly outside the margin; else INCONCLUSIVE.

Where the profile trains training-seed replicates of the identity and random pairs
(``Profile.replicates``), each replicate is tested on its own and the verdict needs all of them to
agree (equivalent in every replicate, or outside the margin in every one); otherwise INCONCLUSIVE.
Added 2026-12-01 (commits 5fae830 and e63a308) with the background-rich smoke data: replicate 0 alone was
equivalent (p 0.006) while replicates 1 and 2 were not (p 0.43, 0.053), the same training-seed
dependence that made originality and identity-less-stable pool their replicates. Pooling the
images of all replicates into one Welch test would ignore the spread between replicates."""

import numpy as np
import pytest

from studies.claims.core import replicated_with_random_reference, replicates_agree
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.stats import tost


@pytest.mark.zoo
@pytest.mark.claim("identity-psnr-equal", source="T25 §5.3",
                   statement="Identity-disjoint PSNR is indistinguishable from identity-overlapping PSNR.")
@pytest.mark.parametrize("protocol", ["identity"])
def test_identity_psnr_equal(claim, profile, evaluation, protocol):
    pairs = replicated_with_random_reference(profile, evaluation, "identity")
    ev = pairs[0][0]
    claim.param(protocol=protocol, n=ev.n, reference="random", replicates=len(pairs))
    margin = claim.threshold("margin_db")
    results = []
    for e, ref in pairs:
        a = np.concatenate([e.test_psnr_a, e.test_psnr_b])
        b = np.concatenate([ref.test_psnr_a, ref.test_psnr_b])
        results.append((tost(a, b, margin=margin), a, b))
    r, a, b = results[0]
    claim.method(f"{r.describe()}; per held-out image test PSNR averaged over 15 sigmas, both models of each protocol"
                 + (f"; each of {len(pairs)} training-seed replicates tested, all must agree" if len(pairs) > 1 else ""))
    claim.measure("test PSNR difference identity - random (dB)", r.difference, ci=r.ci, unit="dB", key=True)
    claim.measure("TOST p", r.p, threshold=0.05, direction="<")
    for k, (rk, _, _) in enumerate(results[1:], start=1):
        claim.measure(f"replicate {k}: difference (dB), 90% CI, TOST p", f"{rk.difference:.3f}, {rk.ci[0]:.3f}..{rk.ci[1]:.3f}, p={rk.p:.3g}")
    claim.measure("equivalence margin (dB)", margin)
    claim.measure("mean test PSNR identity (dB)", float(a.mean()), unit="dB")
    claim.measure("mean test PSNR random (dB)", float(b.mean()), unit="dB")
    claim.propose("margin_db", 0.25, "a quarter dB is below what a reader can see on a PSNR curve and above the seed-to-seed spread of one model")
    each = "; ".join(f"{rk.difference:+.3f} dB (90% CI {rk.ci[0]:.3f}..{rk.ci[1]:.3f}, p={rk.p:.2g})" for rk, _, _ in results)
    verdict = replicates_agree([SUPPORTED if rk.p < rk.alpha else REFUTED if rk.ci[0] > margin or rk.ci[1] < -margin else INCONCLUSIVE
                                for rk, _, _ in results])
    if verdict == SUPPORTED:
        claim.conclude(SUPPORTED, f"equivalent within ±{margin} dB in every replicate: {each}")
    elif verdict == REFUTED:
        claim.conclude(REFUTED, f"difference outside ±{margin} dB in every replicate: {each}")
    else:
        claim.conclude(INCONCLUSIVE, f"not equivalent within ±{margin} dB in every replicate, nor outside it in every one: {each}")
