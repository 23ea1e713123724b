"""The peers' memorization and reproducibility criteria, as extra metrics beside K24's.

- Gu et al. ("On memorization in diffusion models", 2023): a sample is memorized when the L2
  distance to its nearest training image is below 1/3 of the distance to the second nearest.
- Zhang et al. ("The emergence of reproducibility and consistency in diffusion models", 2024): the
  reproducibility score of two models is the share of seeds whose two samples are more similar
  than a threshold (they use SSCD > 0.6; here the similarity is what the caller measured, e.g.
  the A/B correlation per seed, and the threshold must be stated).
"""

from __future__ import annotations

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
