"""Hypothesis strategies for dedup equivalence: small datasets with duplicates planted where the
published blockwise listing goes wrong (pairs k and k + m·b), anti-correlated pairs, chains,
constant images, and (in colour) copies with per-channel offsets. Test-only: imports hypothesis.

Planted correlations keep clear of the 0.95 threshold (copies ~1, chain links 0.97, chain ends
0.94, unrelated random images ~N(0, 1/400)), so a float32 method and the float64 reference can only
disagree through their rules, never through rounding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

KINDS = ("copy", "negate", "chain", "constant", "channel_offset")
CHAIN_COS = 0.97


@dataclass(frozen=True)
class Case:
    images: np.ndarray  # (n, c, h, w) float32
    block: int
    ops: tuple  # (kind, src, dst) as planted, for the report

    def describe(self) -> str:
        n, c, h, w = self.images.shape
        ops = ", ".join(f"{k}({s}->{d})" for k, s, d in self.ops) or "none"
        return f"n={n}, channels={c}, {h}x{w}, block={self.block}, planted: {ops}"


def _unit_orthogonal(rng: np.random.Generator, others: list[np.ndarray], channels: int) -> np.ndarray:
    """A random unit vector, mean-free in every channel (so both mean removals leave it unchanged),
    orthogonal to ``others`` (so chain ends correlate at exactly 0.97² = 0.9409)."""
    v = rng.normal(size=(channels, 400))
    v -= v.mean(axis=1, keepdims=True)
    v = v.ravel()
    if others:
        q, _ = np.linalg.qr(np.stack(others).T)
        v -= q @ (q.T @ v)
    return v / np.linalg.norm(v)


@st.composite
def dedup_cases(draw, *, channels: int, block: int, max_n: int = 14) -> Case:
    """A dataset of 2..max_n images with planted structure; ``block`` is the blockwise block size."""
    n = draw(st.integers(2, max_n))
    res = draw(st.sampled_from([20, 20, 40]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    # random mean-free directions: unrelated images correlate ~N(0, 1/size), far from the threshold
    vecs = [_unit_orthogonal(rng, [], channels) for _ in range(n)]
    kinds = KINDS if channels > 1 else KINDS[:-1]
    ops = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(kinds))
        src = draw(st.integers(0, n - 1))
        m = draw(st.integers(-2, 2))
        dst = src + m * block  # the adversarial positions k and k + m·b
        if not (0 <= dst < n) or dst == src:
            dst = draw(st.integers(0, n - 1))
            if dst == src:
                continue
        ops.append((kind, src, dst))
    offsets = np.zeros((n, channels), dtype=np.float64)
    constant = {}
    for kind, src, dst in ops:
        if kind in ("copy", "channel_offset"):
            vecs[dst] = vecs[src].copy()
            if kind == "channel_offset":
                offsets[dst] = rng.uniform(-0.3, 0.3, channels)
        elif kind == "negate":
            vecs[dst] = -vecs[src]
        elif kind == "chain":
            # src -> dst at cos 0.97; a second link dst -> extra would make the ends meet at 0.94
            u = _unit_orthogonal(rng, vecs, channels)
            vecs[dst] = CHAIN_COS * vecs[src] + np.sqrt(1 - CHAIN_COS**2) * u
        elif kind == "constant":
            constant[dst] = rng.uniform(0, 1)
    small = np.stack(vecs).reshape(n, channels, 20, 20)
    # per-image brightness and contrast do not change the correlation; per-channel offsets change
    # it only for the listings, which remove one mean over all channels
    gain = rng.uniform(0.05, 0.12, (n, 1, 1, 1))
    img = 0.5 + gain * small + offsets[:, :, None, None]
    for k, v in constant.items():
        img[k] = v
    img = np.repeat(np.repeat(img, res // 20, axis=2), res // 20, axis=3)
    return Case(images=img.astype(np.float32), block=block, ops=tuple(ops))
