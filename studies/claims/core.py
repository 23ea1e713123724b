"""Shared pieces of the core claims (psnr-gap, memorization, convergence, originality, attributes,
identity): the parametrisation over protocols, the decision rules as plain functions of measured
numbers (unit-tested in tests/test_claims_core.py), and the report figures.

Every similarity is judged against a null, never against 0: synthetic and real faces are alike, so
two unrelated samples already correlate (SPEC §9). The null of a same-seed A/B correlation is the
correlation of A's and B's samples of *different* seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..stats import bootstrap_ci, trend_test
from .verdict import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

PROTOCOLS = ("random", "identity", "eyeglasses", "male", "footwear")
ATTRIBUTE_PROTOCOLS = ("eyeglasses", "male", "footwear")
# what each protocol needs of the data; a profile without the protocol reports its claims "not
# applicable" with this reason (claims/conftest.py), never an error or a silent skip
PROTOCOL_NEEDS = {"identity": "identities", "eyeglasses": "the attribute Eyeglasses", "male": "the attribute Male",
                  "footwear": "the attribute Footwear (Fashion-MNIST's sandal, sneaker and ankle-boot classes)"}
ALPHA = 0.05


def absent_protocol_reason(profile, protocol: str) -> str | None:
    """Why ``protocol``'s claims do not apply to ``profile`` (None when the profile has it)."""
    if any(p.name == protocol for p in profile.protocols):
        return None
    data = {"synthetic": "synthetic faces", "celeba": "CelebA", "fashion": "Fashion-MNIST", "array": "the user's images"}.get(profile.data.source, profile.data.source)
    need = PROTOCOL_NEEDS.get(protocol, f"what protocol {protocol} splits on")
    return f"profile {profile.name} has no {protocol} protocol: it needs {need}, which its data ({data}) lacks or the profile does not split on"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def with_random_reference(profile, evaluation, protocol: str):
    """(pair of ``protocol`` at its largest N, random pair at the same N): the claims that compare a
    protocol with the random split do it at equal N (the profile registry guarantees the random grid
    holds that N)."""
    ev = evaluation(protocol, profile.protocol(protocol).n_grid[-1])
    return ev, evaluation("random", ev.n)


def replicated_with_random_reference(profile, evaluation, protocol: str) -> list:
    """``with_random_reference`` for each of ``profile.replicates`` training-seed replicates: a list
    of (pair of ``protocol``, random pair) at the protocol's largest N, replicate 0 first."""
    n = profile.protocol(protocol).n_grid[-1]
    out = []
    for r in range(profile.replicates):
        ev = evaluation(protocol, n, replicate=r)
        out.append((ev, evaluation("random", ev.n, replicate=r)))
    return out


def perceptual_inputs(claim, profile, evaluation, trained, protocol: str):
    """(LPIPS metric, model A's samples, A's training images) at the protocol's largest N for the
    perceptual claims, recording the shared parameters and notes; None after concluding
    INCONCLUSIVE when genuine LPIPS weights are missing (never a random backbone)."""
    from ..errors import MissingResourceError
    from ..metrics.perceptual import LPIPS
    from ..metrics.rerank import evaluation_samples

    n = profile.protocol(protocol).n_grid[-1]
    claim.param(protocol=protocol, N=n, group="A", k=int(claim.threshold("k")), seeds=profile.sample.n_seeds)
    try:
        metric = LPIPS("vgg")
    except MissingResourceError as exc:
        claim.conclude(INCONCLUSIVE, f"genuine LPIPS weights missing: {exc}")
        return None
    samples, train, notes = evaluation_samples(evaluation(protocol, n), trained(protocol, "A", n))
    claim.note(f"LPIPS-VGG v0.1 backbone: {metric.status['source']}; sampler stops {notes['statuses']}; samples mapped to the "
               f"training images' intensity before LPIPS (per-image mean/sd {notes['raw_mean']:.3f}/{notes['raw_sd']:.3f} -> "
               f"{notes['data_mean']:.3f}/{notes['data_sd']:.3f}: a bias-free sampler leaves them undetermined, studies.metrics.intensity), "
               f"then {100 * notes['clipped_fraction']:.1f}% of pixels clipped to [0, 1]")
    return metric, samples, train


