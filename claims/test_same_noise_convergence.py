"""same-noise-convergence (K24 Fig. 2; T25 Fig. 3): samples of A and B from one seed converge as N grows.

Measured per protocol and N: the correlation of A's and B's samples of the same seed, against its
null, the correlation of A's and B's samples of different seeds (faces are alike, so unrelated
samples already correlate). Convergence at N = the excess of the same-seed median over the
different-seed median, with a bootstrap CI. SUPPORTED when the excess grows with N (one-sided
Spearman on the per-seed same-seed correlation against log N for grids of >= 3 sizes; otherwise
the largest N's CI lies above the smallest N's) and at the largest N its CI lies above
``excess_min``; REFUTED when the largest-N excess CI lies below ``excess_min``."""

import numpy as np
import pytest

from studies.claims.core import PROTOCOLS, distribution_figure, same_noise_grid_figure, shift_ci, similarity_vs_n_figure
from studies.claims.verdict import INCONCLUSIVE, REFUTED, SUPPORTED
from studies.metrics.criteria import reproducibility_score
from studies.stats import trend_test


@pytest.mark.zoo
@pytest.mark.claim("same-noise-convergence", source="K24 Fig. 2; T25 Fig. 3",
                   statement="Samples of A and B from the same seed converge as N grows.")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_same_noise_convergence(claim, profile, evaluation, trained, protocol):
    evals = [evaluation(protocol, n) for n in profile.protocol(protocol).n_grid]
    claim.param(protocol=protocol, n_grid=[ev.n for ev in evals], start=evals[0].summary["start"])
    excess_min = claim.threshold("excess_min")
    repro_corr = claim.threshold("reproducible_corr")
    rows, excesses = [], []
    for ev in evals:
        ex, ci = shift_ci(ev.ab, ev.null)
        excesses.append((ex, ci))
        rows.append([ev.n, round(float(np.median(ev.ab)), 3), round(float(np.median(ev.null)), 3), round(ex, 3),
                     [round(v, 3) for v in ci], round(reproducibility_score(ev.ab, threshold=repro_corr), 3)])
        claim.measure(f"excess at N={ev.n}", ex, ci=ci, key=ev is evals[-1],
                      **({"threshold": "excess_min", "direction": ">"} if ev is evals[-1] else {}))
    claim.table("same-seed vs different-seed A/B correlation",
                ["N", "same-seed median", "different-seed median", "excess", "excess CI", f"share of seeds > {repro_corr} (Zhang et al.)"], rows)
    if len(evals) >= 3:
        xs = [np.log10(ev.n) for ev in evals for _ in ev.ab]
        ys = [v for ev in evals for v in ev.ab]
        trend = trend_test(xs, ys, method="spearman", alternative="increasing")
        grows = trend.p < trend.alpha
        claim.measure("trend p (one-sided, increasing)", trend.p, threshold=0.05, direction="<")
        claim.method(f"growth: {trend.describe()} on per-seed same-seed correlations")
    else:
        grows = excesses[-1][1][0] > excesses[0][1][1]
        claim.method("growth: the largest N's excess CI lies above the smallest N's")
    claim.method(f"convergence at N = median same-seed minus median different-seed A/B correlation, 95% bootstrap CI; the largest N's CI must lie above {excess_min}")
    claim.figure("A/B and nearest-training similarity vs N", similarity_vs_n_figure(evals, protocol),
                 "K24 Fig. 2 in numbers: same-seed A/B correlation rising above its different-seed null as N grows is generalisation; "
                 "a sample's correlation with its nearest training image above the held-out reference is memorisation")
    nearest = [(trained(protocol, "A", n).train_images, trained(protocol, "B", n).train_images) for n in profile.protocol(protocol).n_grid]
    claim.figure("same-noise grid", same_noise_grid_figure(evals, protocol, nearest=nearest),
                 "one block per N; in each, model A's samples above model B's from the same noise (one column per seed), each beside its nearest training image")
    claim.figure("A/B correlation", distribution_figure(
        {**{f"N={ev.n} same seed": ev.ab for ev in evals}, f"N={evals[-1].n} different seeds": evals[-1].null},
        title=f"{protocol}: A/B sample correlation", xlabel="correlation"), "per-seed same-seed correlation per N and the different-seed null")
    claim.propose("excess_min", 0.1, "a same-seed correlation 0.1 above unrelated pairs is a visible resemblance at smoke scale")
    lo, hi = excesses[-1][1]
    if grows and lo > excess_min:
        claim.conclude(SUPPORTED, f"same-seed A/B correlation grows with N and exceeds the different-seed null by {excesses[-1][0]:.3f} (CI {lo:.3f}..{hi:.3f}) at N={evals[-1].n}")
    elif hi < excess_min:
        claim.conclude(REFUTED, f"at N={evals[-1].n} same-seed samples are no closer than {excess_min} above different-seed ones (excess CI {lo:.3f}..{hi:.3f})")
    else:
        claim.conclude(INCONCLUSIVE, f"growth {'significant' if grows else 'not significant'}; largest-N excess CI {lo:.3f}..{hi:.3f} vs {excess_min}")
