"""Counts of a CelebA metadata folder (SPEC §1 "known facts"): images, identities, images per
identity, and the positive / negative count of every attribute."""

from __future__ import annotations

import os

import numpy as np

from .celeba import read_metadata


def compute_facts(meta_dir: str | os.PathLike) -> dict:
    """``{"images", "identities", "images_per_identity": {min, mean, max}, "attributes": {name: {pos, neg}}}``."""
    meta = read_metadata(meta_dir)
    _, per_identity = np.unique(meta.identity, return_counts=True)
    values = meta.attributes.values
    pos = (values == 1).sum(axis=0)
    neg = (values == -1).sum(axis=0)
    return {
        "images": len(meta.filenames),
        "identities": int(per_identity.size),
        "images_per_identity": {
            "min": int(per_identity.min()) if per_identity.size else 0,
            "mean": float(per_identity.mean()) if per_identity.size else 0.0,
            "max": int(per_identity.max()) if per_identity.size else 0,
        },
        "attributes": {name: {"pos": int(p), "neg": int(n)} for name, p, n in zip(meta.attributes.names, pos, neg)},
    }