def median_ci(x: Sequence[float], *, seed: int = 0) -> tuple[float, tuple[float, float]]:
    x = np.asarray(x, dtype=np.float64)
    return float(np.median(x)), tuple(bootstrap_ci(x, np.median, n_boot=2000, seed=seed))


def mean_ci(x: Sequence[float], *, seed: int = 0) -> tuple[float, tuple[float, float]]:
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(x)), tuple(bootstrap_ci(x, np.mean, n_boot=2000, seed=seed))


def decide_gap(ns: Sequence[int], gaps: Sequence[Sequence[float]], gap_cis_last: tuple[float, float],
               gap_cis_first: tuple[float, float], *, matched_db: float, alpha: float = ALPHA) -> tuple[Decision, object]:
    """psnr-gap: the gap shrinks with N (one-sided Spearman on every model's gap against N when the
    grid has >= 3 sizes; with 2 sizes, non-overlapping CIs) and the largest N is matched (CI upper
    bound below ``matched_db``). ``gaps[i]`` are the per-model gaps (A and B) at ``ns[i]``."""
    xs = [n for n, g in zip(ns, gaps) for _ in g]
    ys = [v for g in gaps for v in g]
    trend = None
    if len(ns) >= 3:
        trend = trend_test(np.log10(xs), ys, method="spearman", alternative="decreasing", alpha=alpha)
        shrinks = trend.p < alpha
        flat_or_growing = trend.statistic >= 0
    else:
        shrinks = gap_cis_first[0] > gap_cis_last[1]
        flat_or_growing = np.mean(gaps[-1]) >= np.mean(gaps[0])
    matched = gap_cis_last[1] < matched_db
    unmatched = gap_cis_last[0] > matched_db
    last = float(np.mean(gaps[-1]))
    if shrinks and matched:
        return Decision(SUPPORTED, f"gap shrinks with N and is {last:.2f} dB at N={ns[-1]} (CI upper {gap_cis_last[1]:.2f} < {matched_db} dB)"), trend
    if flat_or_growing:
        return Decision(REFUTED, f"the gap does not shrink with N (gap at N={ns[-1]}: {last:.2f} dB)"), trend
    if shrinks and unmatched:
        return Decision(REFUTED, f"gap shrinks but stays {last:.2f} dB at N={ns[-1]} (CI lower {gap_cis_last[0]:.2f} > {matched_db} dB)"), trend
    return Decision(INCONCLUSIVE, f"too little power: shrink test {'passed' if shrinks else 'not significant'}, gap at N={ns[-1]} {last:.2f} dB CI {gap_cis_last[0]:.2f}..{gap_cis_last[1]:.2f} vs {matched_db} dB"), trend


def decide_above(name: str, value_ci: tuple[float, float], threshold: float, *, what: str) -> Decision:
    """SUPPORTED when the CI lies above ``threshold``, REFUTED when it lies below, else INCONCLUSIVE."""
    lo, hi = value_ci
    if lo > threshold:
        return Decision(SUPPORTED, f"{name} CI {lo:.3f}..{hi:.3f} lies above {threshold}: {what}")
    if hi < threshold:
        return Decision(REFUTED, f"{name} CI {lo:.3f}..{hi:.3f} lies below {threshold}: not {what}")
    return Decision(INCONCLUSIVE, f"{name} CI {lo:.3f}..{hi:.3f} contains {threshold}: too little power to say whether {what}")


