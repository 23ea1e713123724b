"""Shared pieces of the core claims (psnr-gap, memorization, convergence, originality, attributes,
identity): the parametrisation over protocols and controls, the openings the claim tests share
(``grid_case``, ``claim_case``, ``perceptual_evidence``, the replicated random references), and the
report figures. Where else to look: a claim's statement and zoo needs are in ``registry.py``, its
verdict rule in ``rules.py`` (named in the claim module's docstring), its thresholds in
``claims/thresholds/<id>.toml``; the measurements read here are ``studies.evaluation``'s, whose
sampler is ``studies.sample``.

Every similarity is judged against a null, never against 0: synthetic and real faces are alike, so
two unrelated samples already correlate (SPEC §9). The null of a same-seed A/B correlation is the
correlation of A's and B's samples of *different* seeds."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..stats import bootstrap_ci
from .rules import ALPHA

PROTOCOLS = ("random", "identity", "eyeglasses", "male", "footwear")
ATTRIBUTE_PROTOCOLS = ("eyeglasses", "male", "footwear")
# what each protocol needs of the data; a profile without the protocol reports its claims "not
# applicable" with this reason (claims/conftest.py), never an error or a silent skip
PROTOCOL_NEEDS = {"identity": "identities", "eyeglasses": "the attribute Eyeglasses", "male": "the attribute Male",
                  "footwear": "the attribute Footwear (Fashion-MNIST's sandal, sneaker and ankle-boot classes)"}
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
# gaussian-unet: the profile's UNet trained (its training budget) on disjoint halves of the same
# Gaussian draw (studies.gaussian_unet), one pair at the largest smoke N: ~2 x 50 CPU-s, the most a
# control may add to CI; one pair cannot reach alpha under the pair-level rules (studies.claims.rules),
# so its verdicts are INCONCLUSIVE by design and its numbers (and the test MSE against the MMSE) are the point
GAUSSIAN_UNET_CONTROL = "gaussian-control-unet"
GAUSSIAN_UNET_GRID = (4000,)
GAUSSIAN_UNET_REPLICATES = 1
# the profile the known-answer controls run on (claims/conftest.py ends them not applicable elsewhere)
CONTROLS_PROFILE = "smoke"
# the controls whose protocol is their own images, not a split of the profile's data
OWN_DATA_CONTROLS = ("gaussian", "gaussian-unet")
CONTROLS = {MEMORISING_CONTROL: ("random", "memorising"), HELDOUT_CONTROL: ("random", "held-out"), GAUSSIAN_CONTROL: ("gaussian", "gaussian"),
            GAUSSIAN_UNET_CONTROL: ("gaussian-unet", "gaussian-unet")}


def memorising_control(protocol: str) -> str:
    """The case id of the memorising control on ``protocol``'s split (``random-control-memorising``
    for the random split): the claims that compare splits (attributes, identities) run it on theirs."""
    return f"{protocol}-control-memorising"


CONTROLS.update({memorising_control(p): (p, "memorising") for p in PROTOCOLS if p != "random"})


def absent_protocol_reason(profile, protocol: str) -> str | None:
    """Why ``protocol``'s claims do not apply to ``profile`` (None when the profile has it)."""
    if any(p.name == protocol for p in profile.protocols):
        return None
    data = {"synthetic": "synthetic faces", "celeba": "CelebA", "fashion": "Fashion-MNIST", "array": "the user's images"}.get(profile.data.source, profile.data.source)
    need = PROTOCOL_NEEDS.get(protocol, f"what protocol {protocol} splits on")
    return f"profile {profile.name} has no {protocol} protocol: it needs {need}, which its data ({data}) lacks or the profile does not split on"


def parse_case(param: str) -> tuple[str, str | None]:
    """(protocol, control kind or None) of a claim's parametrisation id."""
    return CONTROLS.get(param, (param, None))


def with_random_reference(profile, evaluation, protocol: str):
    """(pair of ``protocol`` at its largest N, random pair at the same N): the claims that compare a
    protocol with the random split do it at equal N (the profile registry guarantees the random grid
    holds that N)."""
    ev = evaluation(protocol, profile.protocol(protocol).n_grid[-1])
    return ev, evaluation("random", ev.n)


# why the memorising control has no known answer for a comparison of convergence between splits
NO_CONVERGENCE = ("two memorising denoisers (Zoo.memorising) on disjoint training sets do not converge on either split "
                  "(SPEC section 10; same-noise-convergence [random-control-memorising]): {what}, so this comparison of "
                  "convergence between splits has no known answer to check; the control's known answers are checked by "
                  "same-noise-convergence, memorization-small-n and originality")


