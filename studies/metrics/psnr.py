"""Denoising PSNR (SPEC §7): PSNR = 10·log10(1/MSE) per image on [0, 1]; curves over the noise
grid sigma·255 in logspace(0.3, 2.4, 15) on training and held-out images, several noise draws,
bootstrap CIs over images; and the train-minus-test gap averaged over sigma (K24 Fig. 15).

``denoiser`` is the residual callable y -> net(y), as in :mod:`studies.sample`: denoised = y - net(y).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..stats import bootstrap_ci

CURVE_SIGMAS_255 = np.logspace(0.3, 2.4, 15)
CURVE_IMAGES = 300
# exact recovery (a memorising denoiser at low noise) has MSE 0 and PSNR +inf; curves cap it so
# that averages and bootstrap intervals stay finite. 100 dB is far above any float32 network.
PSNR_CAP_DB = 100.0


def default_sigmas() -> np.ndarray:
    """The SPEC §7 grid on the [0, 1] scale: logspace(0.3, 2.4, 15) / 255."""
    return CURVE_SIGMAS_255 / 255.0


def mse_to_psnr(mse: Any, *, data_range: float = 1.0) -> np.ndarray:
    """10·log10(data_range² / MSE); an MSE of 0 gives +inf."""
    m = np.asarray(mse, dtype=np.float64)
    if (m < 0).any() or not np.isfinite(m).all():
        raise InputError("MSE must be finite and >= 0")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / m)


def sigma_to_input_psnr(sigma: Any) -> np.ndarray:
    """PSNR of the noisy input y = x + sigma·z in expectation: 10·log10(1/sigma²) (42.1 dB at
    sigma·255 = 2, 0.1 dB at sigma·255 = 251)."""
    return mse_to_psnr(np.asarray(sigma, dtype=np.float64) ** 2)


def psnr(*, image_true: Any, image_test: Any, data_range: float = 1.0) -> np.ndarray:
    """PSNR of each image of ``image_test`` against the reference ``image_true``: shape (N,) for
    (N, C, H, W) input. Keyword-only: scikit-image's ``peak_signal_noise_ratio(image_true, image_test)``
    takes the reference first and this function once took it second, so a positional call could be
    either order; it is refused (TypeError) instead of guessed."""
    a, b = _images(image_test, "image_test", torch.float64), _images(image_true, "image_true", torch.float64)
    if a.shape != b.shape:
        raise InputError(f"psnr needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    if not data_range > 0:
        raise InputError(f"data_range must be > 0, got {data_range}")
    # the reference must lie in the range (with float slack); the estimate may leave it
    if b.min() < -1e-6 * data_range or b.max() > data_range * (1 + 1e-6):
        raise InputError(f"image_true has values in [{b.min():.4g}, {b.max():.4g}], outside [0, {data_range}]")
    mse = ((a - b) ** 2).reshape(a.shape[0], -1).mean(dim=1)
    return mse_to_psnr(mse.numpy(), data_range=data_range)


def tile_to(images: Any, n: int) -> tuple[torch.Tensor, np.ndarray]:
    """The first ``n`` images, tiled (0, 1, ..., N-1, 0, 1, ...) when there are fewer than ``n``;
    returns the images and the source index of each."""
    x = _images(images, "images")
    if int(n) != n or n < 1:
        raise InputError(f"n must be an integer >= 1, got {n}")
    src = np.arange(n) % x.shape[0] if x.shape[0] < n else np.arange(n)
    return x[torch.from_numpy(src)], src


def denoise_psnr(
    denoiser: Callable[[torch.Tensor], torch.Tensor],
    images: Any,
    *,
    sigmas: Any,
    n_draws: int = 3,
    seed: int = 0,
    batch_size: int = 256,
    clip: bool = False,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """PSNR of y - net(y) against x for y = x + sigma·z: shape (n_draws, len(sigmas), N). The noise
    of draw r, sigma s, image i depends only on (seed, r, s, i), not on ``batch_size``. ``clip``
    clamps the denoised image to [0, 1] first (K24 reports it unclamped). Values are capped at
    ``PSNR_CAP_DB``."""
    x = _images(images, "images")
    sig = _sigmas(sigmas)
    if int(n_draws) != n_draws or n_draws < 1:
        raise InputError(f"n_draws must be an integer >= 1, got {n_draws}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size must be an integer >= 1, got {batch_size}")
    if isinstance(denoiser, torch.nn.Module) and any(m.training for m in denoiser.modules()):
        raise InputError("denoiser is in training mode; call .eval() before measuring PSNR")
    dev = torch.device(device) if device is not None else torch.device("cpu")
    out = np.empty((n_draws, len(sig), x.shape[0]), dtype=np.float64)
    with torch.no_grad():
        for r in range(n_draws):
            for s, sigma in enumerate(sig):
                g = torch.Generator().manual_seed(_stream_seed(seed, r, s))
                z = torch.randn(x.shape, generator=g, dtype=torch.float32)
                for lo in range(0, x.shape[0], batch_size):
                    xb = x[lo : lo + batch_size]
                    y = (xb + float(sigma) * z[lo : lo + batch_size]).to(dev)
                    den = (y - denoiser(y)).cpu()
                    if clip:
                        den = den.clamp(0.0, 1.0)
                    out[r, s, lo : lo + xb.shape[0]] = np.minimum(psnr(image_true=xb, image_test=den), PSNR_CAP_DB)
    return out


@dataclass(frozen=True)
class PsnrCurve:
    """Mean denoising PSNR per sigma with a bootstrap CI over distinct images."""

    sigmas: np.ndarray  # (S,) on the [0, 1] scale
    input_psnr: np.ndarray  # (S,)
    mean: np.ndarray  # (S,) mean over images, tiles and draws
    ci_lo: np.ndarray  # (S,)
    ci_hi: np.ndarray  # (S,)
    per_image: np.ndarray  # (U, S): per distinct image, averaged over its tiles and the draws
    n_images: int  # images denoised per draw (after tiling)
    n_distinct: int  # distinct images
    n_draws: int
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sigmas": self.sigmas.tolist(),
            "input_psnr": self.input_psnr.tolist(),
            "mean": self.mean.tolist(),
            "ci_lo": self.ci_lo.tolist(),
            "ci_hi": self.ci_hi.tolist(),
            "n_images": self.n_images,
            "n_distinct": self.n_distinct,
            "n_draws": self.n_draws,
            "alpha": self.alpha,
        }


def psnr_to_curve(values: np.ndarray, source: np.ndarray, sigmas: Any, *, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> PsnrCurve:
    """Summarise ``denoise_psnr`` output (n_draws, S, N) whose column i shows image ``source[i]``:
    average per distinct image, then mean and bootstrap CI over distinct images. With a single
    distinct image the CI is over its tiles and draws (noise variability only)."""
    v = np.asarray(values, dtype=np.float64)
    sig = _sigmas(sigmas)
    if v.ndim != 3 or v.shape[1] != len(sig) or v.shape[2] != len(source):
        raise InputError(f"values must be (n_draws, {len(sig)}, {len(source)}), got {v.shape}")
    uniq = np.unique(source)
    per_image = np.stack([v[:, :, source == u].mean(axis=(0, 2)) for u in uniq])  # (U, S)
    units = per_image if len(uniq) >= 2 else v.transpose(0, 2, 1).reshape(-1, len(sig))
    lo, hi = np.empty(len(sig)), np.empty(len(sig))
    for s in range(len(sig)):
        ci = bootstrap_ci(units[:, s], n_boot=n_boot, alpha=alpha, seed=seed) if units.shape[0] >= 2 else (units[0, s],) * 2
        lo[s], hi[s] = ci[0], ci[1]
    return PsnrCurve(
        sigmas=sig,
        input_psnr=sigma_to_input_psnr(sig),
        mean=v.mean(axis=(0, 2)),
        ci_lo=lo,
        ci_hi=hi,
        per_image=per_image,
        n_images=len(source),
        n_distinct=len(uniq),
        n_draws=v.shape[0],
        alpha=alpha,
    )


def psnr_curve(
    denoiser: Callable[[torch.Tensor], torch.Tensor],
    images: Any,
    *,
    n_images: int = CURVE_IMAGES,
    sigmas: Any = None,
    n_draws: int = 3,
    seed: int = 0,
    batch_size: int = 256,
    clip: bool = False,
    alpha: float = 0.05,
    n_boot: int = 2000,
    device: str | torch.device | None = None,
) -> PsnrCurve:
    """Denoising PSNR curve on ``n_images`` of ``images`` (tiled when there are fewer)."""
    sig = default_sigmas() if sigmas is None else _sigmas(sigmas)
    x, src = tile_to(images, n_images)
    v = denoise_psnr(denoiser, x, sigmas=sig, n_draws=n_draws, seed=seed, batch_size=batch_size, clip=clip, device=device)
    return psnr_to_curve(v, src, sig, alpha=alpha, n_boot=n_boot, seed=seed)


def train_test_curves(
    denoiser: Callable[[torch.Tensor], torch.Tensor],
    train_images: Any,
    test_images: Any,
    **options: Any,
) -> tuple[PsnrCurve, PsnrCurve]:
    """(train curve, test curve) of one model: its own training images (tiled up to 300 when N < 300)
    and held-out images (the other group's training images, or the data's own held-out set), with the same noise draws.
    ``options`` are those of :func:`psnr_curve`."""
    return psnr_curve(denoiser, train_images, **options), psnr_curve(denoiser, test_images, **options)


@dataclass(frozen=True)
class PsnrGap:
    """Train-minus-test PSNR per sigma and averaged over sigma, with bootstrap CIs that resample
    the training and the test images independently."""

    sigmas: np.ndarray
    gap: np.ndarray  # (S,)
    gap_ci_lo: np.ndarray
    gap_ci_hi: np.ndarray
    mean_gap: float  # gap averaged over sigma (K24 Fig. 15)
    mean_gap_ci: tuple[float, float]
    alpha: float
    n_boot: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "sigmas": self.sigmas.tolist(),
            "gap": self.gap.tolist(),
            "gap_ci_lo": self.gap_ci_lo.tolist(),
            "gap_ci_hi": self.gap_ci_hi.tolist(),
            "mean_gap": self.mean_gap,
            "mean_gap_ci": list(self.mean_gap_ci),
            "alpha": self.alpha,
            "n_boot": self.n_boot,
        }


def curves_to_gap(train: PsnrCurve, test: PsnrCurve, *, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> PsnrGap:
    """Gap = train curve - test curve; percentile bootstrap over distinct images of each set."""
    if train.sigmas.shape != test.sigmas.shape or not np.allclose(train.sigmas, test.sigmas):
        raise InputError("train and test curves were measured on different sigma grids")
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must lie in (0, 0.5), got {alpha}")
    gap = train.mean - test.mean
    rng = np.random.default_rng(seed)
    a, b = train.per_image, test.per_image
    boot = (
        a[rng.integers(0, a.shape[0], (n_boot, a.shape[0]))].mean(axis=1)
        - b[rng.integers(0, b.shape[0], (n_boot, b.shape[0]))].mean(axis=1)
    )  # (n_boot, S)
    q = (100 * alpha / 2, 100 * (1 - alpha / 2))
    lo, hi = np.percentile(boot, q, axis=0)
    mlo, mhi = np.percentile(boot.mean(axis=1), q)
    return PsnrGap(
        sigmas=train.sigmas,
        gap=gap,
        gap_ci_lo=lo,
        gap_ci_hi=hi,
        mean_gap=float(gap.mean()),
        mean_gap_ci=(float(mlo), float(mhi)),
        alpha=alpha,
        n_boot=n_boot,
    )


def _stream_seed(seed: int, draw: int, sigma_index: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(draw), int(sigma_index)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _images(x: Any, name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    t = x.detach().cpu() if torch.is_tensor(x) else torch.as_tensor(np.asarray(x))
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if t.dim() != 4 or t.shape[0] == 0:
        raise InputError(f"{name} must be images (N, C, H, W), got shape {tuple(t.shape)}")
    t = t.to(dtype)
    if not torch.isfinite(t).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return t


def _sigmas(sigmas: Any) -> np.ndarray:
    s = np.asarray(sigmas, dtype=np.float64).ravel()
    if s.size == 0 or not np.isfinite(s).all() or (s <= 0).any():
        raise InputError(f"sigmas must be positive finite numbers, got {s[:5].tolist()}")
    return s
