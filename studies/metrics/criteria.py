"""The peers' memorization and reproducibility criteria, as extra metrics beside K24's.

- Gu et al. ("On memorization in diffusion models", 2023): a sample is memorized when the L2
  distance to its nearest training image is below 1/3 of the distance to the second nearest.
- Zhang et al. ("The emergence of reproducibility and consistency in diffusion models", 2024): the
  reproducibility score of two models is the share of seeds whose two samples are more similar
  than a threshold (they use SSCD > 0.6; here the similarity is what the caller measured, e.g.
  the A/B correlation per seed, and the threshold must be stated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from .neighbours import DEFAULT_MAX_BYTES, L2, topk

GU_RATIO_THRESHOLD = 1.0 / 3.0


def nearest_distance_ratio(samples: Any, train: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """d(sample, nearest) / d(sample, second nearest) in L2, per sample (needs >= 2 training images).
    0/0 (the two nearest both equal the sample) counts as 0: the sample is a copy."""
    nn = topk(samples, train, k=2, metric=L2, max_bytes=max_bytes)
    d1, d2 = nn.scores[:, 0], nn.scores[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 0.0)


def ratio_to_memorized(ratio: Any, *, threshold: float = GU_RATIO_THRESHOLD) -> np.ndarray:
    """Gu et al.'s decision per sample: ratio < threshold (strict)."""
    r = _finite(ratio, "ratio")
    if not 0 < threshold <= 1:
        raise InputError(f"ratio threshold must be in (0, 1], got {threshold}")
    if (r < 0).any():
        raise InputError("distance ratios must be >= 0")
    return r < threshold


def memorized_fraction(samples: Any, train: Any, *, threshold: float = GU_RATIO_THRESHOLD, max_bytes: int = DEFAULT_MAX_BYTES) -> float:
    """Share of samples that Gu et al.'s criterion calls memorized."""
    return float(ratio_to_memorized(nearest_distance_ratio(samples, train, max_bytes=max_bytes), threshold=threshold).mean())


# Bonnaire et al.'s compute_fmem.py: 1,000 bootstrap resamples, 95%
FMEM_BOOTSTRAP = 1000


@dataclass(frozen=True)
class FractionEstimate:
    """A share of samples (e.g. F_mem) with its percentile bootstrap CI over the samples."""

    value: float
    ci: tuple[float, float]
    n: int  # samples it is the share of
    n_boot: int
    seed: int

    def describe(self) -> str:
        return f"{self.value:.3f} (95% CI {self.ci[0]:.3f}..{self.ci[1]:.3f}, {self.n} samples, {self.n_boot} resamples)"


def fraction_ci(flags: Any, *, n_boot: int = FMEM_BOOTSTRAP, alpha: float = 0.05, seed: int = 0) -> FractionEstimate:
    """Share of true ``flags`` with a percentile bootstrap CI (all flags equal: the CI is the point)."""
    from ..stats import bootstrap_ci

    f = np.asarray(flags).ravel()
    if f.size == 0:
        raise InputError("fraction_ci: no flags")
    if f.dtype != bool:
        raise InputError(f"fraction_ci: flags must be booleans, got {f.dtype}")
    x = f.astype(np.float64)
    if f.size == 1:
        return FractionEstimate(float(x[0]), (float(x[0]), float(x[0])), 1, n_boot, seed)
    ci = bootstrap_ci(x, np.mean, n_boot=n_boot, alpha=alpha, seed=seed)
    return FractionEstimate(float(x.mean()), (float(ci.lo), float(ci.hi)), int(f.size), n_boot, seed)


def memorised_fraction_ci(samples: Any, train: Any, *, threshold: float = GU_RATIO_THRESHOLD, n_boot: int = FMEM_BOOTSTRAP,
                          seed: int = 0, max_bytes: int = DEFAULT_MAX_BYTES) -> FractionEstimate:
    """F_mem of ``samples`` against ``train`` (Gu et al.'s criterion per sample) with Bonnaire et
    al.'s bootstrap CI over samples. Any denoiser's samples can be judged this way: the trained
    pairs of a profile, or a control whose answer is known (a memorising empirical denoiser must
    give ~1, samples of a Gaussian fitted to the training set ~0)."""
    ratios = nearest_distance_ratio(samples, train, max_bytes=max_bytes)
    return fraction_ci(ratio_to_memorized(ratios, threshold=threshold), n_boot=n_boot, seed=seed)


def reproducibility_score(similarities: Any, *, threshold: float) -> float:
    """Zhang et al.: share of seeds whose A/B similarity exceeds ``threshold`` (strict)."""
    s = _finite(similarities, "similarities")
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, got {threshold}")
    return float((s > threshold).mean())


def _finite(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise InputError(f"{name} is empty")
    if not np.isfinite(a).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return a
