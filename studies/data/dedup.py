"""Near-duplicate removal (SPEC §2): the dense reference rule, the two published blockwise variants,
and ``exact``, a pruned engine that returns the dense removed set in O(block² + N·d) memory.

The decision (the reference definition, shared by ``dense``, ``exact`` and ``cross_duplicates``):
average-pool to the 20x20 grid (kernel = stride = H // 20, as ``AvgPool2d(int(H/20))``), remove each
image's mean per channel, divide by the L2 norm (a zero norm becomes 0.001), giving float32 features
D (computed on the CPU whatever the device, so they are bit-identical everywhere). A pair i > j is a
duplicate iff |C_ij| > t where C_ij is the dot product of the float32 features evaluated in float64.
Image i is removed iff some j < i is its duplicate, even when j itself is removed.

Float handling: float32 dot products of (near-)unit d-vectors are off by at most about d·2^-24
(the classic gamma_d bound), so pairs with |C32| more than BAND = 4·d·2^-24 away from t are decided
in float32 and the rest are recomputed in float64. Only ties at the 1e-16 level (float64 summation
order) could still depend on the BLAS path; this is the documented tolerance. The two blockwise
variants reproduce the published listings, so they threshold the float32 products as those do.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError

METHODS = ("dense", "blockwise_published", "blockwise_repository", "exact")
GRID = 20
# "literal": SPEC §2's rule as written, kernel = stride = H // 20 (1 below 40x40: Fashion-MNIST's
# 28x28 images are compared on all 784 pixels); "adaptive": adaptive average pooling to the 20x20
# grid first (a 400-d comparison at any resolution), then the same rule
POOLS = ("literal", "adaptive")
DEFAULT_MAX_DENSE_BYTES = 4 * 2**30
PRUNE_MARGIN = 1e-3  # slack of the coarse bound: >> its float error (~(d + k)·2^-24), so it never drops a pair
ROW_TILE = 512
COL_TILE = 1024
PCA_RANK = 24  # the smallest rank of RANK_LADDER: what face-like 20x20 data needs (benchmarks/RESULTS.md)
# ranks the engine chooses among, per data set, by _choose_rank's cost estimate: a higher rank costs
# more per bounded pair but leaves fewer candidates to verify. Face-like 20x20 arrays prune well at
# 24; Fashion-MNIST's 784-d silhouettes need ~100 (at 24 about 1% of all pairs survive the bound,
# 40x the real duplicates, and their verification was 90% of the run)
RANK_LADDER = (PCA_RANK, 48, 96, 192)
RANK_SAMPLE = 2048  # evenly spaced rows whose pairs estimate each rank's surviving fraction
# cost of one gathered full-resolution verification, in bound-GEMM multiply-adds per feature
# dimension: on the 2-core dev box (2026-12-02, one thread) a gathered 784-d product took ~2 µs per
# pair against ~0.05 ns per multiply-add of a 1024 x 1024 x 784 float32 matmul, i.e. ~50 per dimension.
# Only the speed depends on it: every rank gives the same removed set
VERIFY_COST_PER_DIM = 50.0
PAIR_OVERHEAD = 8.0  # per bounded pair, in multiply-adds: the mask, amax and compare after each tile
WINDOW_KEYS = 8  # leading principal coordinates kept in float64: the window scan's keys come from them
VERIFY_BATCH = 1 << 16  # candidate pairs collected before they are verified at full resolution
_FEATURE_CHUNK = 8192


# ---------------------------------------------------------------- input checks and features

def _as_images(images, name: str = "images", min_n: int = 2) -> torch.Tensor:
    if isinstance(images, np.ndarray):
        if not (np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)):
            raise InputError(f"{name}: dtype {images.dtype} is not a real number type")
        if not images.dtype.isnative or images.dtype in (np.uint16, np.uint32, np.uint64) or images.dtype.itemsize > 8:
            # byte-swapped, wide unsigned and long-double arrays have no torch dtype: widen to float64 first
            images = images.astype(np.float64)
        with warnings.catch_warnings():
            # read-only (memory-mapped) input is fine: nothing here writes into it
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            x = torch.from_numpy(np.ascontiguousarray(images))
    elif isinstance(images, torch.Tensor):
        if images.is_complex() or images.dtype == torch.bool:
            raise InputError(f"{name}: dtype {images.dtype} is not a real number type")
        x = images.detach().cpu()
    else:
        raise InputError(f"{name}: expected a numpy array or torch tensor (N, C, H, W), got {type(images).__name__}")
    if x.ndim != 4:
        raise InputError(f"{name}: expected 4 dimensions (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    if n == 0:
        raise InputError(f"{name}: the array is empty (N = 0); nothing to de-duplicate")
    if n < min_n:
        raise InputError(f"{name}: a single image (N = 1); de-duplication needs at least 2 images")
    if x.shape[1] == 0:
        raise InputError(f"{name}: no channels in shape {tuple(x.shape)}")
    if h < GRID or w < GRID:
        raise InputError(f"{name}: {h}x{w} pixels is smaller than the {GRID}x{GRID} comparison grid")
    # in chunks: isfinite's temporaries over the whole array would cost several times its size;
    # checked before the cast to float32, which would turn finite 1e300 into inf
    finite = torch.cat([torch.isfinite(x[s:s + _FEATURE_CHUNK].reshape(-1, c * h * w)).all(dim=1) for s in range(0, n, _FEATURE_CHUNK)])
    if not bool(finite.all()):
        bad = torch.nonzero(~finite).flatten()
        raise InputError(f"{name}: NaN or inf values in {bad.numel()} image(s), first at index {int(bad[0])}")
    if x.dtype == torch.float64:  # every integer type and narrower float fits float32
        top = float(torch.finfo(torch.float32).max)
        inside = torch.cat([(x[s:s + _FEATURE_CHUNK].reshape(-1, c * h * w).abs() <= top).all(dim=1) for s in range(0, n, _FEATURE_CHUNK)])
        if not bool(inside.all()):
            bad = torch.nonzero(~inside).flatten()
            raise InputError(f"{name}: finite values beyond float32's range (|x| > {top:.3g}) in {bad.numel()} image(s), "
                             f"first at index {int(bad[0])}; rescale the images (e.g. to [0, 1])")
    return x.to(torch.float32)


def _check_options(threshold, block) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not (0.0 < float(threshold) < 1.0):
        raise InputError(f"threshold: must be a number strictly between 0 and 1, got {threshold!r}")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block <= 0:
        raise InputError(f"block: must be a positive integer, got {block!r}")
    return float(threshold)


def _pool_first(x: torch.Tensor, pool: str) -> torch.Tensor:
    """``pool="adaptive"``: the images adaptive-average-pooled to GRID x GRID (the literal rule then
    pools with kernel 1, i.e. not again); ``"literal"``: unchanged."""
    if pool not in POOLS:
        raise InputError(f"pool: unknown {pool!r}; choose one of {', '.join(POOLS)}")
    if pool == "literal" or x.shape[2:] == (GRID, GRID):
        return x
    return torch.cat([F.adaptive_avg_pool2d(x[s:s + _FEATURE_CHUNK].float(), GRID) for s in range(0, x.shape[0], _FEATURE_CHUNK)])


def pooled(x: torch.Tensor) -> torch.Tensor:
    """Average-pool with kernel = stride = H // 20, as the reference code's ``AvgPool2d(int(H/20))``."""
    k = x.shape[2] // GRID
    return F.avg_pool2d(x, k) if k > 1 else x


