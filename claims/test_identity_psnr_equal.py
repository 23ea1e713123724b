"""identity-psnr-equal (T25 §5.3): PSNR of identity-disjoint models on held-out images is
statistically indistinguishable from that of random-split (identity-overlapping) models.

At the largest N of the identity protocol (the random grid must contain it): per held-out image,
the test PSNR averaged over sigma, for models A and B of each protocol. The unit is the trained
pair: per training-seed replicate (``Profile.replicates``), the identity pair's mean test PSNR minus
the random pair's. Rule ``rules.pair_equivalence``: TOST on those pair-level differences (two
one-sided t tests, alpha 0.05, df = replicates - 1) with margin ``margin_db``: SUPPORTED when
equivalent; REFUTED when their 90% t CI lies wholly outside the margin; else INCONCLUSIVE.

Replicates were added 2026-12-01 (commits 5fae830 and e63a308): replicate 0 alone was equivalent (per-image Welch
TOST p 0.006) while replicates 1 and 2 were not (p 0.43, 0.053). Until 2026-12-02 each replicate's
per-image Welch TOST decided and all had to agree; those tests are still reported, not decided on.

Known-answer control ``identity-control-memorising``: empirical optimal denoisers (Zoo.memorising) of
the identity split and of the random split at the same N. At low noise such a denoiser returns the
training image nearest to its input, so its test PSNR is that of a held-out image's nearest training
image, nearer where the held-out image's identity is among the training images (random split) than
where it is not (identity split): the control's PSNR is not equal. Its replicates differ in sampling
seeds only, which PSNR does not use: the control is one pair (a pair-level test on three copies of one
difference would have no spread and say p = 0). With one pair the pair-level rule can only say
INCONCLUSIVE; the per-image Welch TOST beside it says how far the control is from equal."""

import numpy as np
import pytest

from studies.claims import operating, rules
from studies.claims.core import claim_case, replicated_with_random_reference
from studies.stats import tost


@pytest.mark.claim("identity-psnr-equal")
def test_identity_psnr_equal(claim, profile, evaluation, protocol):
    protocol, control = claim_case(claim, protocol)
    if control:
        # one pair: the control's replicates share the split's training sets and held-out images and differ in
        # sampling seeds only, which test PSNR does not use, so they would be three copies of one difference
        # (a t test on copies has no spread and says p = 0)
        n = profile.protocol("identity").n_grid[-1]
        pairs = [(evaluation("identity", n, control=control), evaluation("random", n, control=control))]
        claim.note("memorising control: one pair (its replicates differ in sampling seeds only, which test PSNR does not use)")
    else:
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
    claim.method(f"per trained pair: mean over held-out images (test PSNR averaged over 15 sigmas, both models) of identity minus random; "
                 f"TOST on the {len(pairs)} pair-level differences, alpha {rules.ALPHA} (rules.pair_equivalence); replicate 0's per-image test: {r.describe()}")
    diffs = [float(a_.mean() - b_.mean()) for _, a_, b_ in results]
    d = rules.pair_equivalence(diffs, margin=margin)
    if "mean" in d.details:
        claim.measure("test PSNR difference identity - random (dB, mean over pairs, 90% t CI)", d.details["mean"], ci=d.details["ci"], unit="dB", key=True)
        claim.measure("pair-level TOST p", d.details["p"], threshold=rules.ALPHA, direction="<")
    claim.measure("replicate 0: per-image Welch TOST p (reported only)", r.p)
    claim.rule(operating.pair_tost(len(diffs), float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0, margin), decided_by=d.rule)
    for k, (rk, _, _) in enumerate(results[1:], start=1):
        claim.measure(f"replicate {k}: difference (dB), 90% CI, TOST p", f"{rk.difference:.3f}, {rk.ci[0]:.3f}..{rk.ci[1]:.3f}, p={rk.p:.3g}")
    claim.measure("equivalence margin (dB)", margin)
    claim.measure("mean test PSNR identity (dB)", float(a.mean()), unit="dB")
    claim.measure("mean test PSNR random (dB)", float(b.mean()), unit="dB")
    claim.propose("margin_db", 0.25, "a quarter dB is below what a reader can see on a PSNR curve and above the seed-to-seed spread of one model")
    each = "; ".join(f"{rk.difference:+.3f} dB (90% CI {rk.ci[0]:.3f}..{rk.ci[1]:.3f}, p={rk.p:.2g})" for rk, _, _ in results)
    claim.conclude(d.verdict, d.reason + f"; per replicate, per-image Welch TOST: {each}")
