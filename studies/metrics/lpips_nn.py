"""Exact LPIPS nearest neighbours over a whole training set.

LPIPS(x, y) = ||phi(x) - phi(y)||^2 with phi the weighted, channel-normalised, spatially scaled
features (``LPIPS.features``). So the search is a squared Euclidean nearest-neighbour search: query
features are computed once; training images are streamed in blocks whose features are computed,
scored with one matmul, ||q||^2 + ||t||^2 - 2 q.t, and discarded, so memory is bounded by one block.
The expansion loses digits to cancellation, so the best ``k + margin`` candidates per query are
re-scored with the ``lpips`` module itself and the returned distances are those exact values; a
query is ``certified`` when the k-th exact distance is below every unverified candidate's score by
more than the measured rounding error. Features stay float32 (no float16 storage)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .perceptual import LPIPS


@dataclass(frozen=True)
class NearestResult:
    indices: np.ndarray     # (Q, k) int64, nearest first
    distances: np.ndarray   # (Q, k) float64, exact LPIPS values from the lpips module
    certified: np.ndarray   # (Q,) bool: no unverified candidate can beat the k-th within the error bound
    max_rounding: float     # largest |expanded - exact| seen among the verified candidates


def _blocks(n: int, block: int):
    for start in range(0, n, block):
        yield start, min(n, start + block)


def _rows(images):
    # numpy memmaps stay on disk; only one block at a time is turned into a tensor
    if isinstance(images, torch.Tensor) or isinstance(images, np.ndarray):
        return images
    return np.asarray(images)


def _take(images, sel) -> torch.Tensor:
    """Rows ``sel`` (slice or index array) as a tensor; numpy rows are copied (memmaps are read-only)."""
    if isinstance(images, torch.Tensor):
        return images[sel]
    return torch.from_numpy(np.array(images[sel], copy=True))


def exact_nearest(metric: LPIPS, queries, train, *, k: int = 1, margin: int = 8, block: int = 128) -> NearestResult:
    """The k training images with the smallest LPIPS to each query, searched over all of ``train``."""
    return exact_nearest_sets(metric, [queries], train, k=k, margin=margin, block=block)[0]


def exact_nearest_sets(metric: LPIPS, query_sets, train, *, k: int = 1, margin: int = 8, block: int = 128) -> list[NearestResult]:
    """``exact_nearest`` of each query set in ``query_sets`` over one pass of ``train``: the training
    features, the search's main cost (the VGG backbone over every training image), are computed once
    for all sets. Each set is scored on its own, with the same shapes as alone, so each result is
    bit-identical to ``exact_nearest`` of that set (tested)."""
    train = _rows(train)
    n = len(train)
    if k < 1 or k > n:
        raise InputError(f"k must be in [1, {n}] (training images), got {k}")
    if block < 1 or margin < 0:
        raise InputError(f"block must be >= 1 and margin >= 0, got block={block}, margin={margin}")
    if not query_sets:
        raise InputError("exact_nearest_sets: no query set given")
    qs = [metric.features(queries) for queries in query_sets]
    q_sqs = [(q.double() ** 2).sum(1) for q in qs]
    c = min(n, k + margin)
    best_d = [torch.full((len(q), 0), float("inf"), dtype=torch.float64) for q in qs]
    best_i = [torch.zeros((len(q), 0), dtype=torch.int64) for q in qs]
    for start, stop in _blocks(n, block):
        t = metric.features(_take(train, slice(start, stop)))
        t_sq = (t.double() ** 2).sum(1)[None, :]
        for j, (q, q_sq) in enumerate(zip(qs, q_sqs)):
            if t.shape[1] != q.shape[1]:
                raise InputError(f"queries and training images give different feature sizes ({q.shape[1]} vs {t.shape[1]}): image sizes differ")
            d = q_sq[:, None] + t_sq - 2 * (q @ t.T).double()
            cand_d = torch.cat([best_d[j], d.clamp_min(0)], dim=1)
            cand_i = torch.cat([best_i[j], torch.arange(start, stop).expand(len(q), -1)], dim=1)
            keep = torch.topk(cand_d, min(c, cand_d.shape[1]), dim=1, largest=False)
            best_d[j], best_i[j] = keep.values, torch.gather(cand_i, 1, keep.indices)
    return [_verify(metric, queries, train, bi, bd, k=k, n=n) for queries, bi, bd in zip(query_sets, best_i, best_d)]


def _verify(metric: LPIPS, queries, train, cand_i, cand_d, *, k: int, n: int) -> NearestResult:
    qs = _take(_rows(queries), slice(None))
    if qs.ndim == 3:
        qs = qs.unsqueeze(0)
    flat = cand_i.reshape(-1).numpy()
    order = np.argsort(flat, kind="stable")
    # gather candidate images in index order (friendly to memmaps), then put them back
    gathered = _take(train, torch.as_tensor(np.sort(flat)) if isinstance(train, torch.Tensor) else np.sort(flat))
    cand_images = torch.empty_like(gathered)
    cand_images[order] = gathered
    reps = cand_i.shape[1]
    exact = metric(qs.repeat_interleave(reps, dim=0), cand_images).double().reshape(cand_i.shape)
    rounding = float((exact - cand_d).abs().max())
    srt = torch.argsort(exact, dim=1, stable=True)
    exact_sorted = torch.gather(exact, 1, srt)
    idx_sorted = torch.gather(cand_i, 1, srt)
    if cand_i.shape[1] == n:  # every training image was verified
        certified = np.ones(len(cand_i), dtype=bool)
    else:
        # an unverified image scores at least the last candidate's expanded distance
        floor = cand_d[:, -1]
        certified = (exact_sorted[:, k - 1] + 2 * rounding < floor).numpy()
    return NearestResult(idx_sorted[:, :k].numpy(), exact_sorted[:, :k].numpy(), certified, rounding)


def brute_force_nearest(metric: LPIPS, queries, train, *, k: int = 1) -> NearestResult:
    """Reference search: one ``lpips`` call per (query, training image) pair."""
    train_t = _take(_rows(train), slice(None))
    qs = _take(_rows(queries), slice(None))
    if qs.ndim == 3:
        qs = qs.unsqueeze(0)
    d = torch.stack([metric(q[None], train_t) for q in qs]).double()
    srt = torch.argsort(d, dim=1, stable=True)[:, :k]
    return NearestResult(srt.numpy(), torch.gather(d, 1, srt).numpy(), np.ones(len(qs), dtype=bool), 0.0)


def lpips_matrix(metric: LPIPS, a, b) -> np.ndarray:
    """LPIPS of every a[i] with every b[j] via the feature map (expanded; for small sets)."""
    fa, fb = metric.features(a).double(), metric.features(b).double()
    return torch.cdist(fa, fb).pow(2).numpy()