def features(x: torch.Tensor) -> torch.Tensor:
    """Dense-rule features D (N, d) float32 on the CPU: pooled, per-channel mean removed, unit norm."""
    out = None
    for s in range(0, x.shape[0], _FEATURE_CHUNK):
        p = pooled(x[s:s + _FEATURE_CHUNK])
        p = p - p.mean(dim=(2, 3), keepdim=True)
        p = p.flatten(start_dim=1)
        norms = p.norm(dim=1, keepdim=True)
        norms[norms == 0] = 0.001
        if out is None:  # filled in place: no second N x d copy at the end
            out = torch.empty(x.shape[0], p.shape[1], dtype=torch.float32)
        out[s:s + len(p)] = p / norms
    return out


def features_listing(x: torch.Tensor) -> torch.Tensor:
    """Features of T25's listings: the mean over all channels (dim=(1,2,3)) is removed, not per channel."""
    p = pooled(x)
    p = p - p.mean(dim=(1, 2, 3), keepdim=True)
    norms = p.norm(dim=(2, 3), keepdim=True).norm(dim=1, keepdim=True)
    norms[norms == 0] = 0.001
    return (p / norms).flatten(start_dim=1)


def band(d: int) -> float:
    """Half-width around t inside which a float32 product is not trusted and float64 decides."""
    return 4.0 * d * 2.0**-24


