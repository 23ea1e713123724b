"""Memory-bounded top-k nearest training images of each sample (SPEC §7), by blocked matrix
products: the training set is read in row blocks, normalised per block, scored against all queries
with one matrix product, and merged into a running top-k. Peak memory is about ``max_bytes`` plus
the queries, whatever the size of the training set (which may be a numpy memmap).

Scores: ``correlation`` and ``cosine`` (larger = nearer) or ``l2`` (Euclidean distance, smaller =
nearer). The search runs in float32 (float64 if the inputs are float64) for ``margin`` extra
candidates; the candidates are then rescored pair by pair in float64 and re-sorted, so the reported
scores are exact to float64 and ties (equal float64 scores) go to the lower training index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from .similarity import CORRELATION, COSINE, ZERO_NORM_FLOOR, unit_rows

L2 = "l2"
NEIGHBOUR_METRICS = (CORRELATION, COSINE, L2)
DEFAULT_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class TopK:
    """``indices[i, r]`` is the r-th nearest training image of query i; ``scores`` its similarity
    (or L2 distance), sorted nearest first."""

    indices: np.ndarray  # (n_queries, k) int64
    scores: np.ndarray  # (n_queries, k) float64
    metric: str


def _rows(x: Any, name: str) -> tuple[Any, int, int]:
    """(array, n, D) without copying a big training array; refuses empty or wrongly shaped input."""
    if torch.is_tensor(x):
        x = x.detach().cpu()
    elif not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0:
        raise InputError(f"{name} must be (N, D) or (N, C, H, W) with N >= 1, got shape {tuple(x.shape)}")
    return x, int(x.shape[0]), int(math.prod(x.shape[1:]))


def _block(x: Any, lo: int, hi: int, dtype: torch.dtype) -> torch.Tensor:
    b = x[lo:hi]
    t = b if torch.is_tensor(b) else torch.from_numpy(np.ascontiguousarray(b))
    return t.reshape(hi - lo, -1).to(dtype)


def _refuse_nonfinite(rows: torch.Tensor, check: torch.Tensor, lo: int, name: str) -> None:
    """``check`` is a per-row reduction (mean or norm): NaN/inf anywhere in a row makes it non-finite,
    so one cheap test covers the block; the elementwise search runs only to name the row."""
    if not torch.isfinite(check).all():
        bad = torch.nonzero(~torch.isfinite(rows).all(dim=1)).flatten()
        row = lo + int(bad[0]) if bad.numel() else lo + int(torch.nonzero(~torch.isfinite(check)).flatten()[0])
        raise InputError(f"{name} row {row} contains NaN or infinite values (or values too large to sum)")


def _row_scale(rows: torch.Tensor, metric: str, lo: int, name: str) -> torch.Tensor:
    """Per row: the norm a score is divided by (centred for correlation), or ||t||² for L2. No copy
    of the rows is made: centring is not needed on the training side because the queries are
    centred, and q_c·t = q_c·(t - mean(t)) when q_c sums to zero."""
    if metric == CORRELATION:
        # ||t - mean||² = ||t||² - D·mean²: two fast reductions instead of a centred copy; the
        # cancellation error only touches near-constant rows and the exact rescoring undoes it
        d = rows.shape[1]
        mean = rows.sum(dim=1, dtype=torch.float64) / d
        sq = torch.linalg.vector_norm(rows, dim=1, dtype=torch.float64) ** 2
        _refuse_nonfinite(rows, sq + mean, lo, name)
        norm = (sq - d * mean * mean).clamp_min(0).sqrt().to(rows.dtype)
    else:
        norm = torch.linalg.vector_norm(rows, dim=1)
        _refuse_nonfinite(rows, norm, lo, name)
        if metric == L2:
            return norm * norm
    return torch.where(norm == 0, torch.full_like(norm, ZERO_NORM_FLOOR), norm)


def _block_topk(s: torch.Tensor, kk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-kk of each row of s (larger first); where values tie across the cut, the lower column
    wins (torch.topk alone may pick any of the tied ones)."""
    extra = 1 if s.shape[1] > kk else 0
    vals, idx = torch.topk(s, kk + extra, dim=1, sorted=True)
    if extra:
        ambiguous = vals[:, kk - 1] == vals[:, kk]
        vals, idx = vals[:, :kk], idx[:, :kk]
        if ambiguous.any():
            rows = torch.nonzero(ambiguous).flatten()
            v, i = torch.sort(s[rows], dim=1, descending=True, stable=True)
            vals[rows], idx[rows] = v[:, :kk], i[:, :kk]
    return vals, idx


