"""LPIPS (Zhang et al. 2018) through the ``lpips`` package, with genuine backbone weights found
offline (``lpips_weights``) and the input checks users most often get wrong.

Inputs are images in [0, 1], shape (N, C, H, W) or (C, H, W) with C in {1, 3}; they are mapped to
[-1, 1] and grayscale is repeated to 3 channels (T25 §2.3). Values outside [0, 1] are refused: a
wrong input range is the most common LPIPS mistake and silently changes every distance.

``features(x)`` returns per-image vectors phi(x) with LPIPS(x, y) = ||phi(x) - phi(y)||^2: LPIPS is a
sum over layers l of the spatial mean of w_l-weighted squared differences of channel-normalised
features, so phi stacks the normalised features scaled by sqrt(w_lc) / sqrt(H_l W_l)."""

from __future__ import annotations

import contextlib
import os
import threading
import types
import warnings

import numpy as np
import torch

from ..errors import InputError, MissingResourceError
from .lpips_weights import BackboneWeights, backbone_spec, resolve_backbone

GENUINE, RANDOM, MISSING = "genuine", "random", "missing"
# torchmetrics' documented LPIPS-VGG example (seed 123, build the metric, two rand batches in [-1, 1])
REFERENCE_SEED = 123
REFERENCE_VGG = 0.3493
_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _torchvision_offline(weights: BackboneWeights | None):
    """Let ``lpips.pretrained_networks`` build its backbone the way torchvision's ``pretrained=True``
    does (same modules, same random-number draws: VGG skips its custom init) but load the features
    from ``weights`` instead of downloading. ``None`` builds a random backbone."""
    import lpips.pretrained_networks as pn
    import torchvision

    def builder(name):
        def build(pretrained=True, **_):
            if weights is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torchvision's deprecation note on `pretrained`
                    return getattr(torchvision.models, name)(weights=None)
            kwargs = {"init_weights": False} if name == "vgg16" else {}
            model = getattr(torchvision.models, name)(weights=None, **kwargs)
            model.features.load_state_dict(weights.state, strict=True)
            return model
        return build

    shim = types.SimpleNamespace(vgg16=builder("vgg16"), alexnet=builder("alexnet"), squeezenet1_1=builder("squeezenet1_1"))
    # a module global is swapped, so construction is serialised
    with _PATCH_LOCK:
        original = pn.tv
        pn.tv = shim
        try:
            yield
        finally:
            pn.tv = original


def build_lpips_module(net: str, *, version: str, weights: BackboneWeights | None) -> torch.nn.Module:
    import lpips

    spec = backbone_spec(net)
    if version not in {"0.1", "0.0"}:
        raise InputError(f"LPIPS version {version!r}: use '0.1' (default) or '0.0'")
    with _torchvision_offline(weights):
        module = lpips.LPIPS(net=spec.name, version=version, pretrained=True, pnet_rand=False, verbose=False)
    return module.eval()


