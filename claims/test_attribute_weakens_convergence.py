"""attribute-weakens-convergence (T25 §5.2, §6.1): same-noise convergence is weaker on attribute
splits than on random splits at equal N.

At the largest N of the attribute protocol, the random split is evaluated at the same N (the
profile's random grid must contain it). Convergence = per-seed same-seed A/B correlation minus the
median different-seed correlation of the same pair (so each split is measured against its own
null).

The unit is the trained pair: per training-seed replicate of both pairs (``Profile.replicated_pairs``),
the random pair's median convergence minus the attribute pair's. Rule ``rules.pair_difference``
(one-sided t tests on those differences): SUPPORTED when the attribute split converges less, REFUTED
when more. Replicates were added 2026-12-01 (commits 5fae830 and e63a308): on the background-rich smoke data the
eyeglasses comparison was REFUTED with training seeds 0/1 (0.543 vs 0.415, p 0.002) and equal with
seeds 2/3 and 4/5 (scripts/seed_check.py --attributes). Until 2026-12-02 each replicate was judged by
a per-seed Mann-Whitney test and all had to agree; those tests are still reported, not decided on.

The memorising control on an attribute split (``<attribute>-control-memorising``) ends not applicable,
saying why (``core.NO_CONVERGENCE``)."""

import numpy as np
import pytest
from scipy import stats

from studies.claims import operating, rules
from studies.claims.core import convergence_vs_random_case, distribution_figure, same_noise_grid_figure

# what the memorising control lacks here (core.NO_CONVERGENCE: the case ends not applicable)
NO_ANSWER = ("convergence is absent on the attribute split and on the random "
             "one alike, and what is left (the residual same-noise correlation "
             "of two copies) is not what the claim compares")

# the pair-level convergence difference the power is measured at: same-noise-convergence's excess_min
EFFECT = 0.1


@pytest.mark.claim("attribute-weakens-convergence")
def test_attribute_weakens_convergence(claim, profile, evaluation, protocol):
    protocol, pairs = convergence_vs_random_case(claim, profile, evaluation, protocol, no_answer=NO_ANSWER)
    ev, ref = pairs[0]
    per = []
    for e, f in pairs:
        conv_attr = e.ab - np.median(e.null)
        conv_rand = f.ab - np.median(f.null)
        less = stats.mannwhitneyu(conv_attr, conv_rand, alternative="less")
        more = stats.mannwhitneyu(conv_attr, conv_rand, alternative="greater")
        per.append((conv_attr, conv_rand, float(less.pvalue), float(more.pvalue)))
    conv_attr, conv_rand, p_less, p_more = per[0]
    diffs = [float(np.median(cr) - np.median(ca)) for ca, cr, _, _ in per]
    d = rules.pair_difference(diffs, what=f"pairs trained on the {protocol} split converge less than random pairs at equal N")
    claim.method("per-seed convergence = same-seed A/B correlation minus the pair's median different-seed correlation; per training-seed "
                 f"replicate ({len(pairs)}) the random pair's median minus the {protocol} pair's; one-sided t tests on those pair-level "
                 f"differences, alpha {rules.ALPHA} (rules.pair_difference); per-replicate Mann-Whitney tests over seeds reported only")
    claim.rule(operating.pair_t(len(diffs), float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0, EFFECT), decided_by=d.rule)
    claim.measure(f"median convergence, {protocol}", float(np.median(conv_attr)), key=True)
    claim.measure("median convergence, random", float(np.median(conv_rand)))
    claim.measure("replicate 0: Mann-Whitney p over seeds (attribute < random; reported only)", p_less)
    if "p_greater" in d.details:
        claim.measure("pair-level t p (attribute converges less)", d.details["p_greater"], threshold=rules.ALPHA, direction="<")
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
    claim.conclude(d.verdict, d.reason + f"; per replicate {protocol} vs random median convergence (Mann-Whitney p lower / higher): {each}")
