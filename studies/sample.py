"""The stochastic coarse-to-fine sampler of K24 (SPEC §6), batched over seeds, and the same-noise
protocol that runs two denoisers A and B on identical noise.

Where to look: :func:`sample` is K24 Algorithm 1 line by line; :class:`SeedNoise` is where its
noise comes from; :func:`same_noise_pair` and :func:`validate_same_noise` are the same-noise protocol.

``denoiser`` everywhere is the *residual* callable ``y -> net(y)``: the network predicts the noise,
so the denoised image is ``y - net(y)`` (SPEC §4). Pass the network itself (in eval mode).

Stopping, per seed: once sigma_t <= sigma_L ("converged"; the step is still applied, as in K24's
code), when sigma_t > 2 ("diverged"; no step, no noise drawn) or after max_T steps ("max_T").
Stopped chains are frozen and leave the batch; the output is y - net(y) of every chain at its stop.
``callback(info)``, when given, is called after every step with ``t``, ``active`` (positions into
``seeds`` of the chains that took the step), ``y`` (those chains after it) and ``sigma`` (their sigma_t).

Noise (:class:`SeedNoise`, after EDM's ``StackedRandomGenerator``): every seed owns a CPU
``torch.Generator`` seeded with the seed; its initial noise z_0 and its injected noise z_1, z_2, ...
are drawn from it one image at a time. What a seed receives therefore does not depend on which other
seeds share the batch or when they stop, and models A and B given the same seed receive identical
noise. The noise is hashed as it is drawn into a :class:`NoiseRecord`; ``validate_same_noise``
compares the records of A and B and raises on any mismatch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .errors import InputError, MemgenError

CONVERGED = "converged"
DIVERGED = "diverged"
MAX_T = "max_T"
STATUSES = (CONVERGED, DIVERGED, MAX_T)

START_COMMON = "common"
START_OWN = "own"

# sigma_t above this means the ascent left the image manifold (K24's code stops there too)
DIVERGENCE_SIGMA = 2.0


class NoiseMismatchError(MemgenError):
    """Models A and B of a same-noise comparison did not receive identical noise for some seed."""


@dataclass(frozen=True)
class NoiseHash:
    """SHA-256 of one seed's initial noise z_0 and of its injected-noise stream z_1..z_steps."""

    initial: str
    stream: str
    steps: int


@dataclass(frozen=True, eq=False)
class NoiseRecord:
    """The noise each seed of one sampling run received, as digests (see :class:`SeedNoise`)."""

    seeds: tuple[int, ...]
    hashes: tuple[NoiseHash, ...]
    # per seed, (steps, 32) uint8: running SHA-256 of z_0..z_t after each step t. It lets the
    # validator compare two runs that stopped at different t on their common prefix.
    chain: tuple[np.ndarray, ...] = field(repr=False)

    def digest(self, i: int, t: int) -> str:
        """Running noise digest of seed ``i`` (a position into ``seeds``) after step ``t`` (t = 0: z_0 only)."""
        if t == 0:
            return self.hashes[i].initial
        return bytes(self.chain[i][t - 1]).hex()


