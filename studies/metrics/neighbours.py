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


def _block(x: Any, lo: int, hi: int, dtype: torch.dtype, name: str) -> torch.Tensor:
    b = x[lo:hi]
    t = b if torch.is_tensor(b) else torch.from_numpy(np.ascontiguousarray(b))
    t = t.reshape(hi - lo, -1).to(dtype)
    if not torch.isfinite(t).all():
        bad = lo + int(torch.nonzero(~torch.isfinite(t).all(dim=1))[0, 0])
        raise InputError(f"{name} row {bad} contains NaN or infinite values")
    return t


def _prepare(rows: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    if metric == L2:
        return rows, (rows * rows).sum(dim=1)
    return unit_rows(rows, center=metric == CORRELATION, floor=ZERO_NORM_FLOOR), None


def _block_topk(s: torch.Tensor, kk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-kk of each row of s (larger first); where values tie across the cut, the lower column
    wins (torch.topk alone may pick any of the tied ones)."""
    vals, idx = torch.topk(s, kk, dim=1, sorted=True)
    ambiguous = (s >= vals[:, -1:]).sum(dim=1) > kk
    if ambiguous.any():
        rows = torch.nonzero(ambiguous).flatten()
        v, i = torch.sort(s[rows], dim=1, descending=True, stable=True)
        vals[rows], idx[rows] = v[:, :kk], i[:, :kk]
    return vals, idx


def _sort_by_score_then_index(vals: torch.Tensor, idx: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.argsort(idx, dim=1, stable=True)
    vals, idx = vals.gather(1, order), idx.gather(1, order)
    order = torch.argsort(vals, dim=1, descending=True, stable=True)
    return vals.gather(1, order)[:, :k], idx.gather(1, order)[:, :k]


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

    q_all = _block(q_arr, 0, n_q, torch.float64, "queries")
    q_prep, q_sq = _prepare(q_all.to(dtype), metric)
    # per training row of a block: its scores and mask against every query, and ~4 copies of the row
    b = int(max(kk, min(n_t, max_bytes // max(1, (2 * n_q + 4 * d_t) * item))))
    best_v = torch.empty((n_q, 0), dtype=dtype)
    best_i = torch.empty((n_q, 0), dtype=torch.int64)
    for lo in range(0, n_t, b):
        hi = min(n_t, lo + b)
        t_prep, t_sq = _prepare(_block(t_arr, lo, hi, dtype, "training set"), metric)
        s = q_prep @ t_prep.T
        if metric == L2:  # -||q - t||² so that larger is nearer everywhere
            s.mul_(2).sub_(q_sq.unsqueeze(1)).sub_(t_sq.unsqueeze(0))
        v, i = _block_topk(s, min(kk, hi - lo))
        del s
        best_v, best_i = _sort_by_score_then_index(torch.cat([best_v, v], 1), torch.cat([best_i, i + lo], 1), kk)

    # rescore the candidates exactly, a few queries at a time to bound the gathered copy
    out_v = torch.empty((n_q, k), dtype=torch.float64)
    out_i = torch.empty((n_q, k), dtype=torch.int64)
    chunk = max(1, max_bytes // max(1, kk * d_t * 8 * 2))
    for lo in range(0, n_q, chunk):
        hi = min(n_q, lo + chunk)
        idx = best_i[lo:hi]
        uniq, inverse = torch.unique(idx, return_inverse=True)
        rows = t_arr[uniq.numpy()] if not torch.is_tensor(t_arr) else t_arr[uniq]
        rows = torch.as_tensor(np.asarray(rows) if not torch.is_tensor(rows) else rows).reshape(len(uniq), -1).to(torch.float64)
        cand = rows[inverse]
        v, i = _sort_by_score_then_index(_exact_scores(q_all[lo:hi], cand, metric), idx, k)
        out_v[lo:hi], out_i[lo:hi] = v, i
    scores = -out_v if metric == L2 else out_v
    return TopK(indices=out_i.numpy(), scores=scores.numpy(), metric=metric)


def nearest_similarity(samples: Any, train: Any, *, metric: str = CORRELATION, max_bytes: int = DEFAULT_MAX_BYTES) -> TopK:
    """Each sample's nearest training image (k = 1): ``memorization-small-n`` and ``originality``."""
    return topk(samples, train, k=1, metric=metric, max_bytes=max_bytes)
