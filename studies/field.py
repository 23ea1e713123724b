"""The field's memorisation measures of one model, side by side: what memorised-fraction-falls and
its per-model table read.

Every function here takes samples and a training set (plus, where a measure needs it, the A/B
correlations of a pair), never a zoo entry, so any source of samples can be judged the same way:
the trained pairs of a profile, or a control whose answer is known (samples of a memorising
empirical denoiser must give F_mem ~ 1, samples of a Gaussian fitted to the training set ~ 0).

Two spaces for Gu et al.'s ratio: ``raw`` (the published criterion, L2 on the images as sampled)
and ``standardised`` (each sample and training image minus its mean, over its standard deviation;
then ||a - b||² = 2D(1 - corr), so the ratio is sqrt((1 - c1) / (1 - c2)) of the two highest
correlations). K24's sampler leaves a sample's overall brightness and contrast undetermined
(studies.metrics.intensity), so a copy of a training image up to brightness is a copy by correlation
but not by raw L2; the standardised ratio is reported beside the raw one, never in its place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch

from .errors import InputError
from .metrics.criteria import (
    FMEM_BOOTSTRAP,
    FractionEstimate,
    fraction_ci,
    memorised_fraction_ci,
    nearest_distance_ratio,
    ratio_to_memorized,
    reproducibility_score,
)
from .metrics.intensity import standardise

RAW, STANDARDISED = "raw", "standardised"
SPACES = (RAW, STANDARDISED)


def _space(images: Any, space: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images, dtype=torch.float32)
    if space == RAW:
        return t
    if space == STANDARDISED:
        return standardise(t)
    raise InputError(f"space must be one of {SPACES}, got {space!r}")


def memorised_flags(samples: Any, train: Any, *, space: str = RAW) -> np.ndarray:
    """Gu et al.'s decision (d1/d2 < 1/3) per sample against ``train``, in ``space``."""
    return ratio_to_memorized(nearest_distance_ratio(_space(samples, space), _space(train, space)))


def fmem(samples: Any, train: Any, *, space: str = RAW, n_boot: int = FMEM_BOOTSTRAP, seed: int = 0) -> FractionEstimate:
    """F_mem of ``samples`` against ``train`` with Bonnaire et al.'s bootstrap CI (1,000
    resamples, 95%): the hook through which any denoiser's samples reach the claim's rule."""
    if space == RAW:
        return memorised_fraction_ci(samples, train, n_boot=n_boot, seed=seed)
    return fraction_ci(memorised_flags(samples, train, space=space), n_boot=n_boot, seed=seed)


def pair_fmem(samples_a: Any, train_a: Any, samples_b: Any, train_b: Any, *, space: str = RAW, seed: int = 0) -> FractionEstimate:
    """F_mem of a pair: A's samples against A's training set and B's against B's, pooled (the
    pair is the unit; its samples only say how well its F_mem is known)."""
    flags = np.concatenate([memorised_flags(samples_a, train_a, space=space), memorised_flags(samples_b, train_b, space=space)])
    return fraction_ci(flags, seed=seed)


def pair_fmem_from_ratios(ratio_a: Sequence[float], ratio_b: Sequence[float], *, seed: int = 0) -> FractionEstimate:
    """``pair_fmem`` in raw space from ratios already measured (``PairEvaluation.ratio_a/_b``)."""
    r = np.concatenate([np.asarray(ratio_a, dtype=np.float64), np.asarray(ratio_b, dtype=np.float64)])
    if not np.isfinite(r).all():
        raise InputError("pair_fmem_from_ratios: a ratio is not finite (a training set of one image has no second nearest)")
    return fraction_ci(ratio_to_memorized(r), seed=seed)


def share_ci(values: Sequence[float], *, above: float, seed: int = 0) -> FractionEstimate:
    """Share of ``values`` strictly above ``above`` with its bootstrap CI (Zhang et al.'s
    reproducibility score of a pair when ``values`` are its per-seed A/B similarities)."""
    v = np.asarray(values, dtype=np.float64)
    reproducibility_score(v, threshold=above)  # validates: finite, non-empty
    return fraction_ci(v > above, seed=seed)