class SeedNoise:
    """The sampler's Gaussian noise, one CPU generator per seed (as EDM's ``StackedRandomGenerator``),
    hashed as it is drawn. ``initial()`` gives z_0 of every seed, once; ``draw(rows)`` the next z_t of
    the seeds at positions ``rows``; ``digests`` the :class:`NoiseRecord` of everything drawn so far."""

    def __init__(self, seeds: Sequence[int], shape: Sequence[int]) -> None:
        self.seeds = _check_seeds(seeds)
        self.shape = _check_shape(shape)
        self._generators = [torch.Generator(device="cpu").manual_seed(s) for s in self.seeds]
        self._initial: list[str] = []
        self._chain = [hashlib.sha256() for _ in self.seeds]  # running over z_0, z_1, ...
        self._stream = [hashlib.sha256() for _ in self.seeds]  # over z_1, z_2, ...
        self._steps: list[list[bytes]] = [[] for _ in self.seeds]  # the running digest after each step

    def _randn(self, rows: Sequence[int]) -> torch.Tensor:
        # one image at a time from the seed's own generator: independent of the batch around it
        if len(rows) == 0:
            return torch.empty((0, *self.shape), dtype=torch.float32)
        return torch.stack([torch.randn(self.shape, generator=self._generators[i], dtype=torch.float32) for i in rows])

    def initial(self) -> torch.Tensor:
        """z_0 of every seed, (S, *shape) float32 on the CPU."""
        if self._initial:
            raise InputError("SeedNoise.initial() was already drawn; a sampling run draws z_0 once")
        z = self._randn(range(len(self.seeds)))
        for i, row in enumerate(z.numpy()):
            self._initial.append(hashlib.sha256(row.tobytes()).hexdigest())
            self._chain[i].update(row.tobytes())
        return z

    def draw(self, rows: Sequence[int]) -> torch.Tensor:
        """The next z_t of the seeds at positions ``rows`` into ``seeds``, (len(rows), *shape) float32 on the CPU."""
        if not self._initial:
            raise InputError("SeedNoise.draw() before initial(): z_0 comes first")
        z = self._randn(rows)
        for i, row in zip(rows, z.numpy()):
            self._chain[i].update(row.tobytes())
            self._stream[i].update(row.tobytes())
            self._steps[i].append(self._chain[i].copy().digest())
        return z

    @property
    def digests(self) -> NoiseRecord:
        """The record of every z drawn so far (the hash chains go on: a later draw makes a new record)."""
        if not self._initial:
            raise InputError("SeedNoise.digests before initial(): nothing was drawn")
        hashes = tuple(NoiseHash(initial=self._initial[i], stream=self._stream[i].hexdigest(), steps=len(self._steps[i]))
                       for i in range(len(self.seeds)))
        chain = tuple(np.frombuffer(b"".join(c), dtype=np.uint8).reshape(len(c), 32) for c in self._steps)
        return NoiseRecord(seeds=self.seeds, hashes=hashes, chain=chain)


@dataclass
class SampleResult:
    """Output of :func:`sample`; every per-seed field is aligned with ``seeds``."""

    seeds: tuple[int, ...]
    images: torch.Tensor  # (S, *shape) float32 on the CPU: y - net(y) at the stop
    steps: np.ndarray  # (S,) int64: network calls of the ascent (t at the stop)
    status: tuple[str, ...]  # per seed in STATUSES
    sigma_trace: list[np.ndarray] | None  # per seed, sigma_t for t = 1..steps
    noise: NoiseRecord = field(repr=False)
    options: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of seeds per stop status (all statuses listed, zeros included)."""
        return {s: sum(1 for x in self.status if x == s) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        """Everything but the images and the per-step chain, for an artifact or a report."""
        return {
            "seeds": list(self.seeds),
            "steps": self.steps.tolist(),
            "status": list(self.status),
            "counts": self.counts(),
            "noise_hashes": [{"initial": h.initial, "stream": h.stream, "steps": h.steps} for h in self.noise.hashes],
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()},
        }


@dataclass
class PairResult:
    """Output of :func:`same_noise_pair`: A and B sampled from the same seeds, noise verified."""

    seeds: tuple[int, ...]
    a: SampleResult
    b: SampleResult
    start: str  # START_COMMON or START_OWN
    start_detail: str  # how the start means were chosen, for the report
    validated: bool  # True once validate_same_noise passed

    def to_dict(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "start": self.start, "start_detail": self.start_detail,
                "validated": self.validated, "a": self.a.to_dict(), "b": self.b.to_dict()}


def step_size(h0: float, t: int) -> float:
    """h_t = h_0·t / (1 + h_0·(t-1)) of K24's schedule."""
    return h0 * t / (1.0 + h0 * (t - 1))


