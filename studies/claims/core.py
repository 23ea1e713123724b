"""Shared pieces of the core claims (psnr-gap, memorization, convergence, originality, attributes,
identity): the parametrisation over protocols, the decision rules as plain functions of measured
numbers (unit-tested in tests/test_claims_core.py), and the report figures.

Every similarity is judged against a null, never against 0: synthetic and real faces are alike, so
two unrelated samples already correlate (SPEC §9). The null of a same-seed A/B correlation is the
correlation of A's and B's samples of *different* seeds."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..stats import bootstrap_ci
from .rules import ALPHA
from .verdict import INCONCLUSIVE

PROTOCOLS = ("random", "identity", "eyeglasses", "male")
ATTRIBUTE_PROTOCOLS = ("eyeglasses", "male")
# the decision rules live in studies.claims.rules (ALPHA is registered there, once)

# Controls with a known answer, each its own parametrisation id of the claims it runs in:
# memorising: the empirical optimal denoiser of each group's training set (Zoo.memorising) in place
# of the trained pair; held-out: images no model saw in place of samples (the negative control of
# claims about samples, studies.claims.rules.contrast)
MEMORISING_CONTROL = "random-control-memorising"
HELDOUT_CONTROL = "random-control-heldout"
# gaussian: images of a known Gaussian distribution and closed-form denoisers fitted on disjoint
# halves (studies.gaussian), over GAUSSIAN_GRID with Profile.replicates image draws at every N
GAUSSIAN_CONTROL = "gaussian-control"
GAUSSIAN_GRID = (10, 300, 1000, 4000)
CONTROLS = {MEMORISING_CONTROL: ("random", "memorising"), HELDOUT_CONTROL: ("random", "held-out"), GAUSSIAN_CONTROL: ("gaussian", "gaussian")}


def parse_case(param: str) -> tuple[str, str | None]:
    """(protocol, control kind or None) of a claim's parametrisation id."""
    return CONTROLS.get(param, (param, None))


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


def perceptual_inputs(claim, profile, evaluation, trained, case: str):
    """(LPIPS metric, the images judged as samples, the held-out control images, A's training
    images) at the protocol's largest N for the perceptual claims, recording the shared parameters
    and notes; None after concluding INCONCLUSIVE when genuine LPIPS weights are missing (never a
    random backbone).

    The control is ``HELDOUT_IMAGES`` images of model A's held-out set (never trained on; the first
    of ``studies.evaluate.heldout_images``): a claim about samples is judged by the contrast samples
    vs this control (``rules.contrast``). The case ``random-control-heldout`` puts the next
    ``HELDOUT_IMAGES`` held-out images in the samples' place (the negative control);
    ``random-control-memorising`` the samples of the memorising control (``Zoo.memorising``)."""
    from ..errors import MissingResourceError
    from ..evaluate import heldout_images
    from ..metrics.perceptual import LPIPS
    from ..metrics.rerank import evaluation_samples

    protocol, control = parse_case(case)
    if control:
        claim.control(control)
    n = profile.protocol(protocol).n_grid[-1]
    claim.param(protocol=protocol, N=n, group="A", k=int(claim.threshold("k")), seeds=profile.sample.n_seeds, control=control)
    try:
        metric = LPIPS("vgg")
    except MissingResourceError as exc:
        claim.conclude(INCONCLUSIVE, f"genuine LPIPS weights missing: {exc}")
        return None
    kind = "memorising" if control == "memorising" else None
    # the held-out control needs only model A's training and held-out images: the memorising
    # control's model object holds them without a trained network
    model = trained(protocol, "A", n, control="memorising") if control else trained(protocol, "A", n)
    held = heldout_images(model, 2 * HELDOUT_IMAGES)
    reference = held[:HELDOUT_IMAGES]
    if control == "held-out":
        claim.note(f"negative control: {HELDOUT_IMAGES} held-out images of model A's held-out set (never trained on) take the samples' place, "
                   f"contrasted with {HELDOUT_IMAGES} other held-out images; no model is involved")
        return metric, held[HELDOUT_IMAGES:], reference, model.train_images
    samples, train, notes = evaluation_samples(evaluation(protocol, n, control=kind) if kind else evaluation(protocol, n), model)
    claim.note(f"LPIPS-VGG v0.1 backbone: {metric.status['source']}; sampler stops {notes['statuses']}; samples mapped to the "
               f"training images' intensity before LPIPS (per-image mean/sd {notes['raw_mean']:.3f}/{notes['raw_sd']:.3f} -> "
               f"{notes['data_mean']:.3f}/{notes['data_sd']:.3f}: a bias-free sampler leaves them undetermined, studies.metrics.intensity), "
               f"then {100 * notes['clipped_fraction']:.1f}% of pixels clipped to [0, 1]; control: {HELDOUT_IMAGES} held-out images of model A")
    return metric, samples, reference, train


# held-out images of the perceptual claims' negative control (as many as the smoke profile's sampling seeds)
HELDOUT_IMAGES = 64


def median_ci(x: Sequence[float], *, seed: int = 0) -> tuple[float, tuple[float, float]]:
    x = np.asarray(x, dtype=np.float64)
    return float(np.median(x)), tuple(bootstrap_ci(x, np.median, n_boot=2000, seed=seed))


def mean_ci(x: Sequence[float], *, seed: int = 0) -> tuple[float, tuple[float, float]]:
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(x)), tuple(bootstrap_ci(x, np.mean, n_boot=2000, seed=seed))


def replicate_range(profile, protocol: str, n: int) -> range:
    """The training-seed replicates the profile trains of ``protocol`` at N (``Profile.replicated``):
    every claim uses every replicate of a cell it reads, the same way (one summary per pair). The
    Gaussian control costs no training: every N has all replicates."""
    if protocol == "gaussian":
        return range(max(1, profile.replicates))
    return range(profile.replicates) if profile.replicated(protocol, n) else range(1)


def case_grid(profile, protocol: str) -> tuple[int, ...]:
    """The N grid of a protocol, or of the Gaussian control."""
    return GAUSSIAN_GRID if protocol == "gaussian" else tuple(profile.protocol(protocol).n_grid)


def cell_evaluations(profile, evaluation, protocol: str, n: int, control: str | None = None) -> list:
    """The pair evaluations of every replicate of (protocol, N), replicate 0 first (of the
    memorising control where ``control`` says so: its replicates differ in sampling seeds only)."""
    kw = {"control": control} if control else {}
    return [evaluation(protocol, n, replicate=r, **kw) for r in replicate_range(profile, protocol, n)]


def shift_ci(a: Sequence[float], b: Sequence[float], *, seed: int = 0, n_boot: int = 2000) -> tuple[float, tuple[float, float]]:
    """Difference of medians median(a) - median(b) with a percentile bootstrap CI resampling a and
    b independently. Descriptive only (a CI within one pair, reported beside a verdict): the
    different-seed correlations of one pair share its samples (each in 2(S-1) of them), so this CI
    is too narrow to decide on; the rules decide on pair-level summaries (studies.claims.rules)."""
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
