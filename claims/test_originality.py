"""originality (K24 Fig. 2): at the largest N, samples are far from their nearest training image:
the two models' samples of one seed are closer to each other than to either model's nearest
training image.

Measured at the largest N of each protocol, per seed: d = corr(A, B) - max(nearest-training corr of
A's sample, of B's sample). SUPPORTED when a one-sided Wilcoxon signed-rank test (alpha 0.05) says
same-seed A/B correlation exceeds nearest-training correlation, and the median nearest-training
correlation stays below the copy threshold of memorization-small-n; REFUTED when samples are
copies or the test goes the other way.

Reported beside it, not part of the decision (added after registration, 2026-12-01): the same
nearest-training correlation for held-out images of the data, which no model saw. On homogeneous
data it is high (smoke: ~0.92 at N=4000, as high as the samples'), so a REFUTED there says the two
models do not agree as closely as a new face resembles some training face, not that samples are copies."""

import numpy as np
import pytest

from studies.claims.core import PROTOCOLS, distribution_figure, median_ci
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.stats import paired_test


@pytest.mark.zoo
@pytest.mark.claim("originality", source="K24 Fig. 2",
                   statement="At large N, samples are far from their nearest training image (closer to the other model's sample).")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_originality(claim, profile, evaluation, protocol):
    n = profile.protocol(protocol).n_grid[-1]
    ev = evaluation(protocol, n)
    claim.param(protocol=protocol, n=ev.n)
    nearest = np.maximum(ev.nn_a, ev.nn_b)
    copy = claim.threshold("copy_corr")
    med_ab, ci_ab = median_ci(ev.ab)
    med_nn, ci_nn = median_ci(nearest)
    ref = np.concatenate([ev.ref_a, ev.ref_b])
    med_ref, ci_ref = median_ci(ref)
    test = paired_test(ev.ab, nearest, alternative="greater", method="wilcoxon")
    against = paired_test(ev.ab, nearest, alternative="less", method="wilcoxon")
    claim.method(f"per seed: same-seed A/B correlation vs the larger nearest-training correlation of the two samples; {test.describe()}; copies: median nearest-training correlation CI above {copy}")
    claim.measure("median A/B minus nearest-training correlation", float(np.median(ev.ab - nearest)), key=True)
    claim.measure("median same-seed A/B correlation", med_ab, ci=ci_ab)
    claim.measure("median nearest-training correlation", med_nn, ci=ci_nn, threshold="copy_corr", direction="<")
    claim.measure("Wilcoxon p (A/B > nearest)", test.p, threshold=0.05, direction="<")
    claim.measure("median nearest-training correlation of held-out images (reference, not a copy)", med_ref, ci=ci_ref)
    claim.figure("similarities", distribution_figure({"same-seed A/B": ev.ab, "nearest training": nearest, "different-seed A/B": ev.null,
                                                      "held-out image, nearest training": ref},
                                                      title=f"{protocol} N={ev.n}", xlabel="correlation", vline=copy),
                 "the dashed line is the copy threshold")
    if ci_nn[0] > copy:
        claim.conclude(REFUTED, f"samples are copies: median nearest-training correlation {med_nn:.3f} (CI {ci_nn[0]:.3f}..{ci_nn[1]:.3f}) above {copy}")
    elif test.p < test.alpha and ci_nn[1] < copy:
        claim.conclude(SUPPORTED, f"same-seed A/B samples ({med_ab:.3f}) are closer to each other than to their nearest training image ({med_nn:.3f}), p={test.p:.2g}")
    elif against.p < against.alpha:
        # like with like: each sample against its own model's training set, as each held-out image
        med_own = float(np.median(np.concatenate([ev.nn_a, ev.nn_b])))
        like = "no closer to it than held-out images are" if med_own <= ci_ref[1] else "closer to it than held-out images are"
        claim.conclude(REFUTED, f"samples are closer to their nearest training image ({med_nn:.3f}) than to each other ({med_ab:.3f}), p={against.p:.2g}; "
                                f"per model they are {like} ({med_own:.3f} vs {med_ref:.3f}, CI {ci_ref[0]:.3f}..{ci_ref[1]:.3f})")
    else:
        claim.conclude(INCONCLUSIVE, f"no significant difference between A/B ({med_ab:.3f}) and nearest-training ({med_nn:.3f}) correlation, p={test.p:.2g}")