def noise_scale(sigma_t: torch.Tensor, h_t: float, beta: float) -> torch.Tensor:
    """gamma_t = sigma_t·sqrt((1 - beta·h_t)² - (1 - h_t)²)."""
    return sigma_t * math.sqrt(max((1.0 - beta * h_t) ** 2 - (1.0 - h_t) ** 2, 0.0))


def effective_noise_level(d: torch.Tensor) -> torch.Tensor:
    """sigma_t = ||d_t|| / sqrt(number of pixels), per sample (float64 so the value of one sample
    does not depend on the batch it is computed in)."""
    flat = d.detach().reshape(d.shape[0], -1).to(torch.float64)
    return flat.pow(2).sum(dim=1).sqrt() / math.sqrt(flat.shape[1])


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(s) for s in seeds)
    except (TypeError, ValueError):
        raise InputError(f"seeds must be integers, got {seeds!r}") from None
    if not out:
        raise InputError("seeds is empty: give at least one seed")
    seen: set[int] = set()
    dup = sorted({s for s in out if s in seen or seen.add(s)})
    if dup:
        raise InputError(f"seeds given twice: {dup}; each seed must appear once")
    bad = [s for s in out if s < 0 or s >= 2**63]
    if bad:
        raise InputError(f"seeds must be in [0, 2**63), got {bad[:5]}")
    return out


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"shape must be (C, H, W) with positive sides, got {shape}")
    return shape


def _check_mean(mean: Any, shape: tuple[int, ...], name: str = "mean") -> torch.Tensor:
    m = torch.as_tensor(np.asarray(mean) if not torch.is_tensor(mean) else mean).detach().to(torch.float32).cpu()
    if m.dim() == 4 and m.shape[0] == 1:
        m = m[0]
    if m.dim() == 0:
        m = m.expand(shape).clone()
    if tuple(m.shape) != shape:
        raise InputError(f"{name} has shape {tuple(m.shape)}, the samples have shape {shape}")
    if not torch.isfinite(m).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return m


def _check_eval_mode(denoiser: Callable, name: str = "denoiser") -> None:
    # In training mode batch norm normalises by batch statistics: the samples of a batch would then
    # interact and a seed's sample would depend on its batch mates.
    if isinstance(denoiser, torch.nn.Module):
        training = [n or "<root>" for n, m in denoiser.named_modules() if m.training]
        if training:
            raise InputError(f"{name} is in training mode (modules {training[:3]}); call .eval() before sampling")


def _check_options(h0: float, beta: float, sigma_0: float, sigma_L: float, max_T: int) -> None:
    if not 0 < h0 <= 1:
        raise InputError(f"h0 must be in (0, 1], got {h0}")
    if not 0 < beta <= 1:
        raise InputError(f"beta must be in (0, 1], got {beta}")
    if not sigma_0 > 0 or not math.isfinite(sigma_0):
        raise InputError(f"sigma_0 must be a positive number, got {sigma_0}")
    if not sigma_L > 0 or not math.isfinite(sigma_L):
        raise InputError(f"sigma_L must be a positive number, got {sigma_L}")
    if int(max_T) != max_T or max_T < 1:
        raise InputError(f"max_T must be an integer >= 1, got {max_T}")


