"""Frozen, typed configs of every artifact, and their stable content hashes.

Each artifact (dataset, split, model, sample set) stores the config that made it (``to_dict``) and
is cached under ``config_hash``: the SHA-256 of the canonical JSON of the config's class name and
fields. Field order, dict order and float formatting cannot change a hash; a new field with a
default does, so bump nothing by hand: changing what a config means means changing its fields."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Optional, Union

from .errors import InputError

# ---------------------------------------------------------------------------------------------
# serialisation and hashing


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"config value {value!r} is not finite")
        return value
    return value


def to_dict(cfg: Any) -> dict:
    """A JSON-ready dict of a config, with its class name under ``type``."""
    return _plain(cfg)


def canonical_json(obj: Any) -> str:
    return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(obj: Any, length: int = 16) -> str:
    """Stable content hash of a config (or of any JSON-able structure of configs)."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:length]


def from_dict(cls: type, data: dict) -> Any:
    """Rebuild a config from ``to_dict`` output; unknown or missing fields are refused by name."""
    if not isinstance(data, dict):
        raise InputError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    data = dict(data)
    typ = data.pop("type", cls.__name__)
    if typ != cls.__name__:
        raise InputError(f"config of type {typ!r} cannot be read as {cls.__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise InputError(f"{cls.__name__}: unknown field(s) {unknown}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        sub = _dataclass_in(hint)
        if sub is not None and isinstance(value, dict):
            value = from_dict(sub, value)
        elif isinstance(value, list):
            value = tuple(value)
        _check_type(cls, name, hint, value)
        kwargs[name] = value
    return cls(**kwargs)


_SCALARS = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def _check_type(cls: type, name: str, hint: Any, value: Any) -> None:
    """Refuse a value of the wrong JSON type by name (``"blocks": "1"`` would otherwise fail as a
    TypeError deep inside a comparison, or pass as a string)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in args:
        if value is None:
            return
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if hint in _SCALARS:
        ok = isinstance(value, _SCALARS[hint]) and (hint is bool or not isinstance(value, bool))
        if not ok:
            raise InputError(f"{cls.__name__}.{name}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    elif typing.get_origin(hint) is tuple and args and args[0] in _SCALARS:
        if not isinstance(value, tuple) or not all(isinstance(v, _SCALARS[args[0]]) and not isinstance(v, bool) for v in value):
            raise InputError(f"{cls.__name__}.{name}: expected a list of {args[0].__name__}, got {value!r}")
    elif dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        raise InputError(f"{cls.__name__}.{name}: expected a {hint.__name__} mapping, got {type(value).__name__}")


def _dataclass_in(hint: Any) -> Optional[type]:
    if dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


DEDUP_METHODS = ("dense", "blockwise_published", "blockwise_repository", "exact")  # = studies.data.dedup.METHODS
DEDUP_GRID = 20  # = studies.data.dedup.GRID


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise InputError(msg)


# ---------------------------------------------------------------------------------------------
# configs


@dataclass(frozen=True)
class SynthConfig:
    """Knobs of the synthetic CelebA-like face generator (``studies.data.synth``)."""

    identities: int = 400
    seed: int = 0
    # share of images that are near-duplicates of another image (ground truth written beside)
    duplicate_rate: float = 0.01
    # per-image variation ranges (relative units of the generator)
    pose: float = 1.0
    expression: float = 1.0
    lighting: float = 1.0
    # amplitude of the smooth per-identity texture; more detail needs more data to generalise
    texture: float = 1.0
    # amplitude of a smooth per-image background field (CelebA backgrounds are cluttered and
    # differ between photos); 0 keeps the plain colour + vertical gradient
    background: float = 0.0

    def __post_init__(self) -> None:
        _check(self.identities >= 1, f"SynthConfig.identities must be >= 1, got {self.identities}")
        _check(0.0 <= self.duplicate_rate < 1.0, f"SynthConfig.duplicate_rate must be in [0,1), got {self.duplicate_rate}")
        for name in ("pose", "expression", "lighting", "texture", "background"):
            _check(getattr(self, name) >= 0, f"SynthConfig.{name} must be >= 0")


@dataclass(frozen=True)
class DataConfig:
    """How a dataset artifact is built from a CelebA-layout folder (SPEC §1)."""

    # "synthetic" (generated by memgen), "celeba" (a folder given by the user), "fashion" (Fashion-MNIST's
    # IDX files, studies.data.fashion) or "array" (a user's .npy array or image folder, studies.data.sources)
    source: str = "synthetic"
    resolution: int = 16  # output side: 160x160 crop resized bicubically to resolution x resolution
    grayscale: bool = True  # unweighted mean of R, G, B after the resize
    synth: Optional[SynthConfig] = None  # generator config when source == "synthetic"
    order_seed: Optional[int] = 0  # seeded permutation of the sorted names; None keeps sorted order
    limit: Optional[int] = None  # keep only the first `limit` names of the order
    dedup: Optional[str] = None  # dedup method applied after ordering (None, "exact", "dense", ...)
    dedup_threshold: float = 0.95

    def __post_init__(self) -> None:
        _check(self.source in ("synthetic", "celeba", "fashion", "array"), f"DataConfig.source must be 'synthetic', 'celeba', 'fashion' or 'array', got {self.source!r}")
        _check(4 <= self.resolution <= 160, f"DataConfig.resolution must be in [4, 160], got {self.resolution}")
        _check(self.limit is None or self.limit >= 1, f"DataConfig.limit must be >= 1, got {self.limit}")
        _check(0.0 < self.dedup_threshold < 1.0, f"DataConfig.dedup_threshold must be in (0,1), got {self.dedup_threshold}")
        # checked here, before any image is read (studies.data.dedup holds the same names and grid)
        _check(self.dedup is None or self.dedup in DEDUP_METHODS,
               f"DataConfig.dedup: unknown method {self.dedup!r}; choose one of {', '.join(DEDUP_METHODS)}")
        _check(self.dedup is None or self.resolution >= DEDUP_GRID,
               f"DataConfig.dedup {self.dedup!r} compares images on a {DEDUP_GRID}x{DEDUP_GRID} grid: needs resolution >= {DEDUP_GRID}, got {self.resolution}")


@dataclass(frozen=True)
class SplitConfig:
    """How groups A and B are drawn (SPEC §3)."""

    protocol: str = "random"  # "random", "attribute", "identity"
    variant: str = "code"  # random split: "code" (B = last N) or "text" (B = images N+1..2N)
    attribute: Optional[str] = None  # attribute name for protocol "attribute"
    seed: int = 0
    exposure: str = "tile"  # "tile": floor(n_total / N) copies (the code); "exact": exactly n_total samples
    n_total: int = 100_000  # training samples the exposure control aims at
    identity_tolerance: float = 0.01  # identity split: allowed relative image-count imbalance

    def __post_init__(self) -> None:
        _check(self.protocol in ("random", "attribute", "identity"), f"SplitConfig.protocol unknown: {self.protocol!r}")
        _check(self.variant in ("code", "text"), f"SplitConfig.variant must be 'code' or 'text', got {self.variant!r}")
        _check(self.exposure in ("tile", "exact"), f"SplitConfig.exposure must be 'tile' or 'exact', got {self.exposure!r}")
        _check((self.protocol == "attribute") == (self.attribute is not None), "SplitConfig.attribute is required for, and only for, protocol 'attribute'")
        _check(self.n_total >= 1, f"SplitConfig.n_total must be >= 1, got {self.n_total}")
        # a share of the total: a negative one would refuse every identity split, 1 or more accept any
        _check(0.0 <= self.identity_tolerance < 1.0, f"SplitConfig.identity_tolerance must be in [0, 1), got {self.identity_tolerance}")


@dataclass(frozen=True)
class ModelConfig:
    """The bias-free UNet of K24 (SPEC §4)."""

    blocks: int = 3
    width: int = 64  # K, channels of the first encoder block
    channels: int = 1  # image channels
    kernel: int = 3

    def __post_init__(self) -> None:
        _check(self.blocks >= 1, f"ModelConfig.blocks must be >= 1, got {self.blocks}")
        _check(self.width >= 1, f"ModelConfig.width must be >= 1, got {self.width}")
        _check(self.channels >= 1, f"ModelConfig.channels must be >= 1, got {self.channels}")
        _check(self.kernel >= 1 and self.kernel % 2 == 1, f"ModelConfig.kernel must be odd and >= 1 (padding keeps the size), got {self.kernel}")

    def check_resolution(self, resolution: int) -> None:
        """Each encoder block halves the side: it must stay an integer down to the middle block."""
        factor = 2 ** self.blocks
        _check(
            resolution % factor == 0,
            f"ModelConfig with {self.blocks} blocks needs a resolution divisible by {factor}, got {resolution}",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Training as in K24's code (SPEC §5)."""

    noise_schedule: str = "quadratic"  # sigma = u^2 (the code); "uniform": sigma ~ U(0,1) (T25's text)
    lr: float = 1e-3
    lr_decay_every: int = 100  # epochs between halvings of the learning rate
    lr_decay_factor: float = 0.5
    epochs: int = 1000
    batch_size: int = 512
    seed: int = 0
    eval_images: int = 300  # train/test images for the per-epoch PSNR log
    device: str = "auto"  # "auto", "cpu", "cuda"
    bf16: bool = False  # bf16 autocast: CUDA, or a CPU with native bf16 (not the fp32 arithmetic)
    channels_last: bool = False  # CUDA only
    checkpoint_every: int = 1  # epochs between checkpoints (resume points)

    def __post_init__(self) -> None:
        _check(self.noise_schedule in ("quadratic", "uniform"), f"TrainConfig.noise_schedule unknown: {self.noise_schedule!r}")
        _check(self.lr > 0, f"TrainConfig.lr must be > 0, got {self.lr}")
        _check(self.epochs >= 1, f"TrainConfig.epochs must be >= 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"TrainConfig.batch_size must be >= 1, got {self.batch_size}")
        _check(self.lr_decay_every >= 1, "TrainConfig.lr_decay_every must be >= 1")
        _check(self.device in ("auto", "cpu", "cuda"), f"TrainConfig.device unknown: {self.device!r}")


@dataclass(frozen=True)
class SampleConfig:
    """The stochastic coarse-to-fine sampler of K24 (SPEC §6)."""

    h0: float = 0.01
    beta: float = 0.1
    sigma_0: float = 1.0
    sigma_L: float = 0.05
    max_T: int = 2000
    start: str = "common"  # "common": same mean image for A and B; "own": each group's training mean (T25)
    n_seeds: int = 32
    seed0: int = 0

    def __post_init__(self) -> None:
        _check(0 < self.h0 <= 1, f"SampleConfig.h0 must be in (0,1], got {self.h0}")
        _check(0 < self.beta <= 1, f"SampleConfig.beta must be in (0,1], got {self.beta}")
        _check(self.sigma_L > 0, f"SampleConfig.sigma_L must be > 0, got {self.sigma_L}")
        _check(self.max_T >= 1, f"SampleConfig.max_T must be >= 1, got {self.max_T}")
        _check(self.start in ("common", "own"), f"SampleConfig.start must be 'common' or 'own', got {self.start!r}")
        _check(self.n_seeds >= 1, f"SampleConfig.n_seeds must be >= 1, got {self.n_seeds}")


@dataclass(frozen=True)
class ProtocolGrid:
    """The training-set sizes N run for one split protocol in one profile."""

    name: str  # parametrisation id: "random", "identity", "eyeglasses", "male"
    split: SplitConfig
    n_grid: tuple[int, ...]
    # False: the profile's near-duplicate removal is not applied to this protocol's images (T25
    # de-duplicated only the random split's set; its attribute and identity splits use all 202,599)
    dedup: bool = True

    def __post_init__(self) -> None:
        _check(len(self.n_grid) >= 1, f"protocol {self.name}: empty N grid")
        _check(all(n >= 1 for n in self.n_grid), f"protocol {self.name}: every N must be >= 1, got {self.n_grid}")
        _check(list(self.n_grid) == sorted(set(self.n_grid)), f"protocol {self.name}: N grid must be strictly increasing, got {self.n_grid}")


@dataclass(frozen=True)
class Profile:
    """A named scale of the whole study: the same code at smoke or paper scale."""

    name: str
    description: str
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    sample: SampleConfig
    protocols: tuple[ProtocolGrid, ...]
    eval_seeds: tuple[int, ...] = (0, 1, 2)  # seeds over which thresholds are measured
    psnr_images: int = 300  # train / test images of the PSNR curves (SPEC §7)
    psnr_noise_draws: int = 3
    needs_real_images: bool = False
    # training-seed replicates of each non-random protocol's pair at its largest N and of the random
    # pair at that N (``replicated_pairs``), judged together by the claims whose verdict one pair
    # cannot carry (identity-less-stable, identity-psnr-equal, originality, attribute-weakens-convergence);
    # replicate r trains A and B with seeds train.seed + 2r and + 2r + 1 and samples from seeds
    # sample.seed0 + 1000r (``replica``)
    replicates: int = 1
    # which of those replicates this profile is (0: the registered profile itself); set by
    # ``replica``, whose seeds it shifts. The name stays the registered one: ``label`` tells them apart
    replicate: int = 0

    def __post_init__(self) -> None:
        _check(self.replicates >= 1, f"Profile {self.name}: replicates must be >= 1, got {self.replicates}")
        _check(0 <= self.replicate < self.replicates,
               f"Profile {self.name}: replicate must be in 0..{self.replicates - 1}, got {self.replicate}")

    @property
    def label(self) -> str:
        """The profile for people: its name, and ``/rK`` for replicate K > 0 (``smoke/r1``)."""
        return self.name + (f"/r{self.replicate}" if self.replicate else "")

    def replicated_pairs(self) -> tuple[tuple[str, int], ...]:
        """The (protocol, N) pairs trained in every replicate: each non-random protocol's largest N
        and the random pair at that N (its equal-N reference); () without replicates."""
        if self.replicates < 2:
            return ()
        has_random = any(p.name == "random" for p in self.protocols)
        out: list[tuple[str, int]] = []
        for p in self.protocols:
            if p.name == "random":
                continue
            n = p.n_grid[-1]
            for q in (p.name, "random") if has_random else (p.name,):
                if (q, n) not in out:
                    out.append((q, n))
        return tuple(out)

    def replicated(self, protocol: str, n: int) -> bool:
        """Whether the pair of ``protocol`` at ``n`` has training-seed replicates."""
        return (protocol, int(n)) in self.replicated_pairs()

    def replica(self, r: int) -> "Profile":
        """Replicate ``r`` of this profile's registered settings (0: the registered profile): other
        training and sampling seeds, everything else equal, so its models have their own zoo
        addresses. Called on any replicate, it gives replicate ``r`` of the same profile."""
        if not 0 <= r < self.replicates:
            raise InputError(f"profile {self.name}: replicate {r} outside 0..{self.replicates - 1}")
        if r == self.replicate:
            return self
        shift = r - self.replicate
        return dataclasses.replace(
            self, replicate=r,
            train=dataclasses.replace(self.train, seed=self.train.seed + 2 * shift),
            sample=dataclasses.replace(self.sample, seed0=self.sample.seed0 + 1000 * shift),
        )

    def data_for(self, protocol: Optional[str] = None) -> DataConfig:
        """The data config of ``protocol``'s images: the profile's, without dedup where the protocol
        opts out (``ProtocolGrid.dedup``). ``None``: the profile's own."""
        if protocol is None or self.data.dedup is None or self.protocol(protocol).dedup:
            return self.data
        return dataclasses.replace(self.data, dedup=None)

    def protocol(self, name: str) -> ProtocolGrid:
        for p in self.protocols:
            if p.name == name:
                return p
        raise InputError(f"profile {self.name}: unknown protocol {name!r}; known: {[p.name for p in self.protocols]}")
