"""identity-less-stable (T25 §5.3): with identity-disjoint splits, same-noise convergence diverges
for more seeds than with identity-overlapping (random) splits.

At the largest N of the identity protocol (the random grid must contain it): a seed "diverges" when
its same-seed A/B correlation does not exceed the 95th percentile of the pair's own different-seed
null. SUPPORTED when the identity split has a larger share of diverging seeds (one-sided Fisher
exact test, alpha 0.05); REFUTED when it has a significantly smaller share; INCONCLUSIVE otherwise
(T25 showed one example seed and no count)."""

import numpy as np
import pytest
from scipy import stats

from studies.claims.core import distribution_figure, same_noise_grid_figure, with_random_reference
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED


@pytest.mark.zoo
@pytest.mark.claim("identity-less-stable", source="T25 §5.3",
                   statement="Identity-disjoint convergence diverges for more seeds than identity-overlapping convergence.")
@pytest.mark.parametrize("protocol", ["identity"])
def test_identity_less_stable(claim, profile, evaluation, protocol):
    ev, ref = with_random_reference(profile, evaluation, "identity")
    claim.param(protocol=protocol, n=ev.n, reference="random")
    div_id = ev.ab <= np.quantile(ev.null, 0.95)
    div_rd = ref.ab <= np.quantile(ref.null, 0.95)
    table = [[int(div_id.sum()), int((~div_id).sum())], [int(div_rd.sum()), int((~div_rd).sum())]]
    more = stats.fisher_exact(table, alternative="greater")
    fewer = stats.fisher_exact(table, alternative="less")
    claim.method("a seed diverges when its same-seed A/B correlation is at most the 95th percentile of the pair's different-seed correlations; one-sided Fisher exact test (scipy), alpha 0.05")
    claim.measure("share of diverging seeds, identity", float(div_id.mean()), key=True)
    claim.measure("share of diverging seeds, random", float(div_rd.mean()))
    claim.measure("Fisher p (identity > random)", float(more.pvalue), threshold=0.05, direction="<")
    claim.measure("IQR of same-seed correlation, identity", float(np.subtract(*np.quantile(ev.ab, [0.75, 0.25]))))
    claim.measure("IQR of same-seed correlation, random", float(np.subtract(*np.quantile(ref.ab, [0.75, 0.25]))))
    claim.table("diverging seeds", ["split", "diverging", "converging"], [["identity"] + table[0], ["random"] + table[1]])
    claim.figure("per-seed A/B correlation", distribution_figure({"identity same seed": ev.ab, "identity different seeds": ev.null,
                                                                  "random same seed": ref.ab, "random different seeds": ref.null},
                                                                 title=f"N={ev.n}", xlabel="A/B correlation"), "")
    claim.figure("same-noise samples", same_noise_grid_figure([ref, ev], "random (left) vs identity (right)", seeds=6), "")
    if more.pvalue < 0.05:
        claim.conclude(SUPPORTED, f"{div_id.sum()}/{len(div_id)} identity seeds diverge vs {div_rd.sum()}/{len(div_rd)} random, p={more.pvalue:.2g}")
    elif fewer.pvalue < 0.05:
        claim.conclude(REFUTED, f"fewer identity seeds diverge ({div_id.sum()}/{len(div_id)}) than random ({div_rd.sum()}/{len(div_rd)}), p={fewer.pvalue:.2g}")
    else:
        claim.conclude(INCONCLUSIVE, f"{div_id.sum()}/{len(div_id)} identity vs {div_rd.sum()}/{len(div_rd)} random seeds diverge: no significant difference (p={more.pvalue:.2g})")