def _decide(DR: torch.Tensor, DC: torch.Tensor, c32: torch.Tensor, gi: torch.Tensor, gj: torch.Tensor, t: float) -> torch.Tensor:
    """|C| > t for the pairs (gi[k], gj[k]) given their float32 products c32: float64 inside the band."""
    eps = band(DR.shape[1])
    a = c32.abs()
    out = a > t + eps
    near = (a > t - eps) & ~out
    if bool(near.any()):
        r, c = gi[near].cpu(), gj[near].cpu()
        c64 = (DR[r].double() * DC[c].double()).sum(dim=1).abs()
        out[near] = (c64 > t).to(out.device)
    return out


# ---------------------------------------------------------------- dense reference

def dense_bytes(n: int) -> int:
    """Bytes the dense rule needs: the N x N float32 matrix plus its N x N boolean mask."""
    return 5 * n * n


def _dense(x: torch.Tensor, t: float, max_dense_bytes: int) -> np.ndarray:
    n = x.shape[0]
    need = dense_bytes(n)
    if need > max_dense_bytes:
        raise InputError(
            f"dense: {n} images need a {n} x {n} float32 matrix and its mask, {need:,} bytes ({need / 2**30:.1f} GiB), over the "
            f"limit max_dense_bytes={max_dense_bytes:,}; use method='exact' (same removed set, bounded memory)"
        )
    D = features(x)
    C = D @ D.T
    C.abs_()
    C.tril_(diagonal=-1)  # keep i > j; zeros never exceed t > 0
    i, j = torch.nonzero(C > t - band(D.shape[1]), as_tuple=True)
    keep = _decide(D, D, C[i, j], i, j, t)
    return np.unique(i[keep].numpy()).astype(np.int64)


# ---------------------------------------------------------------- T25's blockwise listings

def _blockwise(x: torch.Tensor, t: float, b: int, *, offset_diagonal: bool) -> np.ndarray:
    """T25's ``remove_repeats_block``: float32 block products, a Python loop over the pairs found.

    ``offset_diagonal=False`` is the appendix listing (``rep_IDS_1[k] != rep_IDS_2[k]`` on local
    indices, which skips every real pair (k, k + m·b) in off-diagonal blocks); ``True`` is the
    repository's version, which compares global indices."""
    D = features_listing(x)
    n = D.shape[0]
    to_remove: list[int] = []
    for i in range(0, n, b):
        bi = min(b, n - i)
        for j in range(0, i + 1, b):
            bj = min(b, n - j)
            corrs = D[i:i + bi] @ D[j:j + bj].T
            rep_1, rep_2 = torch.where(torch.abs(corrs) > t)
            # the per-pair loop is the object being measured; Python ints instead of 0-d tensors
            # change its speed, not its decisions
            for k1, k2 in zip(rep_1.tolist(), rep_2.tolist()):
                same = (k1 + i == k2 + j) if offset_diagonal else (k1 == k2)
                if not same:
                    m = max(k1 + i, k2 + j)
                    if m not in to_remove:
                        to_remove.append(m)
    return np.array(sorted(to_remove), dtype=np.int64)


