"""Model checkpoints: safetensors for tensors, a JSON file beside it for the config.

Our own checkpoints are ``<name>.safetensors`` plus ``<name>.json`` (the ModelConfig, the SHA-256 of
the tensor file and whatever the caller adds), each written atomically; the JSON is written last and
names the tensor file's hash, so a pair from two different saves is detected on load.

Foreign checkpoints (K24's ``.pt`` files) are read only with ``torch.load(..., weights_only=True)``,
which unpickles tensors and plain containers but never runs code; a pickle that needs to import a
class or call a function is refused with the reason. Keys may carry DataParallel's ``module.``
prefix; after removing it the keys and shapes must match the architecture exactly."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..cache import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from ..config import ModelConfig, from_dict, to_dict
from ..errors import ArtifactError, InputError
from .unet import UNet, expected_keys

FORMAT = 1
DP_PREFIX = "module."
# containers under which training scripts commonly nest a state_dict
_WRAPPERS = ("state_dict", "model_state_dict", "model", "net")


def config_path(path: str | os.PathLike) -> Path:
    return Path(path).with_suffix(".json")


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], info: Optional[dict] = None) -> dict:
    """Write ``tensors`` as safetensors and ``info`` (plus the tensor file's SHA-256) as JSON beside
    it, both atomically; returns the JSON written."""
    path = Path(path)
    data = st_save({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()})
    atomic_write_bytes(path, data)
    record = {"format": FORMAT, "tensors": path.name, "sha256": sha256_bytes(data), **(info or {})}
    atomic_write_json(config_path(path), record)
    return record


def read_tensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a pair written by ``save_tensors``, checking the tensor file against the JSON's hash."""
    path = Path(path)
    meta_file = config_path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: checkpoint not found")
    if not meta_file.is_file():
        raise ArtifactError(f"{path}: its config {meta_file.name} is missing")
    try:
        info = json.loads(meta_file.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{meta_file}: not valid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise ArtifactError(f"{meta_file}: holds a JSON {type(info).__name__}, expected an object (the checkpoint's config and hash)")
    actual = sha256_file(path)
    if actual != info.get("sha256"):
        raise ArtifactError(f"{path}: sha256 {actual[:16]}... does not match {meta_file.name} ({str(info.get('sha256'))[:16]}...); corrupt or from another save")
    return _read_safetensors(path), info


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return st_load(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable safetensors file, corrupt or truncated ({exc})") from None


def save_checkpoint(path: str | os.PathLike, net: UNet, *, extra: Optional[dict] = None) -> dict:
    """Save a UNet's weights and running statistics with its ModelConfig."""
    return save_tensors(path, net.state_dict(), {"kind": "unet", "model_config": to_dict(net.cfg), **(extra or {})})


def load_checkpoint(path: str | os.PathLike, cfg: Optional[ModelConfig] = None) -> UNet:
    """A UNet (eval mode, CPU) from our safetensors checkpoint or a foreign ``.pt``/``.pth`` file.

    ``cfg`` is required for a foreign file (it carries no config); for ours it is read from the JSON
    and, if given, must agree with it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    if path.suffix == ".safetensors":
        if config_path(path).is_file():
            state, info = read_tensors(path)
            try:
                saved = from_dict(ModelConfig, info["model_config"]) if "model_config" in info else None
            except InputError as exc:
                raise InputError(f"{config_path(path)}: model_config: {exc}") from None
            if cfg is not None and saved is not None and saved != cfg:
                raise InputError(f"{path}: saved for {saved}, asked to load as {cfg}")
            cfg = cfg or saved
        else:
            state = _read_safetensors(path)
    else:
        state = read_foreign(path)
    if cfg is None:
        raise InputError(f"{path}: no config beside the checkpoint; pass the ModelConfig (blocks, width, channels)")
    net = UNet(cfg)
    load_state(net, state, source=str(path))
    # channels_last weights make oneDNN run the convolutions in NHWC whatever the input's layout:
    # 1.6x faster sampling of 256 seeds with the smoke UNet (benchmarks/RESULTS.md). Layout changes
    # rounding, not the arithmetic; state_dict() still gives the same values and keys.
    return net.to(memory_format=torch.channels_last).eval()


def _is_safetensors(path: Path) -> bool:
    """A safetensors file begins with an 8-byte little-endian header length and a JSON header."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= size - 8


def read_foreign(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The state_dict inside a ``torch.save`` file, unpickled without running code. A safetensors
    file under a ``.pt`` name is read as what it is (safetensors runs no code either), rather than
    be refused as a pickle that needs to run code."""
    path = Path(path)
    if _is_safetensors(path):
        return _read_safetensors(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise InputError(
            f"{path}: refused: this pickle needs to run code to load (it names classes or functions beyond "
            f"tensors and plain containers), and memgen reads checkpoints only with torch.load(weights_only=True) "
            f"or safetensors. Re-save it as a state_dict (torch.save(model.state_dict(), ...)) in a trusted "
            f"environment. Detail: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: refused: the pickle nests containers too deeply to be a checkpoint") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise InputError(f"{path}: not a readable torch checkpoint, corrupt or truncated ({type(exc).__name__}: {exc})") from None
    return _unwrap(obj, path)


def _unwrap(obj: Any, path: Path, depth: int = 0) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        if not all(isinstance(k, str) for k in obj):
            raise InputError(f"{path}: state_dict keys must be strings, found {type(next(k for k in obj if not isinstance(k, str))).__name__}")
        return dict(obj)
    # a wrapper holds the state_dict one or two levels down; a dict that contains itself
    # (a self-referential pickle) would otherwise recurse until Python gives up
    if isinstance(obj, Mapping) and depth < len(_WRAPPERS):
        for key in _WRAPPERS:
            if key in obj and obj[key] is not obj:
                return _unwrap(obj[key], path, depth + 1)
    raise InputError(f"{path}: holds a {type(obj).__name__} without a state_dict of tensors (looked under {list(_WRAPPERS)})")


def strip_prefix(state: Mapping[str, torch.Tensor], *, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Remove DataParallel's ``module.`` prefix when every key has it; a mix is refused."""
    keys = list(state)
    prefixed = [k.startswith(DP_PREFIX) for k in keys]
    if all(prefixed) and keys:
        return {k[len(DP_PREFIX):]: v for k, v in state.items()}
    if any(prefixed):
        example = next(k for k, p in zip(keys, prefixed) if p)
        raise InputError(f"{source}: some keys carry DataParallel's 'module.' prefix ({example!r}) and others do not")
    return dict(state)


def check_state(state: Mapping[str, torch.Tensor], cfg: ModelConfig, *, source: str = "checkpoint") -> None:
    """Refuse missing or unexpected keys and shape mismatches, naming them."""
    want = expected_keys(cfg)
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    bad = [f"{k}: {tuple(state[k].shape)} != {want[k]}" for k in want if k in state and tuple(state[k].shape) != want[k]]
    if bad:
        problems.append(f"{len(bad)} shape mismatch(es) {bad[:5]}")
    if problems:
        raise InputError(f"{source}: does not match the UNet {cfg} (blocks={cfg.blocks}, width={cfg.width}, channels={cfg.channels}): " + "; ".join(problems))


def load_state(net: UNet, state: Mapping[str, torch.Tensor], *, source: str = "checkpoint") -> None:
    """Load ``state`` into ``net`` strictly (prefix removed, keys and shapes checked, float32)."""
    state = strip_prefix(state, source=source)
    check_state(state, net.cfg, source=source)
    for k, v in state.items():
        if not torch.is_floating_point(v):
            raise InputError(f"{source}: tensor {k} has dtype {v.dtype}, expected floating point")
        if not torch.isfinite(v).all():
            raise InputError(f"{source}: tensor {k} holds NaN or infinite values")
    net.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