def replicates_agree(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict of a claim judged on each training-seed replicate: SUPPORTED or REFUTED when every
    replicate says so, else INCONCLUSIVE (seeds within a replicate share its models, so one pair's
    verdict is not evidence about the training procedure; SPEC §9)."""
    if not verdicts:
        raise ValueError("replicates_agree: no replicate verdicts")
    first = verdicts[0]
    return first if first in (SUPPORTED, REFUTED) and all(v == first for v in verdicts) else INCONCLUSIVE


def decide_originality(ab: Sequence[Sequence[float]], nearest: Sequence[Sequence[float]], *, copy: float,
                       alpha: float = ALPHA) -> Decision:
    """originality from per-seed same-seed A/B correlations and nearest-training correlations, one
    sequence per training-seed replicate (a list of one where the protocol has no replicates).

    Sampling seeds of one replicate share its two trained models, so the pooled signed-rank test
    alone would let one lucky pair decide: the claim also needs every replicate's median
    A/B - nearest difference on its side (SPEC §9 probes: the sign flipped with the training seed)."""
    from ..stats import paired_test

    if len(ab) != len(nearest) or not ab:
        raise ValueError("decide_originality: one A/B and one nearest sequence per replicate")
    x = np.concatenate([np.asarray(a, dtype=np.float64) for a in ab])
    y = np.concatenate([np.asarray(b, dtype=np.float64) for b in nearest])
    med_nn, ci_nn = median_ci(y)
    if ci_nn[0] > copy:
        return Decision(REFUTED, f"samples are copies: median nearest-training correlation {med_nn:.3f} (CI {ci_nn[0]:.3f}..{ci_nn[1]:.3f}) above {copy}")
    per = [float(np.median(np.asarray(a) - np.asarray(b))) for a, b in zip(ab, nearest)]
    reps = f"{len(per)} training-seed replicates, medians " + ", ".join(f"{d:+.3f}" for d in per) if len(per) > 1 else ""
    greater = paired_test(x, y, alternative="greater", method="wilcoxon", alpha=alpha)
    less = paired_test(x, y, alternative="less", method="wilcoxon", alpha=alpha)
    med_ab = float(np.median(x))
    if greater.p < alpha and ci_nn[1] < copy and all(d > 0 for d in per):
        return Decision(SUPPORTED, f"same-seed A/B samples ({med_ab:.3f}) are closer to each other than to their nearest training image ({med_nn:.3f}), p={greater.p:.2g}" + (f"; {reps}" if reps else ""))
    if less.p < alpha and all(d < 0 for d in per):
        return Decision(REFUTED, f"samples are closer to their nearest training image ({med_nn:.3f}) than to each other ({med_ab:.3f}), p={less.p:.2g}" + (f"; {reps}" if reps else ""))
    if reps and (greater.p < alpha or less.p < alpha):
        return Decision(INCONCLUSIVE, f"the pooled test is significant (A/B {med_ab:.3f} vs nearest {med_nn:.3f}, p={min(greater.p, less.p):.2g}) but the replicates disagree: {reps}")
    return Decision(INCONCLUSIVE, f"no significant difference between A/B ({med_ab:.3f}) and nearest-training ({med_nn:.3f}) correlation, p={greater.p:.2g}" + (f"; {reps}" if reps else ""))


def shift_ci(a: Sequence[float], b: Sequence[float], *, seed: int = 0, n_boot: int = 2000) -> tuple[float, tuple[float, float]]:
    """Difference of medians median(a) - median(b) with a percentile bootstrap CI resampling a and
    b independently (a and b are samples of different units, e.g. same-seed vs different-seed pairs)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    da = np.median(a[rng.integers(0, len(a), size=(n_boot, len(a)))], axis=1)
    db = np.median(b[rng.integers(0, len(b), size=(n_boot, len(b)))], axis=1)
    diff = da - db
    return float(np.median(a) - np.median(b)), (float(np.quantile(diff, ALPHA / 2)), float(np.quantile(diff, 1 - ALPHA / 2)))


# ---------------------------------------------------------------------------------------------
# figures


# display of samples: a bias-free sampler leaves a sample's overall brightness and contrast
# undetermined and the smoke models' drift dark (studies.metrics.intensity); figures show samples at
# this per-image mean / sd, or at the training images' where those are in the figure
DISPLAY_INTENSITY = (0.45, 0.2)


def _sample_display(x, stats=DISPLAY_INTENSITY) -> np.ndarray:
    from ..metrics.intensity import standardise

    return (standardise(np.asarray(x)[None]) * stats[1] + stats[0])[0].numpy()


def _img(ax, x, title=""):
    x = np.asarray(x)
    ax.imshow(np.clip(x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1), 0, 1), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def psnr_curves_figure(evals: Sequence, protocol: str):
    """Output PSNR vs input PSNR on train (left) and test (right) images per N (T25 Fig. 2)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.4))
    axes = fig.subplots(1, 3)
    for ev in evals:
        rec = ev.summary["psnr"]["A"]
        x = rec["train"]["input_psnr"]
        axes[0].plot(x, rec["train"]["mean"], marker=".", label=f"N={ev.n}")
        axes[1].plot(x, rec["test"]["mean"], marker=".", label=f"N={ev.n}")
    axes[2].plot([ev.n for ev in evals], [ev.mean_gap() for ev in evals], marker="o")
    axes[2].set_xscale("log")
    axes[2].axhline(0, color="#999", lw=0.8)
    for ax, title in zip(axes, ("train images (model A)", "test images (model A)", "gap averaged over sigma")):
        ax.set_title(title, fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("input PSNR (dB)")
        ax.set_ylabel("output PSNR (dB)")
        ax.plot([0, 45], [0, 45], color="#bbb", lw=0.6)
    axes[0].legend(fontsize=7)
    axes[2].set_xlabel("N (training images)")
    axes[2].set_ylabel("train - test PSNR (dB)")
    fig.suptitle(f"{protocol}: denoising PSNR", fontsize=10)
    fig.tight_layout()
    return fig


def same_noise_grid_figure(evals: Sequence, protocol: str, *, seeds: int = 4):
    """Rows A and B for a few seeds, one column per N: the same-noise grid of K24 Fig. 2 / T25 Fig. 3."""
    from matplotlib.figure import Figure

    k = min(seeds, len(evals[0].ab))
    fig = Figure(figsize=(1.3 * len(evals) + 0.5, 2.6 * k))
    axes = fig.subplots(2 * k, len(evals), squeeze=False)
    for j, ev in enumerate(evals):
        for s in range(k):
            _img(axes[2 * s, j], _sample_display(ev.samples_a[s]), f"N={ev.n} seed {ev.seeds[s]}\nA (r_AB={ev.ab[s]:.2f})" if s == 0 else f"A (r_AB={ev.ab[s]:.2f})")
            _img(axes[2 * s + 1, j], _sample_display(ev.samples_b[s]), "B")
    fig.suptitle(f"{protocol}: same noise, models A (upper) and B (lower)\n(each sample's brightness and contrast normalised for display)", fontsize=9)
    fig.tight_layout()
    return fig


def nearest_panel_figure(ev, train_images, *, seeds: int = 6):
    """Samples of A (top) over their nearest training image by correlation (bottom)."""
    from matplotlib.figure import Figure

    from ..metrics.intensity import intensity_stats

    k = min(seeds, len(ev.ab))
    fig = Figure(figsize=(1.3 * k, 3.0))
    axes = fig.subplots(2, k, squeeze=False)
    stats = intensity_stats(train_images)
    for s in range(k):
        _img(axes[0, s], _sample_display(ev.samples_a[s], stats), f"sample (seed {ev.seeds[s]})")
        _img(axes[1, s], np.asarray(train_images[int(ev.nn_index_a[s, 0])]), f"nearest r={ev.nn_a[s]:.3f}")
    fig.suptitle(f"{ev.protocol} N={ev.n}: samples of A and their nearest training image\n(samples at the training images' mean brightness and contrast)", fontsize=9)
    fig.tight_layout()
    return fig


def distribution_figure(groups: dict, *, title: str, xlabel: str, vline: float | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3))
    ax = fig.subplots()
    labels = list(groups)
    ax.boxplot([np.asarray(groups[k]) for k in labels], orientation="horizontal")
    ax.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax.set_xlabel(xlabel)
    if vline is not None:
        ax.axvline(vline, color="#b3261e", lw=1, ls="--")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
