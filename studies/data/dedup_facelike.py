"""Fast face-like arrays with planted near-duplicates, for the dedup benchmarks and the memory claim.

``studies.data.synth`` renders CelebA-layout JPEGs at 218x178, which is the right input for dataset
building but far too slow for 202,589 images in a benchmark. This renders straight at the comparison
resolution with the same ingredients that make faces hard for dedup: every image shares one layout
(so unrelated images already correlate strongly), identities vary smoothly, and images of one identity
differ by small pose, lighting and expression changes, so many pairs sit near the threshold."""

from __future__ import annotations

import numpy as np

_CHUNK = 4096


def _basis(res: int, m: int) -> np.ndarray:
    """The m lowest-frequency 2-D cosine patterns (m, res*res): smooth identity texture."""
    u = (np.arange(res) + 0.5) / res
    freqs = sorted(((a, b) for a in range(8) for b in range(8) if a + b > 0), key=lambda ab: (ab[0] + ab[1], ab))
    out = [np.outer(np.cos(np.pi * a * u), np.cos(np.pi * b * u)).ravel() for a, b in freqs[:m]]
    return np.asarray(out, dtype=np.float32)


def facelike(n: int, *, res: int = 20, channels: int = 1, identities: int | None = None,
             duplicate_rate: float = 0.02, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (n, channels, res, res) in [0, 1], planted (n_dup, 2) int64 pairs (source, copy))."""
    rng = np.random.default_rng(seed)
    n_id = identities or max(1, n // 20)
    basis = _basis(res, 27)
    id_coef = rng.normal(0, 0.25, (n_id, basis.shape[0])).astype(np.float32) / (1 + np.arange(basis.shape[0]) / 6)
    id_shape = rng.normal(0, 1, (n_id, 4)).astype(np.float32)
    id_tone = rng.uniform(0.35, 0.75, (n_id, channels)).astype(np.float32)
    ident = rng.integers(0, n_id, n)
    pose = rng.normal(0, 1, (n, 6)).astype(np.float32)
    yy, xx = np.meshgrid((np.arange(res) + 0.5) / res - 0.5, (np.arange(res) + 0.5) / res - 0.5, indexing="ij")
    xx, yy = xx.astype(np.float32).ravel(), yy.astype(np.float32).ravel()
    out = np.empty((n, channels, res * res), dtype=np.float32)
    for s in range(0, n, _CHUNK):
        e = min(s + _CHUNK, n)
        k, p, sh = ident[s:e], pose[s:e], id_shape[ident[s:e]]
        cx = (0.04 * p[:, 0])[:, None]
        cy = (0.04 * p[:, 1])[:, None]
        X, Y = xx[None, :] - cx, yy[None, :] - cy
        ax, ay = (0.30 + 0.02 * sh[:, 0])[:, None], (0.40 + 0.02 * sh[:, 1])[:, None]
        head = 1 / (1 + np.exp(np.minimum(((X / ax) ** 2 + (Y / ay) ** 2 - 1) * 12, 60)))
        ey = (-0.08 + 0.01 * sh[:, 2])[:, None]
        eyes = np.exp(-(((np.abs(X) - 0.12) ** 2) + (Y - ey) ** 2) / 0.004)
        mouth_w = (0.08 + 0.02 * p[:, 2])[:, None]
        mouth = np.exp(-((X / mouth_w) ** 2 + ((Y - 0.2) / 0.025) ** 2))
        light = 1 + 0.6 * p[:, 3:4] * X + 0.4 * p[:, 4:5] * Y
        tex = id_coef[k] @ basis + (rng.normal(0, 0.12, (e - s, basis.shape[0])).astype(np.float32) @ basis)
        for c in range(channels):
            skin = id_tone[k, c][:, None] * (1 + 0.05 * c)
            face = 0.15 + head * (skin + tex) - 0.25 * eyes * head - 0.15 * mouth * head
            out[s:e, c] = np.clip(face * light + rng.normal(0, 0.01, face.shape).astype(np.float32), 0, 1)
    n_dup = int(round(duplicate_rate * n))
    planted = np.zeros((0, 2), dtype=np.int64)
    if n_dup and n > 1:
        copies = np.sort(rng.choice(np.arange(1, n), size=min(n_dup, n - 1), replace=False))
        sources = (rng.random(copies.size) * copies).astype(np.int64)
        jitter = rng.normal(0, 0.01, (copies.size, channels, res * res)).astype(np.float32)
        out[copies] = np.clip(out[sources] * rng.uniform(0.9, 1.1, (copies.size, 1, 1)).astype(np.float32) + jitter, 0, 1)
        planted = np.stack([sources, copies], 1)
    return out.reshape(n, channels, res, res), planted