# ---------------------------------------------------------------- exact pruned engine
#
# |C_ij| does not change when a feature vector is negated (negation is exact in floating point), so
# the engine first flips every vector to make its first principal coordinate z1 >= 0. Then
#   C_ij >  t  needs  Z_i·Z_j + r_i r_j > t, and |z_k,i - z_k,j| < sqrt(2(1 - t)) for every k
#              (scan 1, over the pairs that the slab-and-window order of _window_scan can reach)
#   C_ij < -t  needs  ||a + b||² < 2(1 - t) (unit vectors), hence z1_i + z1_j < sqrt(2(1 - t)),
#              so both lie in the small "low" set L, scanned against its negation (scan 2)
# where Z = coordinates on the top principal directions V and r = the norm of what V leaves out:
# C_ij = Z_i·Z_j + (QD_i)·(QD_j) <= Z_i·Z_j + r_i r_j by Cauchy-Schwarz on the orthogonal complement.
# Any orthonormal V gives a valid bound (coarser average pooling is one); principal directions leave
# the smallest residuals, so the bound rejects the most pairs at a given rank. The rank is chosen per
# data set from RANK_LADDER (_choose_rank): face-like 20x20 arrays prune well at 24, Fashion-MNIST's
# 784-d silhouettes need ~96. Survivors are verified at full resolution with the same decision as the
# dense rule (_decide).

