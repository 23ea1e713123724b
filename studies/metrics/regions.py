"""Similarities restricted to a region of the image: where does a difference between same-seed A/B
agreement and nearest-training closeness come from, the face or its background?

Aligned CelebA crops (and memgen's synthetic faces) put the face in the centre, so the face region is
a central ellipse in relative coordinates; everything outside it is background, hair and shoulders.
Each comparison is the full-image one of the originality claim (mean-removed correlation, nearest
image by correlation over the model's own training set) computed on the region's pixels only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from .neighbours import topk
from .similarity import correlation

# centre and semi-axes as fractions of the side: the synthetic face at 16x16 spans about 9 x 12
# pixels around (8, 7.5) (studies.data.synth: face half-width 0.45-0.55 and half-height 0.6-0.7 of
# the crop's half-side, scaled by 1.2); CelebA's aligned faces sit at the same place
FACE_ELLIPSE = (0.5, 0.47, 0.28, 0.375)


def central_ellipse(side: int, ellipse: tuple[float, float, float, float] = FACE_ELLIPSE) -> np.ndarray:
    """(side, side) bool mask of the ellipse (cx, cy, ax, ay), in fractions of the side."""
    if side < 4:
        raise InputError(f"central_ellipse: side must be >= 4 pixels, got {side}")
    cx, cy, ax, ay = ellipse
    if not (0 < ax <= 0.5 and 0 < ay <= 0.5):
        raise InputError(f"central_ellipse: semi-axes must lie in (0, 0.5], got {ax}, {ay}")
    y, x = (np.mgrid[0:side, 0:side] + 0.5) / side
    return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0


@dataclass(frozen=True)
class RegionComparison:
    ab: np.ndarray  # (S,) same-seed A/B correlation on the region
    nearest: np.ndarray  # (S,) larger of the two samples' nearest-training correlations on the region
    reference: np.ndarray  # (R,) held-out images' nearest-training correlation on the region


def _masked(x: Any, mask: np.ndarray, name: str) -> torch.Tensor:
    t = x.detach() if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    if t.dim() != 4 or tuple(t.shape[-2:]) != mask.shape:
        raise InputError(f"{name}: expected (N, C, {mask.shape[0]}, {mask.shape[1]}) images, got {tuple(t.shape)}")
    return t[:, :, torch.as_tensor(mask)].reshape(t.shape[0], -1).float()


def compare_region(samples_a: Any, samples_b: Any, train_a: Any, train_b: Any, held_out: Any, mask: np.ndarray) -> RegionComparison:
    """The originality comparison on the pixels of ``mask``: same-seed A/B correlation, the larger
    nearest-training correlation of the two samples, and the held-out images' nearest-training
    correlation against A's training set (the novelty reference)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.sum() < 2:
        raise InputError("compare_region: the mask selects fewer than two pixels")
    sa, sb = _masked(samples_a, mask, "samples_a"), _masked(samples_b, mask, "samples_b")
    ta, tb = _masked(train_a, mask, "train_a"), _masked(train_b, mask, "train_b")
    held = _masked(held_out, mask, "held_out")
    if sa.shape != sb.shape:
        raise InputError(f"compare_region: A has {sa.shape[0]} samples, B {sb.shape[0]}")
    ab = correlation(sa, sb)
    nn_a = np.asarray(topk(sa, ta, k=1, metric="correlation").scores[:, 0], dtype=np.float64)
    nn_b = np.asarray(topk(sb, tb, k=1, metric="correlation").scores[:, 0], dtype=np.float64)
    ref = np.asarray(topk(held, ta, k=1, metric="correlation").scores[:, 0], dtype=np.float64)
    return RegionComparison(ab=ab, nearest=np.maximum(nn_a, nn_b), reference=ref)