def convergence_vs_random_case(claim, profile, evaluation, case: str, *, no_answer: str) -> tuple[str, list]:
    """The opening of a claim comparing a split's same-noise convergence with the random split's at
    equal N: (protocol, every replicate's (pair, random pair)), the parametrisation recorded. Its
    memorising control ends not applicable (``NO_CONVERGENCE`` with ``no_answer``: what is absent)."""
    protocol, control = claim_case(claim, case)
    if control:
        claim.not_applicable(NO_CONVERGENCE.format(what=no_answer))
    pairs = replicated_with_random_reference(profile, evaluation, protocol)
    claim.param(protocol=protocol, n=pairs[0][0].n, reference="random", replicates=len(pairs))
    return protocol, pairs


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
    and notes. Without genuine LPIPS weights the claim is not run (``claim.not_run`` ends the test,
    naming the command that installs them); a random backbone is never used.

    The control is ``HELDOUT_IMAGES`` images of model A's held-out set (never trained on; the first
    of ``studies.evaluation.heldout_images``): a claim about samples is judged by the contrast samples
    vs this control (``rules.contrast``). The case ``random-control-heldout`` puts the next
    ``HELDOUT_IMAGES`` held-out images in the samples' place (the negative control);
    ``random-control-memorising`` the samples of the memorising control (``Zoo.memorising``)."""
    from ..errors import MissingResourceError
    from ..evaluation import heldout_images
    from ..metrics.perceptual import LPIPS
    from ..metrics.rerank import evaluation_samples

    protocol, control = claim_case(claim, case)
    n = profile.protocol(protocol).n_grid[-1]
    claim.param(protocol=protocol, N=n, group="A", k=int(claim.threshold("k")), seeds=profile.sample.n_seeds, control=control)
    try:
        metric = LPIPS("vgg")
    except MissingResourceError as exc:  # claim.not_run raises: the test ends here, passing, with that status
        claim.not_run(f"genuine LPIPS weights missing: {exc}",
                      "memgen lpips install-weights (scripts/setup.sh runs it), or MEMGEN_LPIPS_WEIGHTS=FILE")
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


def perceptual_evidence(claim, profile, evaluation, trained, case: str, evidence, threshold_name: str, *, both=None):
    """The opening of a perceptual claim: (k, its threshold ``threshold_name``, the judged images,
    A's training images, ``evidence`` of the judged images, ``evidence`` of the held-out control),
    where ``evidence(metric, images, train, k=, threshold=, seed=)`` is one of
    ``studies.metrics.rerank``'s ``*_evidence`` functions (``perceptual_inputs`` gives the images);
    ``both(metric, images, control, train, ...) -> (evidence, control's evidence)`` in its place where
    the two share work (``rerank.overstated_originality_pair``)."""
    k = int(claim.threshold("k"))
    threshold = claim.threshold(threshold_name)
    metric, samples, control, train = perceptual_inputs(claim, profile, evaluation, trained, case)
    if both is not None:  # one function for both image sets (rerank.overstated_originality_pair: one search pass)
        ev, ref = both(metric, samples, control, train, k=k, threshold=threshold, seed=0)
        return k, threshold, samples, train, ev, ref
    ev = evidence(metric, samples, train, k=k, threshold=threshold, seed=0)
    ref = evidence(metric, control, train, k=k, threshold=threshold, seed=0)
    return k, threshold, samples, train, ev, ref


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
    if protocol == "gaussian-unet":
        return range(GAUSSIAN_UNET_REPLICATES)
    return range(profile.replicates) if profile.replicated(protocol, n) else range(1)


def case_grid(profile, protocol: str) -> tuple[int, ...]:
    """The N grid of a protocol, or of a Gaussian control."""
    if protocol == "gaussian-unet":
        return GAUSSIAN_UNET_GRID
    return GAUSSIAN_GRID if protocol == "gaussian" else tuple(profile.protocol(protocol).n_grid)


def grid_case(claim, profile, evaluation, case: str):
    """The opening of a claim judged over a protocol's N grid (or the Gaussian control's): the case's
    (protocol, control) with the control recorded, the grid, the pair evaluations of every replicate
    of each N (``cell_evaluations``) and replicate 0's of each N (the figures)."""
    protocol, control = claim_case(claim, case)
    grid = case_grid(profile, protocol)
    cells = [cell_evaluations(profile, evaluation, protocol, n, control) for n in grid]
    return protocol, control, grid, cells, [c[0] for c in cells]


def claim_case(claim, case: str) -> tuple[str, str | None]:
    """``parse_case``, recording the control (if any) on ``claim``."""
    protocol, control = parse_case(case)
    if control:
        claim.control(control)
    return protocol, control


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
    ax.imshow(np.clip(x[0] if x.shape[0] == 1 else np.moveaxis(x, 0, -1), 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


def psnr_curves_figure(evals: Sequence, protocol: str):
    """Denoising PSNR of model A on its training images (solid) and on held-out images (dashed)
    against the input noise level, one colour per N (K24 Fig. 1 / T25 Fig. 2), and the train-minus-test
    gap averaged over sigma against N with its CI (both models)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    colours = ["#1f4e9c", "#2a9d8f", "#e9a03b", "#b3261e", "#6a3d9a", "#555555"]
    for i, ev in enumerate(evals):
        rec = ev.summary["psnr"]["A"]
        x = rec["train"]["input_psnr"]
        c = colours[i % len(colours)]
        axes[0].plot(x, rec["train"]["mean"], "-", marker=".", color=c, label=f"N={ev.n:,} train")
        axes[0].plot(x, rec["test"]["mean"], "--", marker=".", color=c, label=f"N={ev.n:,} test")
    axes[0].plot([0, 45], [0, 45], color="#bbb", lw=0.6)
    axes[0].set_xlabel("input PSNR (dB): low = much noise (large sigma)")
    axes[0].set_ylabel("output PSNR (dB)")
    axes[0].set_title("model A: training images (solid) and held-out images (dashed)", fontsize=9)
    axes[0].legend(fontsize=7, ncol=2)
    axes[0].grid(alpha=0.3)
    for g, shift, style in (("A", 0.96, "o-"), ("B", 1.04, "s--")):  # each model's gap with its 95% CI over images
        ns = [ev.n * shift for ev in evals]
        gaps = [ev.gap(g)["mean_gap"] for ev in evals]
        cis = [ev.gap(g).get("mean_gap_ci") or (v, v) for ev, v in zip(evals, gaps)]
        axes[1].errorbar(ns, gaps, yerr=[[v - c[0] for v, c in zip(gaps, cis)], [c[1] - v for v, c in zip(gaps, cis)]],
                         fmt=style, color="#333" if g == "A" else "#888", capsize=3, label=f"model {g}")
    axes[1].legend(fontsize=7)
    axes[1].set_xscale("log")
    axes[1].axhline(0, color="#999", lw=0.8)
    axes[1].set_xlabel("N (training images)")
    axes[1].set_ylabel("train - test PSNR (dB), mean over sigma")
    axes[1].set_title("the gap closes when the model generalises (95% CIs)", fontsize=9)
    axes[1].grid(alpha=0.3)
    fig.suptitle(f"{protocol}: denoising PSNR on training vs held-out images", fontsize=10)
    fig.tight_layout()
    return fig


def _upscale(x: np.ndarray, factor: int) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H*f, W*f, 3): each pixel a f x f block (nearest neighbour, no smoothing)."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0, 1)
    rgb = np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x[:3]
    return np.kron(np.moveaxis(rgb, 0, -1), np.ones((factor, factor, 1), dtype=np.float32))


def _pixel_factor(side: int) -> int:
    """Screen pixels per image pixel: a 16x16 sample becomes 64x64, a 40x40 one 80x80."""
    return max(1, int(round(72 / side)) if side < 72 else 1)


def same_noise_grid_figure(evals: Sequence, protocol: str, *, seeds: int = 6, nearest: Sequence | None = None):
    """The same-noise grid of K24 Fig. 2 / T25 Fig. 3, one block per evaluated pair (one per N, or
    one per protocol compared): model A's samples in the upper row and B's in the lower, one seed
    per column, so a column is one noise; with ``nearest`` (per pair, the training images of A and
    of B) each sample has its nearest training image by correlation beside it. Pixels are scaled up
    by whole blocks (nearest neighbour), never smoothed; samples are shown at a common brightness
    and contrast (a bias-free sampler leaves both undetermined, studies.metrics.intensity)."""
    from matplotlib.figure import Figure

    k = min(seeds, min(len(ev.ab) for ev in evals))
    side = int(np.asarray(evals[0].samples_a).shape[-1])
    f = _pixel_factor(side)
    cell, gap = side * f, max(2, f)
    per_seed = 2 if nearest is not None else 1
    width = k * (per_seed * cell + (per_seed - 1) * (gap // 2)) + (k - 1) * 2 * gap
    if nearest is not None:
        from ..metrics.intensity import intensity_stats

        stats = [(intensity_stats(ta), intensity_stats(tb)) for ta, tb in nearest]
    blocks = []
    for j, ev in enumerate(evals):
        canvas = np.ones((2 * cell + gap, width, 3), dtype=np.float32)
        for row, (samples, index, group) in enumerate(((ev.samples_a, ev.nn_index_a, 0), (ev.samples_b, ev.nn_index_b, 1))):
            for s in range(k):
                x0, y0 = s * (per_seed * cell + (per_seed - 1) * (gap // 2) + 2 * gap), row * (cell + gap)
                if nearest is None:
                    canvas[y0:y0 + cell, x0:x0 + cell] = _upscale(_sample_display(samples[s]), f)
                    continue
                # beside its nearest training image, a sample is shown at the training images' brightness and contrast
                train = nearest[j][group]
                canvas[y0:y0 + cell, x0:x0 + cell] = _upscale(_sample_display(samples[s], stats[j][group]), f)
                x1 = x0 + cell + gap // 2
                canvas[y0:y0 + cell, x1:x1 + cell] = _upscale(np.asarray(train[int(index[s, 0])]), f)
        blocks.append(canvas)
    dpi = 100
    fig = Figure(figsize=(width / dpi + 1.2, sum(b.shape[0] for b in blocks) / dpi + 0.55 * len(blocks) + 0.5), dpi=dpi)
    axes = fig.subplots(len(blocks), 1, squeeze=False)[:, 0]
    for ax, ev, block in zip(axes, evals, blocks):
        ax.imshow(block, interpolation="nearest")
        pair = per_seed * cell + (per_seed - 1) * (gap // 2)
        ax.set_xticks([s * (pair + 2 * gap) + pair / 2 for s in range(k)],
                      [f"seed {ev.seeds[s]}: r={ev.ab[s]:.2f}" + ("\nsample | nearest" if nearest is not None else "") for s in range(k)], fontsize=7)
        ax.set_yticks([cell / 2, cell + gap + cell / 2], ["A", "B"], fontsize=9)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(f"{ev.protocol}, N={ev.n}: same noise per column, model A above model B"
                     + (" (each sample with its nearest training image to its right)" if nearest is not None else ""), fontsize=8, loc="left")
    fig.suptitle(f"{protocol}: samples from the same noise (r = same-seed A/B correlation; brightness and contrast normalised for display)", fontsize=9)
    fig.tight_layout()
    return fig


def similarity_vs_n_figure(evals: Sequence, protocol: str):
    """The K24 Fig. 2 analogue as numbers: against N, the median same-seed A/B correlation, the
    median correlation of a sample with its nearest training image, and their references (the
    different-seed A/B null, and held-out images' nearest-training correlation), with 95% bootstrap CIs."""
    from matplotlib.figure import Figure

    series = {
        "A/B, same seed (generalisation: A and B agree)": (lambda ev: ev.ab, "o-", "#1f4e9c"),
        "A/B, different seeds (null)": (lambda ev: ev.null, "o:", "#7a9cd6"),
        "sample to nearest training image (memorisation)": (lambda ev: np.concatenate([ev.nn_a, ev.nn_b]), "s-", "#b3261e"),
        "held-out image to nearest training image (reference)": (lambda ev: np.concatenate([ev.ref_a, ev.ref_b]), "s:", "#e08a84"),
    }
    ns = [ev.n for ev in evals]
    fig = Figure(figsize=(6.4, 3.8))
    ax = fig.subplots()
    for label, (get, style, colour) in series.items():
        meds, los, his = [], [], []
        for ev in evals:
            med, (lo, hi) = median_ci(get(ev))
            meds.append(med)
            los.append(med - lo)
            his.append(hi - med)
        ax.errorbar(ns, meds, yerr=[los, his], fmt=style, color=colour, capsize=3, lw=1.2, ms=4, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("N (training images per model)")
    ax.set_ylabel("median correlation (95% CI)")
    ax.set_title(f"{protocol}: A/B agreement and nearest-training similarity vs N (K24 Fig. 2 analogue)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
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