def _sort_by_score_then_index(vals: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((idx, -vals), axis=-1)[:, :k]
    return np.take_along_axis(vals, order, 1), np.take_along_axis(idx, order, 1)


def _exact_scores(q: torch.Tensor, cand: torch.Tensor, metric: str) -> torch.Tensor:
    """Float64 scores of query rows q (n, D) against their candidates cand (n, c, D), larger = nearer."""
    if metric == L2:
        return -torch.linalg.vector_norm(cand - q.unsqueeze(1), dim=2)
    center = metric == CORRELATION
    qn = unit_rows(q, center=center)
    cn = unit_rows(cand.reshape(-1, cand.shape[2]), center=center).reshape(cand.shape)
    return (cn * qn.unsqueeze(1)).sum(dim=2)


def topk(
    queries: Any,
    train: Any,
    *,
    k: int,
    metric: str = CORRELATION,
    margin: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> TopK:
    """The k nearest training images of every query by ``metric``, sorted nearest first, ties to the
    lower index; ``margin`` extra candidates (default k) are rescored exactly before the cut."""
    if metric not in NEIGHBOUR_METRICS:
        raise InputError(f"topk metric must be one of {NEIGHBOUR_METRICS}, got {metric!r}")
    if int(k) != k or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k}")
    q_arr, n_q, d_q = _rows(queries, "queries")
    t_arr, n_t, d_t = _rows(train, "training set")
    if d_q != d_t:
        raise InputError(f"queries have {d_q} pixels per image, the training set {d_t}")
    if n_t < k:
        raise InputError(f"the training set holds {n_t} images, fewer than k = {k}")
    margin = k if margin is None else int(margin)
    if margin < 0:
        raise InputError(f"margin must be >= 0, got {margin}")
    kk = min(n_t, k + margin)
    wide = q_arr.dtype in (np.float64, torch.float64) and t_arr.dtype in (np.float64, torch.float64)
    dtype = torch.float64 if wide else torch.float32
    item = 8 if wide else 4

    q_all = _block(q_arr, 0, n_q, torch.float64)
    if not torch.isfinite(q_all).all():
        raise InputError(f"queries row {int(torch.nonzero(~torch.isfinite(q_all).all(dim=1))[0, 0])} contains NaN or infinite values")
    if metric == L2:
        q_prep, q_sq = q_all.to(dtype), (q_all * q_all).sum(dim=1).to(dtype)
    else:
        q_prep, q_sq = unit_rows(q_all, center=metric == CORRELATION).to(dtype), None
    # per training row of a block: its column of scores against every query (plus topk's
    # transient) and, when the dtype changes, one converted copy of the row
    b = int(max(kk + 1, min(n_t, max_bytes // max(1, (2 * n_q + 2 * d_t) * item))))
    best_v = np.empty((n_q, 0), dtype=np.float64)
    best_i = np.empty((n_q, 0), dtype=np.int64)
    for lo in range(0, n_t, b):
        hi = min(n_t, lo + b)
        rows = _block(t_arr, lo, hi, dtype)
        scale = _row_scale(rows, metric, lo, "training set")
        s = q_prep @ rows.T
        if metric == L2:  # -||q - t||² so that larger is nearer everywhere
            s.mul_(2).sub_(q_sq.unsqueeze(1)).sub_(scale.unsqueeze(0))
        else:
            s.div_(scale.unsqueeze(0))
        v, i = _block_topk(s, min(kk, hi - lo))
        del s, rows
        best_v, best_i = _sort_by_score_then_index(
            np.concatenate([best_v, v.numpy().astype(np.float64)], 1), np.concatenate([best_i, i.numpy() + lo], 1), kk
        )

    # rescore the candidates exactly, a few queries at a time to bound the gathered copy
    out_v = np.empty((n_q, k), dtype=np.float64)
    out_i = np.empty((n_q, k), dtype=np.int64)
    chunk = max(1, max_bytes // max(1, kk * d_t * 8 * 3))
    for lo in range(0, n_q, chunk):
        hi = min(n_q, lo + chunk)
        idx = best_i[lo:hi]
        uniq, inverse = np.unique(idx, return_inverse=True)
        rows = t_arr[torch.from_numpy(uniq)] if torch.is_tensor(t_arr) else torch.from_numpy(np.asarray(t_arr[uniq]))
        cand = rows.reshape(len(uniq), -1).to(torch.float64)[torch.from_numpy(inverse.reshape(idx.shape))]
        exact = _exact_scores(q_all[lo:hi], cand, metric).numpy()
        out_v[lo:hi], out_i[lo:hi] = _sort_by_score_then_index(exact, idx, k)
    return TopK(indices=out_i, scores=-out_v if metric == L2 else out_v, metric=metric)


def nearest_similarity(samples: Any, train: Any, *, metric: str = CORRELATION, max_bytes: int = DEFAULT_MAX_BYTES) -> TopK:
    """Each sample's nearest training image (k = 1): ``memorization-small-n`` and ``originality``."""
    return topk(samples, train, k=1, metric=metric, max_bytes=max_bytes)