def sample(
    denoiser: Callable[[torch.Tensor], torch.Tensor],
    seeds: Sequence[int],
    *,
    shape: Sequence[int],
    mean: Any,
    h0: float,
    beta: float,
    sigma_0: float,
    sigma_L: float,
    max_T: int,
    callback: Callable[[dict[str, Any]], None] | None = None,
    device: str | torch.device | None = None,
) -> SampleResult:
    """K24 Algorithm 1 (SPEC §6), one chain per seed, batched; stopping and ``callback`` as in the module docstring."""
    z = SeedNoise(seeds, shape)
    m = _check_mean(mean, z.shape)
    _check_options(h0, beta, sigma_0, sigma_L, max_T)
    _check_eval_mode(denoiser)
    dev = torch.device(device) if device is not None else _module_device(denoiser)
    stops = _Stops(len(z.seeds), z.shape)
    rows = np.arange(len(z.seeds))  # positions into seeds of the chains still running
    with torch.no_grad():
        y = (m.unsqueeze(0) + sigma_0 * z.initial()).to(dev)  # y_0 = m + sigma_0·z_0
        for t in range(1, int(max_T) + 1):
            h_t = step_size(h0, t)
            d_t = denoiser(y)
            if d_t.shape != y.shape:
                raise InputError(f"denoiser returned shape {tuple(d_t.shape)} for input {tuple(y.shape)}")
            sigma_t = effective_noise_level(d_t)
            s = stops.trace(rows, t, sigma_t)
            go = stops.stop(rows, y, s > DIVERGENCE_SIGMA, DIVERGED)  # frozen before the step, no noise drawn
            rows, s, (y, d_t, sigma_t) = rows[go], s[go], _take(go, y, d_t, sigma_t)
            if not rows.size:
                break
            gamma_t = noise_scale(sigma_t, h_t, beta).to(torch.float32).view(-1, 1, 1, 1)
            y = y - h_t * d_t + gamma_t * z.draw(rows).to(dev)  # y <- y - h_t·d_t + gamma_t·z_t
            if callback is not None:
                callback({"t": t, "active": rows, "y": y, "sigma": s})
            go = stops.stop(rows, y, s <= sigma_L, CONVERGED)  # after the step, as in K24's code
            rows, (y,) = rows[go], _take(go, y)
            if not rows.size:
                break
        stops.stop(rows, y, np.ones(rows.size, dtype=bool), MAX_T)  # the chains still running after max_T steps
        y_stop = stops.y.to(dev)
        images = (y_stop - denoiser(y_stop)).cpu()  # the output x = y - net(y) at each chain's stop
    options = {"h0": h0, "beta": beta, "sigma_0": sigma_0, "sigma_L": sigma_L, "max_T": int(max_T), "shape": z.shape}
    return stops.result(z.seeds, images, z.digests, options)