def _device(device) -> torch.device:
    """``device`` checked before any work: 'cpu', 'cuda' or 'cuda:K' of a present GPU, or auto."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"device: {device!r} is not a device; use cpu, cuda, cuda:K or auto") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise InputError(f"device: {device!r} is not supported here; use cpu, cuda, cuda:K or auto")
    if not torch.cuda.is_available():
        raise InputError(f"device: {device!r} asked for, but no CUDA GPU is available; use cpu or auto")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device: {device!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


@contextmanager
def _one_thread():
    """Torch on one CPU thread inside, the caller's count restored after. The engine's work is many
    small tiles (a few ms each) and small factorisations: with two threads on the shared 2-core box
    under load ~7, every parallel region waits for the second thread to be scheduled, and the
    60,000 Fashion-MNIST images took 53 s against 11 s on one thread (2026-12-02)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _principal(D: torch.Tensor, rank: int) -> torch.Tensor:
    """Top-``rank`` eigenvectors (d, k) float64 of DᵀD, from at most 16,384 evenly spaced rows.

    Only the orthonormality of the result matters for the bounds (eigh and svd give it to float64
    precision whatever matrix they factor), so the Gram matrix may be a float32 estimate."""
    step = max(1, D.shape[0] // 16384)
    S = D[::step]
    # one thread: threaded LAPACK on a small matrix takes seconds instead of milliseconds on a busy CPU
    with _one_thread():
        if S.shape[0] < S.shape[1]:  # few rows: right singular vectors of S are cheaper than eigh of SᵀS
            _, _, vh = torch.linalg.svd(S.double(), full_matrices=False)
            return vh[:min(rank, vh.shape[0])].T.contiguous()
        G = (S.T @ S).double()
        _, vecs = torch.linalg.eigh((G + G.T) / 2)
    return vecs[:, -min(rank, D.shape[1]):].flip(1).contiguous()


def _bound_vectors(D: torch.Tensor, V: torch.Tensor, lead: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, Zl): A = [Z, r] float32 with Z = D V and r = |D - Z Vᵀ| rounded up; Zl = the first ``lead``
    columns of Z in float64 (sort keys of the window scan and the sign of z1)."""
    n, k = D.shape[0], V.shape[1]
    A = torch.empty(n, k + 1, dtype=torch.float32)
    Zl = torch.empty(n, min(lead, k), dtype=torch.float64)
    for s in range(0, n, _FEATURE_CHUNK):
        c = D[s:s + _FEATURE_CHUNK].double()
        z = c @ V
        # |D - Z Vᵀ|² = |D|² - |Z|² for orthonormal V; float64 leaves an error ~1e-15 in the square,
        # ~3e-8 in r, far inside the rounding up below
        res = ((c * c).sum(dim=1) - (z * z).sum(dim=1)).clamp_(min=0).sqrt_()
        A[s:s + len(c), :k] = z.float()
        A[s:s + len(c), k] = (res * (1 + 1e-6) + 1e-6).float()  # rounding up keeps the bound an upper bound
        Zl[s:s + len(c)] = z[:, :Zl.shape[1]]
    return A, Zl


def _negated(A: torch.Tensor) -> torch.Tensor:
    out = A.clone()
    out[:, :-1].neg_()
    return out


def _verify(DR, DC, gi, gj, t, chunk: int = 2048) -> torch.Tensor:
    """The dense decision for candidate pairs, in chunks so the gathered rows stay small: at 16,384
    pairs (50 MB of gathered 784-d rows per side) the products ran 5x slower per pair than at 2,048,
    whose rows stay in cache."""
    out = torch.empty(gi.numel(), dtype=torch.bool)
    for s in range(0, gi.numel(), chunk):
        i, j = gi[s:s + chunk], gj[s:s + chunk]
        c32 = (DR[i] * DC[j]).sum(dim=1)
        out[s:s + chunk] = _decide(DR, DC, c32, i, j, t)
    return out


def _scan(DR, AR, DC, AC, t, *, row_tile, col_tile, triangle: bool, done: torch.Tensor | None, dev, stats: dict):
    """Pairs (i, j) rows x columns with |C_ij| > t among those whose bound AR_i·AC_j exceeds t - margin
    (j < i when ``triangle``). With ``done`` (first-only mode), rows already found are skipped and
    rows found here are marked: exact dedup needs only 'exists j < i'."""
    nr, nc = AR.shape[0], AC.shape[0]
    lo = t - PRUNE_MARGIN
    ARd, ACTd = AR.to(dev), AC.T.contiguous().to(dev)
    found_i, found_j = [], []
    for r0 in range(0, nr, row_tile):
        r1 = min(r0 + row_tile, nr)
        c_end = r1 if triangle else nc
        rows = torch.arange(r0, r1)
        for c0 in range(0, c_end, col_tile):
            c1 = min(c0 + col_tile, c_end)
            if done is not None:
                rows = rows[~done[rows]]
                if rows.numel() == 0:
                    break
            rows_d = rows.to(dev)
            U = ARd[rows_d] if done is not None and rows.numel() < r1 - r0 else ARd[r0:r1]
            U = U @ ACTd[:, c0:c1]
            if triangle and c1 > r0:  # the tile touches the diagonal: keep j < i only
                U.masked_fill_(torch.arange(c0, c1, device=dev)[None, :] >= rows_d[:, None], -1.0)
            stats["bound_pairs"] += U.numel()
            cand = U.amax(dim=1) > lo
            if not bool(cand.any()):
                continue
            ii, jj = torch.nonzero(U[cand] > lo, as_tuple=True)
            gi, gj = rows[cand.cpu()][ii.cpu()], jj.cpu() + c0
            stats["verified_pairs"] += gi.numel()
            ok = _verify(DR, DC, gi, gj, t)
            if bool(ok.any()):
                gi, gj = gi[ok], gj[ok]
                if done is not None:
                    done[gi] = True
                found_i.append(gi)
                found_j.append(gj)
    e = torch.zeros(0, dtype=torch.int64)
    return (torch.cat(found_i), torch.cat(found_j)) if found_i else (e, e)


def _tiles(block: int) -> dict:
    return {"row_tile": min(block, ROW_TILE), "col_tile": min(block, COL_TILE)}


def _low_set(z1: torch.Tensor, t: float) -> torch.Tensor:
    """Indices whose z1 is small enough to take part in an anti-correlated pair (see above)."""
    return torch.nonzero(z1 < math.sqrt(2 * (1 - t)) + PRUNE_MARGIN).flatten()


def _choose_rank(D: torch.Tensor, V: torch.Tensor, t: float, stats: dict | None = None) -> int:
    """The rank of RANK_LADDER (at most V's columns) with the lowest estimated cost per bounded pair,
    (k + 1 + PAIR_OVERHEAD) + f_k · VERIFY_COST_PER_DIM · d, where f_k is the fraction of the pairs of
    RANK_SAMPLE evenly spaced rows whose rank-k bound exceeds t - margin (signs made canonical as the
    scan does). Deterministic; the removed set does not depend on the choice."""
    ladder = [k for k in RANK_LADDER if k <= V.shape[1]] or [V.shape[1]]
    n, d = D.shape
    S = D[:: max(1, n // RANK_SAMPLE)][:RANK_SAMPLE]
    # float32 throughout: an estimate of a fraction, which needs no more
    Z = S @ V[:, :ladder[-1]].float()
    Z *= torch.where(Z[:, :1] < 0, -1.0, 1.0)
    sq = (S * S).sum(dim=1)
    m = S.shape[0]
    below = torch.ones(m, m, dtype=torch.bool).tril_(diagonal=-1)
    pairs = max(1, m * (m - 1) // 2)
    lo = t - PRUNE_MARGIN
    best, costs, G, done_k = ladder[0], {}, torch.zeros(m, m), 0
    for k in ladder:
        if k + 1 + PAIR_OVERHEAD >= costs.get(best, math.inf):
            break  # a rank's cost is at least k + 1 + PAIR_OVERHEAD: no higher rank can win any more
        G.addmm_(Z[:, done_k:k], Z[:, done_k:k].T)  # Z_k Z_kᵀ built up rank by rank: one rank-192 product in all
        done_k = k
        r = (sq - (Z[:, :k] * Z[:, :k]).sum(dim=1)).clamp_(min=0).sqrt_()
        f = int(((torch.addr(G, r, r) > lo) & below).sum()) / pairs
        costs[k] = (k + 1 + PAIR_OVERHEAD) + f * VERIFY_COST_PER_DIM * d
        if costs[k] < costs[best]:
            best = k
    if stats is not None:
        stats["rank"], stats["rank_costs"] = best, {k: round(c, 1) for k, c in costs.items()}
    return best


def _canonical(D: torch.Tensor, rank: int | None, t: float = 0.95, stats: dict | None = None):
    """(D, A, Zl) with every row's sign flipped so that z1 >= 0 (D in place, A and Zl to match).
    ``rank=None``: chosen per data set by _choose_rank."""
    V = _principal(D, max(RANK_LADDER) if rank is None else rank)
    if rank is None:
        V = V[:, :_choose_rank(D, V, t, stats)].contiguous()
    A, Zl = _bound_vectors(D, V, WINDOW_KEYS)
    neg = Zl[:, 0] < 0
    sign = torch.where(neg, -1.0, 1.0).float()[:, None]
    D.mul_(sign)  # in place: D is this engine's own copy, and a second N x d copy would double the peak
    A[:, :-1] *= sign
    Zl[neg] *= -1
    return D, A, Zl


def _window_scan(D, A, Zl, t, *, row_tile, col_tile, dev, stats: dict) -> torch.Tensor:
    """Rows i having some j < i with C_ij > t (canonical signs), as a boolean mask over rows.

    For unit vectors C_ij > t needs |a - b|² < 2(1 - t), and any orthonormal direction u (a column of
    V) gives |u·a - u·b| <= |a - b| < w = sqrt(2(1 - t)) (plus margin). So the rows are cut into slabs
    of width w along the principal coordinate of largest spread (partners lie in the same or the
    adjacent slab) and sorted inside each slab by the coordinate of second largest spread (partners lie
    within w of each other in that order). Each block of sorted rows is bounded, with the rank-k bound,
    only against the earlier rows of its own slab reaching w below it and the window of the slab below;
    that visits every unordered pair within reach once. Verified pairs are mapped back to the original
    order, where the larger index is the one removed."""
    n = D.shape[0]
    w = math.sqrt(2 * (1 - t)) + PRUNE_MARGIN
    Zn = Zl.numpy()
    spread = np.argsort(-Zn.var(axis=0), kind="stable")
    ka, kb = int(spread[0]), int(spread[min(1, spread.size - 1)])
    slab = np.floor((Zn[:, ka] - Zn[:, ka].min()) / w).astype(np.int64)
    order_np = np.lexsort((Zn[:, kb], slab))
    order = torch.from_numpy(order_np)
    sl, ks = slab[order_np], Zn[order_np, kb]
    cuts = np.flatnonzero(np.diff(sl)) + 1
    segments = list(zip(np.r_[0, cuts].tolist(), np.r_[cuts, n].tolist()))
    segment_of = {int(sl[s0]): (s0, s1) for s0, s1 in segments}
    As = A[order].to(dev)
    AsT = As.T.contiguous()
    lo = t - PRUNE_MARGIN
    done = torch.zeros(n, dtype=torch.bool)
    pending: list[tuple[torch.Tensor, torch.Tensor]] = []
    waiting = 0

    def flush() -> None:
        # survivors are ~1e-5 of the bounded pairs: verified in batches, which also bounds their memory
        nonlocal waiting
        if pending:
            gi, gj = torch.cat([p[0] for p in pending]), torch.cat([p[1] for p in pending])
            pending.clear()
            later = torch.maximum(gi, gj)
            open_ = ~done[later]
            gi, gj, later = gi[open_], gj[open_], later[open_]
            stats["verified_pairs"] += gi.numel()
            done[later[_verify(D, D, gi, gj, t)]] = True
        waiting = 0

    # one tile buffer for the whole scan: tiles of varying shape, freed between small long-lived
    # candidate lists, fragment the heap (resident memory grew by GiBs at N = 202,589 without it)
    buf = torch.empty(row_tile * col_tile, dtype=torch.float32, device=dev)
    for s0, s1 in segments:
        below = segment_of.get(int(sl[s0]) - 1)
        for r0 in range(s0, s1, row_tile):
            r1 = min(r0 + row_tile, s1)
            ranges = [(s0 + int(np.searchsorted(ks[s0:s1], ks[r0] - w, side="left")), r1)]
            if below is not None:
                b0, b1 = below
                ranges.append((b0 + int(np.searchsorted(ks[b0:b1], ks[r0] - w, side="left")),
                               b0 + int(np.searchsorted(ks[b0:b1], ks[r1 - 1] + w, side="right"))))
            R = As[r0:r1]
            for c_lo, c_hi in ranges:
                for c0 in range(c_lo, c_hi, col_tile):
                    c1 = min(c0 + col_tile, c_hi)
                    U = torch.mm(R, AsT[:, c0:c1], out=buf[:(r1 - r0) * (c1 - c0)].view(r1 - r0, c1 - c0))
                    if c1 > r0 and c0 < r1:  # the tile touches the diagonal: keep sorted column < sorted row only
                        U.masked_fill_(torch.arange(c0, c1, device=dev)[None, :] >= torch.arange(r0, r1, device=dev)[:, None], -1.0)
                    stats["bound_pairs"] += U.numel()
                    cand = U.amax(dim=1) > lo
                    if not bool(cand.any()):
                        continue
                    rows = torch.nonzero(cand).flatten()
                    ii, jj = torch.nonzero(U[rows] > lo, as_tuple=True)
                    gi, gj = order[rows[ii].cpu() + r0], order[jj.cpu() + c0]
                    # only the later image of a pair can be removed: skip pairs whose later one already is
                    open_ = ~done[torch.maximum(gi, gj)]
                    pending.append((gi[open_], gj[open_]))
                    waiting += int(open_.sum())
                    if waiting >= VERIFY_BATCH:
                        flush()
    flush()
    stats["window_keys"] = (ka, kb)
    return done


def _exact(x: torch.Tensor, t: float, block: int, device=None, stats: dict | None = None) -> np.ndarray:
    with _one_thread():
        return _exact_body(x, t, block, device, stats)


def _exact_body(x: torch.Tensor, t: float, block: int, device, stats: dict | None) -> np.ndarray:
    st = {"bound_pairs": 0, "verified_pairs": 0}
    D, A, Zl = _canonical(features(x), None, t, st)
    dev = _device(device)
    done = _window_scan(D, A, Zl, t, **_tiles(block), dev=dev, stats=st)
    low = _low_set(Zl[:, 0], t)
    if low.numel() > 1:
        sub_done = done[low].clone()
        DL, AL = D[low], A[low]
        _scan(DL, AL, DL, _negated(AL), t, **_tiles(block), triangle=True, done=sub_done, dev=dev, stats=st)
        done[low] |= sub_done
    st["low_set"] = int(low.numel())
    if stats is not None:
        stats.update(st)
    return torch.nonzero(done).flatten().numpy().astype(np.int64)


# ---------------------------------------------------------------- public API

def remove_duplicates(
    images,
    *,
    method: str = "exact",
    threshold: float = 0.95,
    block: int = 5000,
    max_dense_bytes: int = DEFAULT_MAX_DENSE_BYTES,
    device: str | None = None,
    pool: str = "literal",
) -> np.ndarray:
    """Sorted int64 indices of the images that the chosen method removes (SPEC §2).

    ``images``: float array or tensor (N, C, H, W) with N >= 2 and H, W >= 20. ``block``: the block
    size b of the blockwise listings; ``exact`` bounds tiles of min(block, ROW_TILE) x
    min(block, COL_TILE) pairs. ``max_dense_bytes``
    bounds what ``dense`` may allocate. ``device``: where ``exact`` scans (default: CUDA when present);
    its decisions do not depend on it. ``pool``: ``POOLS`` (default the literal rule)."""
    if method not in METHODS:
        raise InputError(f"method: unknown {method!r}; choose one of {', '.join(METHODS)}")
    t = _check_options(threshold, block)
    if method == "exact":
        _device(device)  # a bad device is refused before the images are read
    x = _pool_first(_as_images(images), pool)
    if method == "dense":
        return _dense(x, t, int(max_dense_bytes))
    if method == "blockwise_published":
        return _blockwise(x, t, int(block), offset_diagonal=False)
    if method == "blockwise_repository":
        return _blockwise(x, t, int(block), offset_diagonal=True)
    return _exact(x, t, int(block), device)


def cross_duplicates(a_images, b_images, threshold: float = 0.95, *, block: int = 5000, device=None, pool: str = "literal") -> list[tuple[int, int]]:
    """All pairs (i, j), i in a and j in b, with |corr| > threshold under the dense rule's decision
    (sorted). One image per group is valid here. Same pruned engine as ``exact``."""
    t = _check_options(threshold, block)
    _device(device)
    xa, xb = _pool_first(_as_images(a_images, "a_images", 1), pool), _pool_first(_as_images(b_images, "b_images", 1), pool)
    if xa.shape[1:] != xb.shape[1:]:
        raise InputError(f"cross_duplicates: image shapes differ, {tuple(xa.shape[1:])} vs {tuple(xb.shape[1:])}")
    na = xa.shape[0]
    st = {"bound_pairs": 0, "verified_pairs": 0}
    dev = _device(device)
    with _one_thread():
        D, A, Zl = _canonical(torch.cat([features(xa), features(xb)]), None, t, st)
        i1, j1 = _scan(D[:na], A[:na], D[na:], A[na:], t, **_tiles(block), triangle=False, done=None, dev=dev, stats=st)
        low = _low_set(Zl[:, 0], t)
        la, lb = low[low < na], low[low >= na]
        i2, j2 = _scan(D[la], A[la], D[lb], _negated(A[lb]), t, **_tiles(block), triangle=False, done=None, dev=dev, stats=st)
    pairs = {(int(i), int(j)) for i, j in zip(i1.tolist(), j1.tolist())}
    pairs |= {(int(la[i]), int(lb[j]) - na) for i, j in zip(i2.tolist(), j2.tolist())}
    return sorted(pairs)


def first_disagreement(removed_a: np.ndarray, removed_b: np.ndarray) -> int | None:
    """Smallest index removed by exactly one of two methods, or None when they agree."""
    diff = np.setxor1d(np.asarray(removed_a), np.asarray(removed_b))
    return int(diff[0]) if diff.size else None


def witness(images, index: int, threshold: float = 0.95) -> tuple[int, float] | None:
    """The earliest j < index with |C_{index,j}| > t under the dense rule and its correlation, or None."""
    x = _as_images(images)
    D = features(x)
    c = (D[:index].double() @ D[index].double()) if index > 0 else torch.zeros(0, dtype=torch.float64)
    hits = torch.nonzero(c.abs() > threshold).flatten()
    if hits.numel() == 0:
        return None
    j = int(hits[0])
    return j, float(c[j])


__all__ = ["METHODS", "remove_duplicates", "cross_duplicates", "features", "features_listing", "dense_bytes", "first_disagreement", "witness"]
