"""attribute-weakens-convergence (T25 §5.2, §6.1): same-noise convergence is weaker on attribute
splits than on random splits at equal N.

At the largest N of the attribute protocol, the random split is evaluated at the same N (the
profile's random grid must contain it). Convergence = per-seed same-seed A/B correlation minus the
median different-seed correlation of the same pair (so each split is measured against its own
null). SUPPORTED when a one-sided Mann-Whitney test (alpha 0.05) says the attribute split's
convergence is lower; REFUTED when it is significantly higher; INCONCLUSIVE otherwise.

Where the profile trains training-seed replicates of both pairs (``Profile.replicated_pairs``), the
test runs on each replicate and a verdict needs all of them to agree; otherwise INCONCLUSIVE. Added
2026-12-01 (commits 5fae830 and e63a308): on the background-rich smoke data the eyeglasses comparison was
REFUTED with training seeds 0/1 (0.543 vs 0.415, p 0.002) and equal with seeds 2/3 and 4/5 (0.547 vs
0.547, 0.623 vs 0.645; scripts/seed_check.py --attributes), the training-seed dependence that made
originality, identity-less-stable and identity-psnr-equal judge their replicates."""

import numpy as np
import pytest
from scipy import stats

from studies.claims.core import ATTRIBUTE_PROTOCOLS, distribution_figure, replicated_with_random_reference, replicates_agree, same_noise_grid_figure
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED


@pytest.mark.zoo
@pytest.mark.claim("attribute-weakens-convergence", source="T25 §5.2, §6.1",
                   statement="Convergence is weaker on attribute splits than on random splits at equal N.")
@pytest.mark.parametrize("protocol", ATTRIBUTE_PROTOCOLS)
def test_attribute_weakens_convergence(claim, profile, evaluation, protocol):
    pairs = replicated_with_random_reference(profile, evaluation, protocol)
    ev, ref = pairs[0]
    claim.param(protocol=protocol, n=ev.n, reference="random", replicates=len(pairs))
    per = []
    for e, f in pairs:
        conv_attr = e.ab - np.median(e.null)
        conv_rand = f.ab - np.median(f.null)
        less = stats.mannwhitneyu(conv_attr, conv_rand, alternative="less")
        more = stats.mannwhitneyu(conv_attr, conv_rand, alternative="greater")
        per.append((conv_attr, conv_rand, float(less.pvalue), float(more.pvalue)))
    conv_attr, conv_rand, p_less, p_more = per[0]
    claim.method("per-seed convergence = same-seed A/B correlation minus the pair's median different-seed correlation; one-sided Mann-Whitney U (scipy), alpha 0.05"
                 + (f"; each of {len(pairs)} training-seed replicates tested, all must agree" if len(pairs) > 1 else ""))
    claim.measure(f"median convergence, {protocol}", float(np.median(conv_attr)), key=True)
    claim.measure("median convergence, random", float(np.median(conv_rand)))
    claim.measure("Mann-Whitney p (attribute < random)", p_less, threshold=0.05, direction="<")
    for r, (ca, cr, pl, pm) in enumerate(per[1:], start=1):
        claim.measure(f"replicate {r}: median convergence {protocol} / random, p (less) / p (greater)",
                      f"{np.median(ca):.3f} / {np.median(cr):.3f}, {pl:.2g} / {pm:.2g}")
    claim.figure("convergence", distribution_figure({f"{protocol}": np.concatenate([c[0] for c in per]), "random": np.concatenate([c[1] for c in per])},
                                                     title=f"N={ev.n}: same-seed convergence" + (f", {len(per)} replicates" if len(per) > 1 else ""),
                                                     xlabel="A/B correlation above the different-seed median"), "")
    claim.figure("same-noise samples", same_noise_grid_figure([ref, ev], f"random (upper block) vs {protocol} (lower block)"), "")
    each = "; ".join(f"{np.median(ca):.3f} vs {np.median(cr):.3f} (p {pl:.2g} / {pm:.2g})" for ca, cr, pl, pm in per)
    if len(per) > 1:
        each = f"{len(per)} training-seed replicates, {protocol} vs random convergence (p lower / higher): {each}"
    verdict = replicates_agree([SUPPORTED if pl < 0.05 else REFUTED if pm < 0.05 else INCONCLUSIVE for _, _, pl, pm in per])
    if verdict == SUPPORTED:
        claim.conclude(SUPPORTED, f"convergence on {protocol} is lower than on random at N={ev.n}: {each}")
    elif verdict == REFUTED:
        claim.conclude(REFUTED, f"convergence on {protocol} is higher than on random at N={ev.n}: {each}")
    else:
        claim.conclude(INCONCLUSIVE, f"no difference in the same direction in every replicate at N={ev.n} with {len(conv_attr)} seeds each: {each}")
