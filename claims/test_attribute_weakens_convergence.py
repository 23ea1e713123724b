"""attribute-weakens-convergence (T25 §5.2, §6.1): same-noise convergence is weaker on attribute
splits than on random splits at equal N.

At the largest N of the attribute protocol, the random split is evaluated at the same N (the
profile's random grid must contain it). Convergence = per-seed same-seed A/B correlation minus the
median different-seed correlation of the same pair (so each split is measured against its own
null). SUPPORTED when a one-sided Mann-Whitney test (alpha 0.05) says the attribute split's
convergence is lower; REFUTED when it is significantly higher; INCONCLUSIVE otherwise."""

import numpy as np
import pytest
from scipy import stats

from studies.claims.core import ATTRIBUTE_PROTOCOLS, distribution_figure, same_noise_grid_figure, with_random_reference
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED


@pytest.mark.zoo
@pytest.mark.claim("attribute-weakens-convergence", source="T25 §5.2, §6.1",
                   statement="Convergence is weaker on attribute splits than on random splits at equal N.")
@pytest.mark.parametrize("protocol", ATTRIBUTE_PROTOCOLS)
def test_attribute_weakens_convergence(claim, profile, evaluation, protocol):
    ev, ref = with_random_reference(profile, evaluation, protocol)
    claim.param(protocol=protocol, n=ev.n, reference="random")
    conv_attr = ev.ab - np.median(ev.null)
    conv_rand = ref.ab - np.median(ref.null)
    less = stats.mannwhitneyu(conv_attr, conv_rand, alternative="less")
    more = stats.mannwhitneyu(conv_attr, conv_rand, alternative="greater")
    claim.method("per-seed convergence = same-seed A/B correlation minus the pair's median different-seed correlation; one-sided Mann-Whitney U (scipy), alpha 0.05")
    claim.measure(f"median convergence, {protocol}", float(np.median(conv_attr)), key=True)
    claim.measure("median convergence, random", float(np.median(conv_rand)))
    claim.measure("Mann-Whitney p (attribute < random)", float(less.pvalue), threshold=0.05, direction="<")
    claim.figure("convergence", distribution_figure({f"{protocol}": conv_attr, "random": conv_rand},
                                                     title=f"N={ev.n}: same-seed convergence", xlabel="A/B correlation above the different-seed median"), "")
    claim.figure("same-noise samples", same_noise_grid_figure([ref, ev], f"random (left) vs {protocol} (right)"), "")
    if less.pvalue < 0.05:
        claim.conclude(SUPPORTED, f"convergence on {protocol} ({np.median(conv_attr):.3f}) is lower than on random ({np.median(conv_rand):.3f}) at N={ev.n}, p={less.pvalue:.2g}")
    elif more.pvalue < 0.05:
        claim.conclude(REFUTED, f"convergence on {protocol} ({np.median(conv_attr):.3f}) is higher than on random ({np.median(conv_rand):.3f}) at N={ev.n}, p={more.pvalue:.2g}")
    else:
        claim.conclude(INCONCLUSIVE, f"no significant difference at N={ev.n} with {len(conv_attr)} seeds (p={less.pvalue:.2g})")