def _take(positions: np.ndarray, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The rows ``positions`` (ascending, no repeats) of each tensor, on the tensor's device."""
    if all(positions.size == x.shape[0] for x in tensors):  # every row: no copy per step
        return tensors
    return tuple(x[torch.from_numpy(positions).to(x.device)] for x in tensors)


class _Stops:
    """Per-seed bookkeeping of :func:`sample`: y at the stop, the stop step, status and sigma trace."""

    def __init__(self, n: int, shape: tuple[int, ...]) -> None:
        self.y = torch.empty((n, *shape), dtype=torch.float32)
        self.steps = np.zeros(n, dtype=np.int64)
        self.status = np.full(n, MAX_T, dtype=object)
        self.traces: list[list[float]] = [[] for _ in range(n)]

    def trace(self, rows: np.ndarray, t: int, sigma_t: torch.Tensor) -> np.ndarray:
        """Record sigma_t of the chains ``rows`` at step t; returns it as numpy, NaN as inf (diverged)."""
        s = sigma_t.cpu().numpy()
        s = np.where(np.isfinite(s), s, np.inf)
        self.steps[rows] = t
        for i, v in zip(rows.tolist(), s.tolist()):
            self.traces[i].append(v)
        return s

    def stop(self, rows: np.ndarray, y: torch.Tensor, mask: np.ndarray, status: str) -> np.ndarray:
        """Freeze the chains ``rows[mask]`` at ``y[mask]`` with ``status``; returns the positions that go on."""
        hit = np.flatnonzero(mask)
        if hit.size:
            self.status[rows[hit]] = status
            self.y[torch.from_numpy(rows[hit])] = _take(hit, y)[0].cpu()
        return np.flatnonzero(~mask)

    def result(self, seeds: tuple[int, ...], images: torch.Tensor, noise: NoiseRecord, options: dict[str, Any]) -> SampleResult:
        return SampleResult(seeds=seeds, images=images, steps=self.steps, status=tuple(str(x) for x in self.status),
                            sigma_trace=[np.asarray(tr) for tr in self.traces], noise=noise, options=options)


def _module_device(denoiser: Callable) -> torch.device:
    if isinstance(denoiser, torch.nn.Module):
        for p in denoiser.parameters():
            return p.device
    return torch.device("cpu")


def validate_same_noise(a: NoiseRecord, b: NoiseRecord) -> None:
    """Raise NoiseMismatchError unless the noise records of A and B have the same seeds, the same
    initial noise and the same injected-noise stream per seed (compared on the steps both ran: a
    chain that stopped earlier must have seen a prefix of the other's stream)."""
    if a.seeds != b.seeds:
        raise NoiseMismatchError(f"A and B were sampled from different seeds: {a.seeds[:5]}... vs {b.seeds[:5]}...")
    bad: list[str] = []
    for i, s in enumerate(a.seeds):
        ha, hb = a.hashes[i], b.hashes[i]
        if ha.initial != hb.initial:
            bad.append(f"seed {s}: initial noise {ha.initial[:12]} != {hb.initial[:12]}")
            continue
        t = min(ha.steps, hb.steps)
        ca, cb = a.chain[i][:t], b.chain[i][:t]
        if ca.shape != cb.shape or not np.array_equal(ca, cb):
            first = int(np.flatnonzero((ca != cb).any(axis=1))[0]) + 1 if ca.shape == cb.shape else 1
            bad.append(f"seed {s}: injected noise differs from step {first} on (of {t} steps both ran)")
        elif ha.steps == hb.steps and ha.stream != hb.stream:
            bad.append(f"seed {s}: injected-noise stream {ha.stream[:12]} != {hb.stream[:12]}")
    if bad:
        raise NoiseMismatchError(f"same-noise protocol violated for {len(bad)} of {len(a.seeds)} seeds: " + "; ".join(bad[:5]))


def same_noise_pair(
    den_a: Callable[[torch.Tensor], torch.Tensor],
    den_b: Callable[[torch.Tensor], torch.Tensor],
    seeds: Sequence[int],
    *,
    shape: Sequence[int],
    start: str,
    mean: Any = None,
    mean_a: Any = None,
    mean_b: Any = None,
    h0: float,
    beta: float,
    sigma_0: float,
    sigma_L: float,
    max_T: int,
    config_a: Any = None,
    config_b: Any = None,
    device: str | torch.device | None = None,
) -> PairResult:
    """Sample models A and B from the same seeds (SPEC §6 same-noise comparison) and verify the noise.

    ``start="common"``: both chains start from one mean image — ``mean`` if given, else the average
    of ``mean_a`` and ``mean_b``. ``start="own"``: A starts from ``mean_a`` and B from ``mean_b``
    (each group's training mean, as T25 did). ``config_a``/``config_b`` (e.g. the models' ModelConfig
    and resolution) must be equal when given, and so must the networks' own ``.cfg`` (a UNet's
    ModelConfig): a comparison across architectures or resolutions is refused.
    """
    if start not in (START_COMMON, START_OWN):
        raise InputError(f"start must be {START_COMMON!r} or {START_OWN!r}, got {start!r}")
    # a UNet carries its ModelConfig: compare it even when the caller gave none
    if config_a is None and config_b is None:
        cfg_a, cfg_b = getattr(den_a, "cfg", None), getattr(den_b, "cfg", None)
        if cfg_a is not None and cfg_b is not None and cfg_a != cfg_b:
            raise InputError(f"models A and B have different configs: {cfg_a!r} vs {cfg_b!r}")
    if (config_a is None) != (config_b is None):
        raise InputError("give the configs of both models or of neither")
    if config_a is not None and config_a != config_b:
        raise InputError(f"models A and B have different configs: {config_a!r} vs {config_b!r}")
    shape = _check_shape(shape)
    seeds = _check_seeds(seeds)
    if start == START_OWN:
        if mean_a is None or mean_b is None:
            raise InputError("start='own' needs mean_a and mean_b (each group's training mean)")
        if mean is not None:
            raise InputError("start='own' takes mean_a and mean_b, not mean")
        m_a, m_b = _check_mean(mean_a, shape, "mean_a"), _check_mean(mean_b, shape, "mean_b")
        detail = "own: A from group A's training mean, B from group B's training mean"
    elif mean is not None:
        if mean_a is not None or mean_b is not None:
            raise InputError("start='common' takes either mean or (mean_a, mean_b), not both")
        m_a = m_b = _check_mean(mean, shape)
        detail = "common: both from the given mean image"
    else:
        if mean_a is None or mean_b is None:
            raise InputError("start='common' needs mean, or mean_a and mean_b to average")
        m_a = m_b = 0.5 * (_check_mean(mean_a, shape, "mean_a") + _check_mean(mean_b, shape, "mean_b"))
        detail = "common: both from the average of the two groups' training means"
    opts = dict(shape=shape, h0=h0, beta=beta, sigma_0=sigma_0, sigma_L=sigma_L, max_T=max_T, device=device)
    _check_eval_mode(den_a, "den_a")
    _check_eval_mode(den_b, "den_b")
    res_a = sample(den_a, seeds, mean=m_a, **opts)
    res_b = sample(den_b, seeds, mean=m_b, **opts)
    validate_same_noise(res_a.noise, res_b.noise)
    for r in (res_a, res_b):
        r.options["start"] = start
    return PairResult(seeds=seeds, a=res_a, b=res_b, start=start, start_detail=detail, validated=True)


def sampler_options(cfg: Any) -> dict[str, Any]:
    """The keyword arguments of :func:`sample` held by a ``SampleConfig``."""
    return {"h0": cfg.h0, "beta": cfg.beta, "sigma_0": cfg.sigma_0, "sigma_L": cfg.sigma_L, "max_T": cfg.max_T}


class EmpiricalDenoiser(torch.nn.Module):
    """The blind posterior-mean denoiser of an empirical distribution: the exact optimal denoiser of
    a model that has memorised its training set (K24 §2: what a network trained on few images
    converges to). With a flat prior on the unknown noise level, p(y | x_k) ∝ ||y - x_k||^-(D-1),
    so E[x | y] = sum_k w_k x_k with w_k ∝ ||y - x_k||^-(D-1). Forward returns the residual
    y - E[x | y], like the UNet."""

    def __init__(self, train: torch.Tensor) -> None:
        super().__init__()
        train = torch.as_tensor(train, dtype=torch.float32)
        if train.dim() != 4 or train.shape[0] < 1:
            raise InputError(f"EmpiricalDenoiser needs training images (N, C, H, W), got shape {tuple(train.shape)}")
        self.register_buffer("images", train.clone())
        self.eval()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        flat_y = y.reshape(y.shape[0], -1).to(torch.float64)
        flat_x = self.images.reshape(self.images.shape[0], -1).to(torch.float64)
        d = flat_y.shape[1]
        # row by row (matrix-vector products), so a sample's value is independent of its batch and
        # no (batch, N, D) array is ever formed: the memorising control runs at N = 4000
        x2 = (flat_x**2).sum(dim=1)
        out = torch.empty_like(flat_y)
        for i, row in enumerate(flat_y):
            # ||y - x||^2 = ||y||^2 - 2 x.y + ||x||^2: float64 keeps the cancellation harmless (||x||^2 ~ 60
            # at 16x16 against ||y - x||^2 >= ~2 at the sampler's last noise level, sigma_L 0.1)
            r2 = ((row @ row) - 2.0 * torch.mv(flat_x, row) + x2).clamp_min(1e-300)
            w = torch.softmax(-(d - 1) * 0.5 * torch.log(r2), dim=0)
            out[i] = row - torch.mv(flat_x.T, w)
        return out.to(y.dtype).reshape(y.shape)
