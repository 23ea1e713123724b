"""Reader of IDX files (LeCun's MNIST format, also Fashion-MNIST's), gzip-compressed or plain.

Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type MNIST-like data uses),
a byte giving the number of dimensions, then each dimension as a big-endian uint32, then the data
in C order. So an image file of 60,000 28x28 images starts with 0x00000803, 60000, 28, 28 and a
label file with 0x00000801, 60000. Every check names the file: a wrong magic number, dimensions
other than expected, a payload shorter or longer than the header promises, a bad gzip stream, and
(when a value is registered) a SHA-256 of the decompressed content that differs."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import InputError

UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, eq=False)
class IdxArray:
    data: np.ndarray  # uint8, shape = the header's dimensions
    sha256: str  # of the decompressed content (header + payload)
    path: Path


def read_bytes(path: str | os.PathLike) -> bytes:
    """The decompressed content of ``path`` (gzip if it starts with the gzip magic, else as is)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: IDX file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected an IDX file") from None
    if raw[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: corrupt or truncated gzip stream ({exc})") from None
    return raw


def parse_idx(content: bytes, path: str | os.PathLike = "<bytes>", *, ndim: Optional[int] = None,
              shape: Optional[Sequence[Optional[int]]] = None) -> np.ndarray:
    """Parse decompressed IDX ``content``; ``ndim`` and ``shape`` (None entries = any size) are
    checked against the header before any data is read."""
    if len(content) < 4:
        raise InputError(f"{path}: {len(content)} bytes, too short for an IDX header")
    if content[0] != 0 or content[1] != 0:
        raise InputError(f"{path}: bad IDX magic number 0x{content[:4].hex()} (expected 0x000008NN)")
    if content[2] != UBYTE:
        raise InputError(f"{path}: IDX data type 0x{content[2]:02x}, expected 0x08 (unsigned byte)")
    nd = content[3]
    if ndim is not None and nd != ndim:
        raise InputError(f"{path}: IDX magic 0x{content[:4].hex()} says {nd} dimension(s), expected {ndim} (0x0000080{ndim})")
    header = 4 + 4 * nd
    if len(content) < header:
        raise InputError(f"{path}: header promises {nd} dimensions but the file has only {len(content)} bytes")
    dims = tuple(int.from_bytes(content[4 + 4 * k: 8 + 4 * k], "big") for k in range(nd))
    if shape is not None:
        if len(shape) != nd or any(want is not None and want != got for want, got in zip(shape, dims)):
            want = "x".join("?" if s is None else str(s) for s in shape)
            raise InputError(f"{path}: IDX dimensions {'x'.join(map(str, dims))}, expected {want}")
    payload = int(np.prod(dims, dtype=np.int64)) if dims else 1
    have = len(content) - header
    if have != payload:
        raise InputError(f"{path}: header {'x'.join(map(str, dims))} needs {payload} data bytes, the file has {have}"
                         + (" (truncated)" if have < payload else " (trailing bytes)"))
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike, *, ndim: Optional[int] = None, shape: Optional[Sequence[Optional[int]]] = None,
             sha256: Optional[str] = None) -> IdxArray:
    """Read and check one IDX file; ``sha256`` (of the decompressed content) is verified when given."""
    path = Path(path)
    content = read_bytes(path)
    digest = hashlib.sha256(content).hexdigest()
    arr = parse_idx(content, path, ndim=ndim, shape=shape)
    if sha256 is not None and digest != sha256:
        raise InputError(f"{path}: decompressed content has SHA-256 {digest}, registered {sha256} (a different or damaged file)")
    return IdxArray(data=arr, sha256=digest, path=path)


def write_idx(path: str | os.PathLike, data: np.ndarray, *, compress: bool = False) -> Path:
    """Write ``data`` (uint8) as an IDX file (for tests and for users converting their own data)."""
    data = np.ascontiguousarray(data, dtype=np.uint8)
    content = bytes([0, 0, UBYTE, data.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in data.shape) + data.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    return path
