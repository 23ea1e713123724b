"""The stochastic coarse-to-fine sampler of K24 (SPEC §6), batched over seeds, and the same-noise
protocol that runs two denoisers A and B on identical noise.

``denoiser`` everywhere is the *residual* callable ``y -> net(y)``: the network predicts the noise,
so the denoised image is ``y - net(y)`` (SPEC §4). Pass the network itself (in eval mode).

Every seed owns a CPU ``torch.Generator`` seeded with the seed; its initial noise z_0 and its
injected noise z_1, z_2, ... are drawn from it one image at a time with the shape ``shape``. What a
seed receives therefore does not depend on which other seeds share the batch or when they stop, and
models A and B given the same seed receive identical noise. The noise is hashed while it is drawn;
``validate_same_noise`` compares the hashes of A and B and raises on any mismatch.
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


@dataclass
class SampleResult:
    """Output of :func:`sample`; every per-seed field is aligned with ``seeds``."""

    seeds: tuple[int, ...]
    images: torch.Tensor  # (S, *shape) float32 on the CPU: y - net(y) at the stop
    steps: np.ndarray  # (S,) int64: network calls of the ascent (t at the stop)
    status: tuple[str, ...]  # per seed in STATUSES
    sigma_trace: list[np.ndarray] | None  # per seed, sigma_t for t = 1..steps
    noise_hashes: tuple[NoiseHash, ...]
    # per seed, (steps, 32) uint8: running SHA-256 of z_0..z_t after each step t. It lets the
    # validator compare two runs that stopped at different t on their common prefix.
    noise_chain: list[np.ndarray] = field(repr=False)
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
            "noise_hashes": [{"initial": h.initial, "stream": h.stream, "steps": h.steps} for h in self.noise_hashes],
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.options.items()},
        }

    def chain_digest(self, i: int, t: int) -> str:
        """Running noise digest of seed ``i`` after step ``t`` (t = 0: the initial noise only)."""
        if t == 0:
            return self.noise_hashes[i].initial
        return bytes(self.noise_chain[i][t - 1]).hex()


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
    """Stochastic coarse-to-fine gradient ascent, K24 Algorithm 1 (unconditional), one chain per seed.

    y_0 = m + sigma_0·z_0; for t = 1, 2, ...: h_t = h_0·t/(1 + h_0·(t-1)), d_t = net(y),
    sigma_t = ||d_t||/sqrt(D), gamma_t = sigma_t·sqrt((1-beta·h_t)² - (1-h_t)²),
    y <- y - h_t·d_t + gamma_t·z_t; a seed stops once sigma_t <= sigma_L ("converged", the step is
    still applied, as in K24's code), when sigma_t > 2 ("diverged", no step) or after max_T steps
    ("max_T"). Stopped seeds are frozen and leave the batch. Output: y - net(y) per seed.
    ``callback(info)`` is called after every step with ``t``, ``active`` (positions into ``seeds`` of
    the chains that took the step), ``y`` (those chains after it) and ``sigma`` (their sigma_t).
    """
    seeds = _check_seeds(seeds)
    shape = _check_shape(shape)
    m = _check_mean(mean, shape)
    _check_options(h0, beta, sigma_0, sigma_L, max_T)
    _check_eval_mode(denoiser)
    dev = torch.device(device) if device is not None else _module_device(denoiser)
    n = len(seeds)

    gens = [torch.Generator(device="cpu").manual_seed(s) for s in seeds]
    z0 = torch.stack([torch.randn(shape, generator=g, dtype=torch.float32) for g in gens])
    z0_np = z0.numpy()
    initial_hex = [hashlib.sha256(z0_np[i].tobytes()).hexdigest() for i in range(n)]
    chain_hashers = [hashlib.sha256(z0_np[i].tobytes()) for i in range(n)]  # running over z_0, z_1, ...
    stream_hashers = [hashlib.sha256() for _ in range(n)]  # over z_1, z_2, ...
    chains: list[list[bytes]] = [[] for _ in range(n)]

    y = (m.unsqueeze(0) + sigma_0 * z0).to(dev)
    final_y = torch.empty((n, *shape), dtype=torch.float32)
    steps = np.zeros(n, dtype=np.int64)
    status = np.full(n, MAX_T, dtype=object)
    trace_rows: list[tuple[np.ndarray, np.ndarray]] = []  # (active, sigma_t) per step
    active = np.arange(n)
    ones = (1,) * len(shape)

    with torch.no_grad():
        t = 0
        while active.size:
            t += 1
            if t > max_T:  # status stays MAX_T
                final_y[torch.from_numpy(active)] = y.cpu()
                break
            h_t = step_size(h0, t)
            d = denoiser(y)
            if d.shape != y.shape:
                raise InputError(f"denoiser returned shape {tuple(d.shape)} for input {tuple(y.shape)}")
            sigma = effective_noise_level(d)
            sig = sigma.cpu().numpy()
            sig = np.where(np.isfinite(sig), sig, np.inf)  # NaN counts as diverged
            trace_rows.append((active, sig))
            steps[active] = t
            diverged = sig > DIVERGENCE_SIGMA
            if diverged.any():
                status[active[diverged]] = DIVERGED
                final_y[torch.from_numpy(active[diverged])] = y[torch.from_numpy(np.flatnonzero(diverged)).to(dev)].cpu()
            keep = np.flatnonzero(~diverged)
            if keep.size == 0:
                break
            # each seed's next draw from its own generator: independent of the batch around it
            z = torch.stack([torch.randn(shape, generator=gens[i], dtype=torch.float32) for i in active[keep]])
            z_np = z.numpy()
            for r, i in enumerate(active[keep]):
                b = z_np[r].tobytes()
                chain_hashers[i].update(b)
                stream_hashers[i].update(b)
                chains[i].append(chain_hashers[i].copy().digest())
            if keep.size < active.size:
                kj = torch.from_numpy(keep).to(dev)
                y, d, sigma = y[kj], d[kj], sigma[torch.from_numpy(keep)]
            gamma = noise_scale(sigma, h_t, beta).to(torch.float32).view(-1, *ones).to(dev)
            y_new = y - h_t * d + gamma * z.to(dev)
            if callback is not None:
                callback({"t": t, "active": active[keep], "y": y_new, "sigma": sig[keep]})
            active = active[keep]
            converged = sig[keep] <= sigma_L
            if converged.any():
                status[active[converged]] = CONVERGED
                final_y[torch.from_numpy(active[converged])] = y_new[torch.from_numpy(np.flatnonzero(converged)).to(dev)].cpu()
                still = np.flatnonzero(~converged)
                y_new = y_new[torch.from_numpy(still).to(dev)]
                active = active[still]
            y = y_new

        # the final denoising step y - net(y) of every chain at its stop
        yf = final_y.to(dev)
        images = (yf - denoiser(yf)).cpu()

    traces: list[list[float]] = [[] for _ in range(n)]
    for act, sig in trace_rows:
        for i, v in zip(act.tolist(), sig.tolist()):
            traces[i].append(v)
    noise_hashes = tuple(
        NoiseHash(initial=initial_hex[i], stream=stream_hashers[i].hexdigest(), steps=len(chains[i])) for i in range(n)
    )
    chain_arrays = [np.frombuffer(b"".join(c), dtype=np.uint8).reshape(len(c), 32) for c in chains]
    return SampleResult(
        seeds=seeds,
        images=images,
        steps=steps,
        status=tuple(str(x) for x in status),
        sigma_trace=[np.asarray(tr) for tr in traces],
        noise_hashes=noise_hashes,
        noise_chain=chain_arrays,
        options={"h0": h0, "beta": beta, "sigma_0": sigma_0, "sigma_L": sigma_L, "max_T": int(max_T), "shape": shape},
    )


def _module_device(denoiser: Callable) -> torch.device:
    if isinstance(denoiser, torch.nn.Module):
        for p in denoiser.parameters():
            return p.device
    return torch.device("cpu")


def validate_same_noise(a: SampleResult, b: SampleResult) -> None:
    """Raise NoiseMismatchError unless A and B got the same seeds, the same initial noise and the
    same injected-noise stream per seed (compared on the steps both ran: a chain that stopped
    earlier must have seen a prefix of the other's stream)."""
    if a.seeds != b.seeds:
        raise NoiseMismatchError(f"A and B were sampled from different seeds: {a.seeds[:5]}... vs {b.seeds[:5]}...")
    bad: list[str] = []
    for i, s in enumerate(a.seeds):
        ha, hb = a.noise_hashes[i], b.noise_hashes[i]
        if ha.initial != hb.initial:
            bad.append(f"seed {s}: initial noise {ha.initial[:12]} != {hb.initial[:12]}")
            continue
        t = min(ha.steps, hb.steps)
        ca, cb = a.noise_chain[i][:t], b.noise_chain[i][:t]
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
    validate_same_noise(res_a, res_b)
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
