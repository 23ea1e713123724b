"""memorization-small-n (K24 Fig. 2): at the smallest N, samples copy training images.

Measured at the smallest N of each protocol: the correlation of every sample (models A and B, all
seeds) with its nearest image of its own model's training set. SUPPORTED when the bootstrap CI of
the median lies above ``copy_corr`` (a sample that close is a copy up to noise): rule
``rules.ci_vs_threshold``, a statement about the one trained pair at that N (no replicate there). Also reported:
the share of samples that Gu et al.'s criterion calls memorised (nearest / second-nearest L2
distance < 1/3)."""

import numpy as np
import pytest

from studies.claims import operating, rules
from studies.claims.core import claim_case, median_ci, nearest_panel_figure
from studies.metrics.criteria import ratio_to_memorized


@pytest.mark.claim("memorization-small-n")
def test_memorization_small_n(claim, profile, evaluation, trained, protocol):
    protocol, control = claim_case(claim, protocol)
    n = profile.protocol(protocol).n_grid[0]
    ev = evaluation(protocol, n, control=control)
    claim.param(protocol=protocol, n=ev.n)
    nn = np.concatenate([ev.nn_a, ev.nn_b])
    med, ci = median_ci(nn)
    threshold = claim.threshold("copy_corr")
    claim.method(f"median over {len(nn)} samples (A and B, {len(ev.ab)} seeds) of the correlation with the nearest own training image; 95% percentile bootstrap CI must lie above {threshold}")
    claim.measure("median nearest-training correlation", med, ci=ci, threshold="copy_corr", direction=">", key=True)
    # reported, not decided on: what images that are not copies (held out) score against the same set
    ref_med, ref_ci = median_ci(np.concatenate([ev.ref_a, ev.ref_b]))
    claim.measure("median nearest-training correlation of held-out images (reference, not a copy)", ref_med, ci=ref_ci)
    ratios = np.concatenate([ev.ratio_a, ev.ratio_b])
    gu = float(np.mean(ratio_to_memorized(ratios[np.isfinite(ratios)]))) if np.isfinite(ratios).any() else float("nan")
    claim.measure("share memorised by Gu et al. (d1/d2 < 1/3)", gu)
    claim.measure("sampler: diverged or max_T stops", sum(v for g in ev.status_counts().values() for k, v in g.items() if k != "converged"))
    claim.figure("nearest training images", nearest_panel_figure(ev, trained(protocol, "A", n, control=control).train_images),
                 "samples of model A (top) and their nearest training image by correlation (bottom)")
    claim.propose("copy_corr", 0.95, "K24's dedup treats |corr| > 0.95 as the same image; a sample that close to a training image is a copy")
    d = rules.ci_vs_threshold("median nearest-training correlation", ci, threshold, what="samples copy training images",
                              unit_note=f"a statement about the one trained pair at N={ev.n}: the profile trains no replicate there")
    # power at copies up to noise: half-way between the threshold and an exact copy (correlation 1)
    claim.rule(operating.ci_threshold(len(nn), float(np.std(nn, ddof=1)), threshold, (1 - threshold) / 2), decided_by=d.rule)
    claim.conclude(d.verdict, d.reason)