@dataclass(frozen=True)
class ModelMeasures:
    """The memorisation measures of one model's samples (medians and shares with 95% CIs)."""

    nearest_corr: tuple[float, tuple[float, float]]  # median correlation with the nearest own training image
    fmem_raw: FractionEstimate
    fmem_standardised: FractionEstimate
    reproducibility: Optional[FractionEstimate]  # of its pair (None for a model without a partner)
    lpips_nearest: Optional[tuple[float, tuple[float, float]]]  # median LPIPS to the correlation-nearest training image


def model_measures(samples: Any, train: Any, *, nearest_corr: Optional[Sequence[float]] = None, ab: Optional[Sequence[float]] = None,
                   reproducible_corr: float = 0.9, lpips_nearest: Optional[Sequence[float]] = None, seed: int = 0) -> ModelMeasures:
    """The per-model row of the field's measures from a model's samples and training set; the
    nearest-training correlations are measured here unless given (a cached evaluation has them),
    the A/B correlations of its pair and LPIPS distances come measured or are left out."""
    from .claims.core import median_ci

    if nearest_corr is None:
        from .metrics.neighbours import topk

        nearest_corr = topk(_space(samples, RAW), _space(train, RAW), k=1, metric="correlation").scores[:, 0]
    return ModelMeasures(
        nearest_corr=median_ci(nearest_corr, seed=seed),
        fmem_raw=fmem(samples, train, space=RAW, seed=seed),
        fmem_standardised=fmem(samples, train, space=STANDARDISED, seed=seed),
        reproducibility=share_ci(ab, above=reproducible_corr, seed=seed) if ab is not None else None,
        lpips_nearest=median_ci(lpips_nearest, seed=seed) if lpips_nearest is not None else None,
    )


def lpips_to_nearest(metric: Any, samples: Any, train: Any, nearest_index: Sequence[int]) -> np.ndarray:
    """LPIPS of each sample to its correlation-nearest training image (``nearest_index``), the
    samples mapped to the training images' intensity and clipped to [0, 1] first (LPIPS is not blind
    to the brightness drift of bias-free samples; studies.metrics.intensity). An upper bound of the
    exact LPIPS nearest distance (correlation-overstates-originality measures how loose)."""
    from .metrics.intensity import match_intensity

    tr = torch.as_tensor(train, dtype=torch.float32)
    s = match_intensity(torch.as_tensor(np.asarray(samples), dtype=torch.float32), tr).clamp(0, 1)
    idx = torch.as_tensor(np.asarray(nearest_index, dtype=np.int64).reshape(-1))
    if idx.numel() != s.shape[0]:
        raise InputError(f"lpips_to_nearest: {s.shape[0]} samples but {idx.numel()} nearest indices")
    with torch.no_grad():
        return metric(s, tr[idx]).double().numpy()


def judge_fraction_falls(cells: Sequence[tuple[int, Sequence[FractionEstimate]]], *, memorising: float, generalising: float):
    """memorised-fraction-falls on any source of pairs: ``cells`` = [(N, [F_mem of each
    training-seed replicate's pair at N, replicate 0 first]), ...] ascending in N, each F_mem from
    ``pair_fmem`` / ``fmem``. Replicate 0 of every N is the trend's pair; every replicate of the
    largest N must lie below ``generalising``. Returns ``rules.decide_fraction_falls``'s
    (decision, trend numbers): the claim test's rule, for the known-answer controls (a memorising
    empirical denoiser: SUPPORTED is impossible, F_mem stays ~1 at every N and the verdict is
    REFUTED with "memorisation persists"; samples of a Gaussian: F_mem ~0 everywhere, REFUTED with
    "no memorisation at the smallest size")."""
    from .claims.rules import decide_fraction_falls

    if not cells or any(not reps for _, reps in cells):
        raise InputError("judge_fraction_falls: every N needs at least one pair")
    ns = [int(n) for n, _ in cells]
    first = [reps[0] for _, reps in cells]
    return decide_fraction_falls(ns, [e.value for e in first], first[0].ci, [e.ci for e in cells[-1][1]],
                                 memorising=memorising, generalising=generalising)
