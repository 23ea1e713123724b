"""Groups A and B of training images, and how often a model sees each image (SPEC §3).

Three protocols, each a plain function on arrays (indices into the dataset order) plus
``make_split``, which applies one to a dataset's names and the CelebA metadata:

- random (K24's code, the default): A = the first N images of the ordered set, B = the last N.
  T25's text says B = images N+1..2N instead; that is variant ``"text"``.
- attribute (T25 §3.4): the minority side of an attribute is kept whole, the majority side is
  downsampled to the same size with the seed, each side is shuffled with the seed; A = the images
  that carry the attribute (value 1), B = those that do not (value -1); A and B are the first N of
  each side's order.
- identity (T25 §5.3): identities are shuffled with the seed and each is given, whole, to the group
  that has fewer images so far (ties go to A). The greedy step keeps the image counts within one
  identity's image count of each other (at most 35 on CelebA); the relative imbalance
  ``|n_A - n_B| / (n_A + n_B)`` must be within ``SplitConfig.identity_tolerance``, else the split is
  refused. Each group's images are then shuffled with the seed and A, B are the first N of each.

N larger than what a protocol can give is *capped*, never refused and never silently: the split
records ``n_requested``, ``n`` (what was used), ``available`` and ``capped``. Capping is what the
published figures did (T25 labels its 98,117-image groups "100,000"). ``strict=True`` refuses
instead.

Exposure control (K24's code): a group of N images is tiled floor(n_total / N) times, so the largest
groups see fewer than n_total samples (98,117 -> 1 copy). ``exact`` adds a seeded remainder of
n_total - copies * N images seen once more, so every model sees exactly n_total samples. A group
larger than n_total (101,299 on the undeduplicated metadata with n_total = 100,000) gets one copy in
``tile`` mode (more than n_total samples, recorded) and is refused in ``exact`` mode.

What two groups share (names, identities, attribute purity, pixels) is measured by the split audit,
``studies.data.audit.audit``, which reads split artifacts through this module; nothing here imports it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..cache import atomic_write_json
from ..config import SplitConfig, config_hash, from_dict, to_dict
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .celeba import CelebAMeta

SPLIT_FORMAT = 1
EXPOSURE_MODES = ("tile", "exact")
# stream tags of the seeded generators, so each random choice of a split is independent of the others
_STREAM_ATTRIBUTE = 1
_STREAM_IDENTITY = 2
_STREAM_IDENTITY_ORDER = 3
_STREAM_EXPOSURE = 4


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream]))


# ---------------------------------------------------------------------------------------------
# exposure


@dataclass(frozen=True)
class Exposure:
    """How many samples a model trained on ``n`` images sees: every image ``copies`` times, plus
    (mode ``exact``) ``extra`` images one more time, ``samples`` in all."""

    copies: int
    samples: int
    mode: str
    n: int = 0
    n_total: int = 0
    extra: int = 0

    def to_dict(self) -> dict:
        return {"copies": self.copies, "samples": self.samples, "mode": self.mode, "n": self.n,
                "n_total": self.n_total, "extra": self.extra}

    @classmethod
    def from_dict(cls, d: dict) -> "Exposure":
        return cls(**{k: d[k] for k in ("copies", "samples", "mode", "n", "n_total", "extra")})

    def schedule(self, seed: int = 0) -> np.ndarray:
        """Positions 0..n-1 of the group's images, one per training sample (unshuffled): the tiled
        copies, then the ``extra`` images chosen with ``seed``."""
        tiled = np.tile(np.arange(self.n, dtype=np.int64), self.copies)
        if self.extra == 0:
            return tiled
        more = np.sort(_rng(seed, _STREAM_EXPOSURE).choice(self.n, size=self.extra, replace=False)).astype(np.int64)
        return np.concatenate([tiled, more])


def exposure(n: int, n_total: int, mode: str = "tile") -> Exposure:
    """Exposure of an N-image group aimed at ``n_total`` samples: ``tile`` = floor(n_total / N)
    copies (K24's code; at least 1), ``exact`` = the same copies plus n_total mod N images seen once
    more (refused for N > n_total)."""
    if mode not in EXPOSURE_MODES:
        raise InputError(f"exposure mode must be one of {EXPOSURE_MODES}, got {mode!r}")
    if n < 1:
        raise InputError(f"exposure: group size N must be >= 1, got {n}")
    if n > n_total and mode == "exact":
        raise InputError(f"exposure 'exact': group size N={n} exceeds n_total={n_total}; some images would never be seen")
    # K24's floor gives 0 copies (an empty training set) for N > n_total; one pass is the least a
    # model can see, and samples then exceed n_total, which the record shows
    copies = max(1, n_total // n)
    extra = n_total - copies * n if mode == "exact" else 0
    return Exposure(copies=copies, samples=copies * n + extra, mode=mode, n=n, n_total=n_total, extra=extra)


# ---------------------------------------------------------------------------------------------
# the protocols on plain arrays


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"split size N must be an integer >= 1, got {n!r}")


def random_split(total: int, n: int, *, variant: str = "code") -> tuple[np.ndarray, np.ndarray]:
    """(A, B) positions of the random split of an ordered set of ``total`` images, N <= total // 2:
    A = 0..N-1; B = total-N..total-1 (``code``) or N..2N-1 (``text``)."""
    _check_n(n)
    if 2 * n > total:
        raise InputError(f"random split: N={n} needs {2 * n} images, the set has {total}")
    a = np.arange(n, dtype=np.int64)
    if variant == "code":
        b = np.arange(total - n, total, dtype=np.int64)
    elif variant == "text":
        b = np.arange(n, 2 * n, dtype=np.int64)
    else:
        raise InputError(f"random split variant must be 'code' or 'text', got {variant!r}")
    return a, b


def attribute_sides(values: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Balanced, shuffled sides of an attribute column (values in {-1, 1}): positions of value 1
    and of value -1. The minority side is kept whole; the majority side is a seeded sample of the
    same size. Both sides are in a seeded order (T25 §3.4)."""
    values = np.asarray(values)
    bad = ~np.isin(values, (-1, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"attribute split: value {values[i]!r} at position {i} is not -1 or 1")
    pos = np.flatnonzero(values == 1).astype(np.int64)
    neg = np.flatnonzero(values == -1).astype(np.int64)
    m = min(len(pos), len(neg))
    rng = _rng(seed, _STREAM_ATTRIBUTE)
    # a seeded permutation's first m elements are both the downsample and its shuffled order
    side_pos = rng.permutation(pos)[:m]
    side_neg = rng.permutation(neg)[:m]
    return side_pos, side_neg


def identity_groups(identity: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Identity-disjoint groups of positions: identities in a seeded order, each assigned whole to
    the group with fewer images so far (ties to A); each group then in a seeded order. Returns
    (group A, group B, facts) where facts holds the image and identity counts of each group."""
    identity = np.asarray(identity, dtype=np.int64)
    ids, inverse, counts = np.unique(identity, return_inverse=True, return_counts=True)
    order = _rng(seed, _STREAM_IDENTITY).permutation(len(ids))
    to_a = np.zeros(len(ids), dtype=bool)
    load_a = load_b = 0
    for k in order.tolist():
        c = int(counts[k])
        if load_a <= load_b:
            to_a[k] = True
            load_a += c
        else:
            load_b += c
    in_a = to_a[inverse]
    rng = _rng(seed, _STREAM_IDENTITY_ORDER)
    group_a = rng.permutation(np.flatnonzero(in_a).astype(np.int64))
    group_b = rng.permutation(np.flatnonzero(~in_a).astype(np.int64))
    facts = {
        "images_a": int(load_a),
        "images_b": int(load_b),
        "identities_a": int(to_a.sum()),
        "identities_b": int((~to_a).sum()),
        "imbalance": abs(load_a - load_b) / max(1, load_a + load_b),
        "max_images_per_identity": int(counts.max()) if len(counts) else 0,
    }
    return group_a, group_b, facts


# ---------------------------------------------------------------------------------------------
# the split artifact


def _names_digest(names: Sequence[str]) -> str:
    h = hashlib.sha256()
    for n in names:
        h.update(n.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Split:
    """Groups A and B: positions ``a``, ``b`` in the dataset order and their filenames.

    ``side_a``/``side_b`` (attribute and identity protocols) are the whole ordered pools that A and
    B are the first N of; ``info`` holds the protocol's facts (side sizes, identity counts)."""

    protocol: str
    config: SplitConfig
    n_requested: int
    n: int
    capped: bool
    a: np.ndarray
    b: np.ndarray
    exposure_a: Exposure
    exposure_b: Exposure
    names_a: tuple[str, ...] = ()
    names_b: tuple[str, ...] = ()
    available: int = 0
    side_a: Optional[np.ndarray] = None
    side_b: Optional[np.ndarray] = None
    order_sha256: str = ""  # SHA-256 of the dataset order the positions refer to
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "format": SPLIT_FORMAT,
            "type": "Split",
            "protocol": self.protocol,
            "config": to_dict(self.config),
            "config_hash": config_hash(self.config),
            "n_requested": int(self.n_requested),
            "n": int(self.n),
            "capped": bool(self.capped),
            "available": int(self.available),
            "a": self.a.tolist(),
            "b": self.b.tolist(),
            "names_a": list(self.names_a),
            "names_b": list(self.names_b),
            "side_a": None if self.side_a is None else self.side_a.tolist(),
            "side_b": None if self.side_b is None else self.side_b.tolist(),
            "exposure_a": self.exposure_a.to_dict(),
            "exposure_b": self.exposure_b.to_dict(),
            "order_sha256": self.order_sha256,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "split") -> "Split":
        try:
            if d.get("type") != "Split":
                raise InputError(f"{source}: not a split artifact (type {d.get('type')!r})")
            if d.get("format") != SPLIT_FORMAT:
                raise InputError(f"{source}: split format {d.get('format')!r}, this memgen reads {SPLIT_FORMAT}")
            try:
                cfg = from_dict(SplitConfig, d["config"])
            except InputError as exc:
                raise InputError(f"{source}: config: {exc}") from None
            for key in ("a", "b", "names_a", "names_b") + tuple(k for k in ("side_a", "side_b") if d.get(k) is not None):
                if not isinstance(d[key], list):
                    raise InputError(f"{source}: {key} must be a JSON list, got {type(d[key]).__name__}")
            split = cls(
                protocol=d["protocol"], config=cfg, n_requested=int(d["n_requested"]), n=int(d["n"]),
                capped=bool(d["capped"]), a=np.asarray(d["a"], dtype=np.int64), b=np.asarray(d["b"], dtype=np.int64),
                exposure_a=Exposure.from_dict(d["exposure_a"]), exposure_b=Exposure.from_dict(d["exposure_b"]),
                names_a=tuple(d["names_a"]), names_b=tuple(d["names_b"]), available=int(d["available"]),
                side_a=None if d.get("side_a") is None else np.asarray(d["side_a"], dtype=np.int64),
                side_b=None if d.get("side_b") is None else np.asarray(d["side_b"], dtype=np.int64),
                order_sha256=d.get("order_sha256", ""), info=dict(d.get("info", {})),
            )
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{source}: malformed split artifact ({type(exc).__name__}: {exc})") from None
        if config_hash(cfg) != d.get("config_hash"):
            raise InputError(f"{source}: config_hash {d.get('config_hash')!r} does not match its config")
        if len(split.a) != split.n or len(split.b) != split.n or len(split.names_a) != split.n or len(split.names_b) != split.n:
            raise InputError(f"{source}: groups do not have n={split.n} entries")
        return split

    def check_order(self, names: Sequence[str]) -> None:
        """Refuse a dataset order other than the one the positions refer to."""
        if self.order_sha256 and _names_digest(names) != self.order_sha256:
            raise InputError("split: the dataset order differs from the one this split was made on (order_sha256 mismatch)")

    def write_orders(self, folder: str | os.PathLike, names: Sequence[str]) -> tuple[Path, Path]:
        """Write each side's whole order (``side_a.txt``, ``side_b.txt``; groups A and B when the
        protocol has no larger sides) as order files, one filename per line."""
        from .celeba import write_order

        self.check_order(names)
        folder = Path(folder)
        sa = self.side_a if self.side_a is not None else self.a
        sb = self.side_b if self.side_b is not None else self.b
        pa, pb = folder / "side_a.txt", folder / "side_b.txt"
        write_order(pa, [names[i] for i in sa.tolist()])
        write_order(pb, [names[i] for i in sb.tolist()])
        return pa, pb


def save_split(split: Split, path: str | os.PathLike) -> Path:
    """Write the split artifact as JSON, atomically."""
    path = Path(path)
    atomic_write_json(path, split.to_dict())
    return path


def load_split(path: str | os.PathLike) -> Split:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: split artifact not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON split artifact ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a split artifact (JSON {type(data).__name__})")
    return Split.from_dict(data, source=str(path))


def seeded_order(filenames: Sequence[str], seed: Optional[int]) -> list[str]:
    """The sorted names permuted with ``seed`` (None keeps them sorted): the rule of
    ``DataConfig.order_seed`` (studies.data.dataset), for splits made from metadata alone."""
    ordered = sorted(filenames)
    if seed is None:
        return ordered
    return [ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered)).tolist()]


