"""Image similarity of SPEC §7: mean-removed correlation (Pearson over pixels) and plain cosine,
paired (row i of ``a`` with row i of ``b``) and pairwise (every row of ``a`` with every row of ``b``),
plus the A/B similarity per seed of the same-noise comparison and its different-seed null.

Images are flattened per row: (N, C, H, W), (N, D) or a single image (C, H, W) all work. A zero
norm is replaced by ``ZERO_NORM_FLOOR`` (as in K24's ``remove_repeats`` and the dedup module), so
a constant image has similarity 0 with everything instead of NaN. Values are float64 numpy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import InputError

ZERO_NORM_FLOOR = 1e-3
CORRELATION = "correlation"
COSINE = "cosine"
METRICS = (CORRELATION, COSINE)


def as_rows(x: Any, *, name: str = "images", dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(N, D) tensor of ``x`` flattened per image; refuses NaN/inf and empty input."""
    t = x.detach() if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    if t.dim() == 0:
        raise InputError(f"{name} must be images, got a scalar")
    if t.dim() == 1 or t.dim() == 3:  # one vector or one (C, H, W) image
        t = t.unsqueeze(0)
    if t.numel() == 0:
        raise InputError(f"{name} is empty (shape {tuple(t.shape)})")
    t = t.reshape(t.shape[0], -1).to(dtype=dtype, device="cpu")
    if not torch.isfinite(t).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return t


def unit_rows(rows: torch.Tensor, *, center: bool, floor: float = ZERO_NORM_FLOOR) -> torch.Tensor:
    """Rows minus their mean (if ``center``) divided by their L2 norm; a zero norm becomes ``floor``."""
    if center:
        rows = rows - rows.mean(dim=1, keepdim=True)
    norm = torch.linalg.vector_norm(rows, dim=1, keepdim=True)
    norm = torch.where(norm == 0, torch.full_like(norm, floor), norm)
    return rows / norm


def _check_metric(metric: str) -> bool:
    if metric not in METRICS:
        raise InputError(f"similarity metric must be one of {METRICS}, got {metric!r}")
    return metric == CORRELATION


def _paired(a: Any, b: Any, *, center: bool, floor: float) -> np.ndarray:
    ra, rb = as_rows(a, name="a"), as_rows(b, name="b")
    if ra.shape != rb.shape:
        raise InputError(f"paired similarity needs equal shapes, got {tuple(ra.shape)} and {tuple(rb.shape)}")
    return (unit_rows(ra, center=center, floor=floor) * unit_rows(rb, center=center, floor=floor)).sum(dim=1).numpy()


def _pairwise(a: Any, b: Any | None, *, center: bool, floor: float) -> np.ndarray:
    ra = unit_rows(as_rows(a, name="a"), center=center, floor=floor)
    rb = ra if b is None else unit_rows(as_rows(b, name="b"), center=center, floor=floor)
    if ra.shape[1] != rb.shape[1]:
        raise InputError(f"pairwise similarity needs equal image sizes, got {ra.shape[1]} and {rb.shape[1]} pixels")
    return (ra @ rb.T).numpy()


def correlation(a: Any, b: Any, *, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """Pearson correlation over pixels of a[i] and b[i], per i: shape (N,)."""
    return _paired(a, b, center=True, floor=floor)


def cosine(a: Any, b: Any, *, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """Cosine similarity of a[i] and b[i] (no mean removal), per i: shape (N,)."""
    return _paired(a, b, center=False, floor=floor)


def pairwise_correlation(a: Any, b: Any | None = None, *, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """Correlation of every a[i] with every b[j] (b defaults to a): shape (N_a, N_b)."""
    return _pairwise(a, b, center=True, floor=floor)


def pairwise_cosine(a: Any, b: Any | None = None, *, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """Cosine of every a[i] with every b[j] (b defaults to a): shape (N_a, N_b)."""
    return _pairwise(a, b, center=False, floor=floor)


def paired_similarity(a: Any, b: Any, *, metric: str = CORRELATION, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """``correlation`` or ``cosine`` of a[i] and b[i], chosen by name."""
    return _paired(a, b, center=_check_metric(metric), floor=floor)


def pairwise_similarity(a: Any, b: Any | None = None, *, metric: str = CORRELATION, floor: float = ZERO_NORM_FLOOR) -> np.ndarray:
    """``pairwise_correlation`` or ``pairwise_cosine``, chosen by name."""
    return _pairwise(a, b, center=_check_metric(metric), floor=floor)


def ab_similarity(images_a: Any, images_b: Any, *, metric: str = CORRELATION) -> np.ndarray:
    """Similarity of model A's and model B's sample of the same seed, per seed (SPEC §7)."""
    return paired_similarity(images_a, images_b, metric=metric)


def cross_seed_similarity(images_a: Any, images_b: Any, *, metric: str = CORRELATION) -> np.ndarray:
    """The null of ``ab_similarity``: A's sample of seed i against B's sample of seed j, for every
    i != j (flattened, row-major). Faces are alike, so unrelated samples already correlate (SPEC §9):
    a same-seed similarity means something only against this."""
    s = pairwise_similarity(images_a, images_b, metric=metric)
    if s.shape[0] != s.shape[1]:
        raise InputError(f"A and B must hold the same seeds, got {s.shape[0]} and {s.shape[1]} samples")
    if s.shape[0] < 2:
        raise InputError("cross-seed similarity needs at least two seeds")
    return s[~np.eye(s.shape[0], dtype=bool)]