def check_unit_range(x, *, name: str = "images") -> torch.Tensor:
    """(N, 3, H, W) float32 tensor in [0, 1] from an array/tensor (N, C, H, W) or (C, H, W), C in {1, 3}."""
    # numpy input is copied: memmaps are read-only and torch refuses to wrap them silently
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x, copy=True))
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[1] not in (1, 3):
        raise InputError(f"{name}: LPIPS needs (N, C, H, W) or (C, H, W) with C in {{1, 3}}, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise InputError(f"{name}: dtype {t.dtype}; LPIPS needs float images in [0, 1] (divide uint8 by 255)")
    t = t.detach().to(torch.float32)
    if t.numel() == 0:
        raise InputError(f"{name}: empty batch of shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise InputError(f"{name}: holds NaN or infinite values")
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(
            f"{name}: values span [{lo:.4g}, {hi:.4g}] but must lie in [0, 1] (they are mapped to [-1, 1] here); "
            "a wrong input range is the most common LPIPS mistake. Clip or rescale explicitly before calling."
        )
    if t.shape[1] == 1:
        t = t.expand(-1, 3, -1, -1)
    return t


class LPIPS:
    """LPIPS distance with checked inputs. ``net`` in {"vgg", "alex", "squeeze"}; raises
    MissingResourceError without genuine backbone weights unless ``allow_random=True``."""

    def __init__(self, net: str = "vgg", *, version: str = "0.1", weights: str | os.PathLike | None = None,
                 allow_random: bool = False, device: str | torch.device = "cpu", batch_size: int = 64,
                 _isolate_rng: bool = True):
        self.net = backbone_spec(net).name
        self.version = version
        self.device = torch.device(device)
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        try:
            backbone = resolve_backbone(self.net, path=weights)
        except MissingResourceError as exc:
            if not allow_random:
                raise
            backbone, self.missing_reason = None, str(exc)
        self.status = {
            "backbone": self.net,
            "weights": GENUINE if backbone is not None else RANDOM,
            "source": backbone.source if backbone is not None else "random initialisation (allow_random=True)",
            "sha256": backbone.sha256 if backbone is not None else None,
            "version": version,
        }
        self.genuine = backbone is not None
        # building draws random numbers (layer initialisation): keep the caller's stream untouched
        with torch.random.fork_rng(devices=[], enabled=_isolate_rng):
            self.module = build_lpips_module(self.net, version=version, weights=backbone).to(self.device)
        for p in self.module.parameters():
            p.requires_grad_(False)
        # per-layer channel weights of the linear heads; the feature map needs them non-negative
        self.layer_weights = [lin.model[-1].weight.detach().reshape(-1).to(self.device) for lin in self.module.lins]
        if min(float(w.min()) for w in self.layer_weights) < 0:
            raise InputError("LPIPS linear weights hold negative values; the exact feature-space search needs w >= 0")

    def _prepare(self, x, name):
        return check_unit_range(x, name=name).to(self.device) * 2 - 1

    @torch.no_grad()
    def __call__(self, x0, x1) -> torch.Tensor:
        """Distances of paired images (N,) (one of the two may be a single image, broadcast)."""
        a, b = self._prepare(x0, "x0"), self._prepare(x1, "x1")
        if a.shape[1:] != b.shape[1:]:
            raise InputError(f"LPIPS: image shapes differ: {tuple(a.shape[1:])} vs {tuple(b.shape[1:])}")
        if len(a) != len(b):
            if len(a) == 1:
                a = a.expand(len(b), -1, -1, -1)
            elif len(b) == 1:
                b = b.expand(len(a), -1, -1, -1)
            else:
                raise InputError(f"LPIPS: batch sizes differ: {len(a)} vs {len(b)}")
        out = []
        for i in range(0, len(a), self.batch_size):
            out.append(self._forward(a[i:i + self.batch_size], b[i:i + self.batch_size]).reshape(-1))
        return torch.cat(out).cpu()

    def _forward(self, a, b):
        try:
            return self.module(a, b)
        except RuntimeError as exc:
            raise InputError(f"LPIPS-{self.net} cannot process images of shape {tuple(a.shape[1:])}: {exc}") from None

    @torch.no_grad()
    def features(self, x, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """phi(x), shape (N, D), with LPIPS(x, y) = ||phi(x) - phi(y)||^2 (up to rounding)."""
        from lpips import normalize_tensor

        t = self._prepare(x, "images")
        out = []
        for i in range(0, len(t), self.batch_size):
            chunk = t[i:i + self.batch_size]
            scaled = self.module.scaling_layer(chunk) if self.version == "0.1" else chunk
            try:
                layers = self.module.net.forward(scaled)
            except RuntimeError as exc:
                raise InputError(f"LPIPS-{self.net} cannot process images of shape {tuple(chunk.shape[1:])}: {exc}") from None
            parts = []
            for f, w in zip(layers, self.layer_weights):
                h, wd = f.shape[2], f.shape[3]
                g = normalize_tensor(f) * (w.sqrt()[None, :, None, None] / float(h * wd) ** 0.5)
                parts.append(g.reshape(len(chunk), -1))
            out.append(torch.cat(parts, dim=1).to(dtype))
        return torch.cat(out).cpu()


def reference_value(*, net: str = "vgg", weights: str | os.PathLike | None = None, allow_random: bool = False) -> float:
    """torchmetrics' documented LPIPS example: seed 123, build the metric, two torch.rand(10, 3, 100,
    100) batches scaled to [-1, 1], mean LPIPS. 0.3493 with genuine VGG weights (about 0.13 random).
    The caller's global torch RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(REFERENCE_SEED)
        # the documented value depends on the random draws made while building the metric
        metric = LPIPS(net, weights=weights, allow_random=allow_random, _isolate_rng=False)
        img1 = torch.rand(10, 3, 100, 100)
        img2 = torch.rand(10, 3, 100, 100)
        return float(metric(img1, img2).mean())


def weights_status(net: str = "vgg", *, weights=None) -> dict:
    """{"backbone", "weights": genuine|missing, "source"} without building the network."""
    try:
        found = resolve_backbone(net, path=weights)
    except MissingResourceError as exc:
        return {"backbone": backbone_spec(net).name, "weights": MISSING, "source": None, "reason": str(exc)}
    return {"backbone": found.net, "weights": GENUINE, "source": found.source, "sha256": found.sha256}
