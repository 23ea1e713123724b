"""The split audit: what two training groups share (SPEC §3).

Names alone give the name overlap and, through the CelebA identity file, how many identities the
groups share and what share of each group's images show a person the other group also shows. An
attribute gives each side's purity (share of its images carrying its majority value) and positives.
Images, when given, add exact pixel overlap (a hash of each image's bytes) and near-duplicate pairs
across the groups (|corr| > threshold after the dedup engine's 20x20 pooling).

Everything is vectorised on the metadata's integer arrays, so a 200,000-name audit costs about as
much as reading the metadata."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from ..errors import InputError
from .splits import check_unique, load_split

if TYPE_CHECKING:  # pragma: no cover
    from .celeba import CelebAMeta

# near-duplicate examples listed by name in the report (the count covers all)
_EXAMPLES = 10


def _identity_overlap(id_a: np.ndarray, id_b: np.ndarray) -> tuple[int, float, float]:
    shared = np.intersect1d(id_a, id_b, assume_unique=False)
    frac_b = float(np.isin(id_b, shared).mean()) if len(id_b) else 0.0
    frac_a = float(np.isin(id_a, shared).mean()) if len(id_a) else 0.0
    return int(len(shared)), frac_a, frac_b


def _purity(values: np.ndarray) -> tuple[float, int]:
    if len(values) == 0:
        return 0.0, 0
    pos = int((values == 1).sum())
    return max(pos, len(values) - pos) / len(values), pos


def _row_hashes(images) -> list[bytes]:
    arr = np.ascontiguousarray(np.asarray(images))
    return [hashlib.sha256(arr[i].tobytes()).digest() for i in range(len(arr))]


def content_overlap(images_a, images_b) -> int:
    """Number of (A, B) pairs whose pixels are identical (same dtype, shape and bytes)."""
    counts: dict[bytes, int] = {}
    for h in _row_hashes(images_a):
        counts[h] = counts.get(h, 0) + 1
    return int(sum(counts.get(h, 0) for h in _row_hashes(images_b)))


def audit(names_a: Sequence[str], names_b: Sequence[str], meta: "CelebAMeta", *, attribute: Optional[str] = None,
          images_a=None, images_b=None, threshold: float = 0.95) -> dict:
    """Audit groups A and B given by filename. Keys: ``n_a``, ``n_b``, ``overlap_names``,
    ``shared_identities``, ``frac_b_identity_in_a``, ``frac_a_identity_in_b``; with ``attribute``,
    ``attribute: {name, purity_a, purity_b, positives_a, positives_b}``; with images (rows aligned to
    the names), ``overlap_content`` and ``near_duplicate_pairs`` (+ ``near_duplicate_examples``)."""
    names_a, names_b = list(names_a), list(names_b)
    check_unique(names_a, "group A")
    check_unique(names_b, "group B")
    pos_a = meta.indices(names_a)  # names missing from the metadata are refused, listed
    pos_b = meta.indices(names_b)
    if meta.identity is None:  # data without identities (Fashion-MNIST, a user's array): nothing to share
        shared, frac_a, frac_b = None, None, None
    else:
        shared, frac_a, frac_b = _identity_overlap(meta.identity[pos_a], meta.identity[pos_b])
    report: dict = {
        "n_a": len(names_a),
        "n_b": len(names_b),
        "overlap_names": int(len(set(names_a).intersection(names_b))),
        "shared_identities": shared,
        "frac_b_identity_in_a": frac_b,
        "frac_a_identity_in_b": frac_a,
    }
    if attribute is not None:
        column = meta.attributes.column(attribute)  # unknown: error listing the valid names
        purity_a, positives_a = _purity(column[pos_a])
        purity_b, positives_b = _purity(column[pos_b])
        report["attribute"] = {"name": attribute, "purity_a": purity_a, "purity_b": purity_b,
                               "positives_a": positives_a, "positives_b": positives_b}
    if (images_a is None) != (images_b is None):
        raise InputError("audit: images of both groups are needed for the content checks, got one")
    if images_a is not None:
        if len(images_a) != len(names_a) or len(images_b) != len(names_b):
            raise InputError(f"audit: {len(images_a)} and {len(images_b)} images for {len(names_a)} and {len(names_b)} names")
        from .dedup import cross_duplicates

        report["overlap_content"] = content_overlap(images_a, images_b)
        pairs = cross_duplicates(images_a, images_b, threshold)
        report["near_duplicate_pairs"] = len(pairs)
        report["near_duplicate_threshold"] = threshold
        report["near_duplicate_examples"] = [[names_a[int(i)], names_b[int(j)]] for i, j in list(pairs)[:_EXAMPLES]]
    return report


def heldout_duplicates(train_images, heldout_images, threshold: float = 0.95, *, pool: str = "literal") -> dict:
    """How many held-out images (Fashion-MNIST's 10,000 test images) have a near-duplicate among the
    training images under the dense rule (SPEC §2), and a few examples (held-out row, training row,
    both indices into the arrays given)."""
    from .dedup import cross_duplicates

    pairs = cross_duplicates(heldout_images, train_images, threshold, pool=pool)
    rows = sorted({i for i, _ in pairs})
    return {"heldout": int(len(heldout_images)), "train": int(len(train_images)), "threshold": threshold, "pool": pool,
            "heldout_with_training_duplicate": len(rows), "pairs": len(pairs),
            "examples": [[int(i), int(j)] for i, j in pairs[:_EXAMPLES]]}


# ---------------------------------------------------------------------------------------------
# inputs of ``memgen split audit``


def is_split_artifact(path: str | os.PathLike) -> bool:
    """True when ``path`` holds JSON (a split artifact) rather than a list of names."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(64).lstrip()
    except FileNotFoundError:
        raise InputError(f"{path}: list of names not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a list of names or a split artifact") from None
    return head.startswith(b"{")


def read_group(path: str | os.PathLike, side: str) -> list[str]:
    """Names of one group: a text file (one filename per line, blank lines ignored) or a split
    artifact (JSON), whose group ``side`` ("a" or "b") is taken."""
    from .celeba import read_order

    path = Path(path)
    if is_split_artifact(path):
        split = load_split(path)
        return list(split.names_a if side == "a" else split.names_b)
    return read_order(path)


def load_images_for(data_dir: str | os.PathLike, names_a: Sequence[str], names_b: Sequence[str]):
    """Rows of a dataset artifact (``images.npy`` + ``manifest.json`` with ``names``) for both
    groups; the artifact's files are checked against the manifest's SHA-256 first."""
    from ..cache import CHECKSUMS_FILE, verify_checksums, verify_files

    data_dir = Path(data_dir)
    manifest_path = data_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{manifest_path}: not found; --data needs a dataset artifact folder (images.npy + manifest.json)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{manifest_path}: not valid JSON ({exc})") from None
    names = manifest.get("names") if isinstance(manifest, dict) else None
    if not isinstance(names, list):
        raise InputError(f"{manifest_path}: no 'names' list")
    digest = manifest.get("sha256")
    if isinstance(digest, dict):  # {file: sha256}
        digest = digest.get("images.npy")
    if not isinstance(digest, str):
        raise InputError(f"{manifest_path}: no sha256 of images.npy to verify the artifact with")
    if "config_hash" in manifest or (data_dir / CHECKSUMS_FILE).exists():
        # an artifact memgen wrote: every file of it (the names too) is checked, not only the tensor
        verify_checksums(data_dir)
    verify_files(data_dir, {"images.npy": digest})
    images = np.load(data_dir / "images.npy", mmap_mode="r")
    if len(images) != len(names):
        raise InputError(f"{data_dir}: images.npy has {len(images)} rows, manifest lists {len(names)} names")
    index = {n: i for i, n in enumerate(names)}
    rows = []
    for group, label in ((names_a, "A"), (names_b, "B")):
        missing = [n for n in group if n not in index]
        if missing:
            raise InputError(f"{data_dir}: {len(missing)} name(s) of group {label} not in the dataset: {', '.join(missing[:5])}")
        rows.append(np.asarray(images[np.fromiter((index[n] for n in group), dtype=np.int64, count=len(group))]))
    return rows[0], rows[1]