def check_unique(names: Sequence[str], what: str) -> None:
    """Refuse a name listed twice, naming it and both positions."""
    if len(set(names)) == len(names):
        return
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(f"{what}: name {n} listed twice (positions {seen[n]} and {i})")
        seen[n] = i


def make_split(cfg: SplitConfig, n: int, *, names: Sequence[str], meta: Optional["CelebAMeta"] = None,
               strict: bool = False) -> Split:
    """Groups A and B of ``n`` images each, drawn from the dataset order ``names`` by ``cfg``.

    ``meta`` (the CelebA metadata) is required for the attribute and identity protocols and, when
    given, every name must be in it. An ``n`` above what the protocol can give is capped and the cap
    recorded; with ``strict=True`` it is refused."""
    _check_n(n)
    names = list(names)
    check_unique(names, "dataset order")
    if not names:
        raise InputError("split: the dataset order is empty")
    if meta is not None:
        pos = meta.indices(names)  # refuses names missing from the metadata, listing them
    elif cfg.protocol != "random":
        raise InputError(f"split protocol {cfg.protocol!r} needs the CelebA metadata (meta=...)")

    info: dict[str, Any] = {"dataset_size": len(names)}
    side_a = side_b = None
    if cfg.protocol == "random":
        available = len(names) // 2
    elif cfg.protocol == "attribute":
        values = meta.attributes.column(cfg.attribute)[pos]  # unknown attribute: error listing the valid ones
        side_a, side_b = attribute_sides(values, seed=cfg.seed)
        available = len(side_a)
        info.update(attribute=cfg.attribute, positives=int((values == 1).sum()), negatives=int((values == -1).sum()),
                    side_size=available, a_value=1, b_value=-1)
    elif cfg.protocol == "identity":
        if meta.identity is None:
            raise InputError(f"identity split: the data of {meta.meta_dir} has no identities")
        side_a, side_b, facts = identity_groups(meta.identity[pos], seed=cfg.seed)
        if facts["imbalance"] > cfg.identity_tolerance:
            raise InputError(
                f"identity split: groups of {facts['images_a']} and {facts['images_b']} images differ by "
                f"{facts['imbalance']:.4f} of the total, above identity_tolerance={cfg.identity_tolerance} "
                f"(too few identities: {facts['identities_a'] + facts['identities_b']})"
            )
        available = min(len(side_a), len(side_b))
        info.update(facts)
        info["tolerance"] = cfg.identity_tolerance
    else:  # SplitConfig validates the protocol; kept for a config built around its checks
        raise InputError(f"unknown split protocol {cfg.protocol!r}")

    if available < 1:
        raise InputError(f"{cfg.protocol} split: no images available for a group (dataset of {len(names)})")
    capped = n > available
    if capped and strict:
        raise InputError(f"{cfg.protocol} split: N={n} requested, at most {available} available per group")
    n_used = min(n, available)
    if cfg.protocol == "random":
        a, b = random_split(len(names), n_used, variant=cfg.variant)
    else:
        a, b = side_a[:n_used], side_b[:n_used]
    exp = exposure(n_used, cfg.n_total, cfg.exposure)
    protocol = cfg.protocol if cfg.protocol != "attribute" else f"attribute:{cfg.attribute}"
    return Split(
        protocol=protocol, config=cfg, n_requested=int(n), n=int(n_used), capped=bool(capped),
        a=np.asarray(a, dtype=np.int64), b=np.asarray(b, dtype=np.int64), exposure_a=exp, exposure_b=exp,
        names_a=tuple(names[i] for i in a.tolist()), names_b=tuple(names[i] for i in b.tolist()),
        available=int(available), side_a=side_a, side_b=side_b, order_sha256=_names_digest(names), info=info,
    )

