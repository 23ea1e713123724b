"""Dataset sources other than a CelebA-layout JPEG folder: Fashion-MNIST (``DataConfig.source =
"fashion"``) and a user's images (``"array"``: a ``.npy`` array or a folder of PNG/JPEG files, with an
optional labels CSV).

Each is turned into what the CelebA code expects: a metadata folder in the CelebA layout (an
attribute file; an identity file, or the ``NO_IDENTITIES`` mark when the data has none) whose names
are the dataset's names, plus the pixels. ``source_info`` returns the source record the dataset
artifact is keyed and described by (content hashes, not paths); ``fill_images`` writes the pixels of
the ordered names into the artifact's array.

A user's input
- array: ``(N, H, W)`` or ``(N, C, H, W)`` with C in {1, 3}, square, uint8 (0..255) or float in [0, 1];
  names ``img-000000`` .. in row order.
- image folder: every ``.png``/``.jpg``/``.jpeg`` file (sorted by name), decoded with PIL, converted to
  grayscale (unweighted mean of R, G, B, as CelebA) or RGB, all of one square size; names = file names.
- labels CSV (optional): a header whose first column is ``filename`` (image folder) or ``index`` (array
  row), then attribute columns with values in {0, 1}, {-1, 1}, {false, true} or {no, yes}, and
  optionally an ``identity`` column of integers. Every image needs exactly one row. Without the CSV
  (or without an identity column) the claims that need the field are reported not applicable."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from filelock import FileLock

from ..cache import atomic_dir, cache_root, sha256_file
from ..config import DataConfig
from ..errors import InputError
from .celeba import ATTR_FILE, IDENTITY_FILE, NO_IDENTITY_MARK

# where `memgen verdict --array/--images/--labels` puts the user's images for the pytest process (profile "user")
USER_IMAGES_ENV = "MEMGEN_USER_IMAGES"
USER_LABELS_ENV = "MEMGEN_USER_LABELS"

PIXELS_FILE = "pixels.npy"
INFO_FILE = "source.json"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IDENTITY_COLUMN = "identity"
# the CelebA attribute file needs at least one column: data without labels gets this one, all -1
NO_ATTRIBUTES = "No_attributes"
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "-1", "false", "no"}
ARRAY_FORMAT = 1


@dataclass(frozen=True)
class UserImages:
    """A user's images: ``path`` is a .npy file or a folder of PNG/JPEG files; ``labels`` a CSV or None."""

    path: Path
    labels: Optional[Path] = None


def source_info(cfg: DataConfig, where) -> dict:
    if cfg.source == "fashion":
        from .fashion import load_fashion, meta_dir

        data = load_fashion(where)
        return {"kind": "fashion", "folder": str(meta_dir(data)), "fashion_dir": str(data.folder), "sha256_decompressed": data.sha256}
    if where is None:  # memgen verdict --array / --images hands the path to pytest's processes this way

        if not os.environ.get(USER_IMAGES_ENV):
            raise InputError(f"DataConfig.source is 'array': pass the images (memgen verdict --array FILE.npy or --images DIR, or ${USER_IMAGES_ENV})")
        labels = os.environ.get(USER_LABELS_ENV) or None
        where = UserImages(Path(os.environ[USER_IMAGES_ENV]), None if labels is None else Path(labels))
    user = where if isinstance(where, UserImages) else UserImages(Path(where))
    folder, info = prepare_user_images(user)
    return {"kind": "array", "folder": str(folder), "input": info["input"], "input_sha256": info["input_sha256"],
            "labels": info["labels"], "labels_sha256": info["labels_sha256"]}


def fill_images(cfg: DataConfig, source: dict, names: list[str], out: np.ndarray) -> np.ndarray:
    """Write the pixels of ``names`` (dataset order) into ``out`` (N, C, R, R) float32 in [0, 1]."""
    if cfg.source == "fashion":
        from .fashion import load_fashion, to_float

        if not cfg.grayscale:
            raise InputError("Fashion-MNIST is grayscale: DataConfig.grayscale must be True")
        data = load_fashion(source["fashion_dir"])
        rows = np.fromiter((int(n.split("-")[1]) for n in names), dtype=np.int64, count=len(names))
        for lo in range(0, len(rows), 8192):
            out[lo: lo + 8192] = to_float(data.train_images[rows[lo: lo + 8192]], cfg.resolution)
        return out
    folder = Path(source["folder"])
    pixels = np.load(folder / PIXELS_FILE, mmap_mode="r")
    index = {n: i for i, n in enumerate(json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))["names"])}
    rows = np.fromiter((index[n] for n in names), dtype=np.int64, count=len(names))
    channels = 1 if cfg.grayscale else 3
    for lo in range(0, len(rows), 4096):
        out[lo: lo + 4096] = _to_float(np.asarray(pixels[rows[lo: lo + 4096]]), cfg.resolution, channels)
    return out


def fill_heldout(cfg: DataConfig, source: dict, path: Path) -> Optional[dict]:
    """Write the source's own held-out images to ``path`` (float32 N, C, R, R) and return their
    record, or None when the source has none (a user's images: the held-out set of a model is then
    the other group's training images, as for CelebA). Fashion-MNIST's held-out set is its 10,000
    test images, which no split draws from."""
    if cfg.source != "fashion":
        return None
    from .fashion import TEST_IMAGES, load_fashion, test_names, to_float

    data = load_fashion(source["fashion_dir"])
    held = to_float(data.test_images, cfg.resolution)
    np.save(path, np.ascontiguousarray(held, dtype=np.float32))
    return {"source": TEST_IMAGES, "sha256_decompressed": data.sha256[TEST_IMAGES], "shape": list(held.shape),
            "names": f"{test_names(1)[0]} .. {test_names(len(held))[-1]} (index order of the file)"}


def _to_float(x: np.ndarray, resolution: int, channels: int) -> np.ndarray:
    """(n, C, H, W) uint8 or float -> float32 (n, channels, R, R) in [0, 1]; grayscale = mean of RGB."""
    x = x.astype(np.float32) / np.float32(255.0) if x.dtype == np.uint8 else x.astype(np.float32)
    if x.shape[1] == 3 and channels == 1:
        x = x.mean(axis=1, keepdims=True, dtype=np.float32)
    elif x.shape[1] == 1 and channels == 3:
        x = np.repeat(x, 3, axis=1)
    if x.shape[-1] != resolution:
        import torch
        import torch.nn.functional as F

        x = F.interpolate(torch.from_numpy(x), size=(resolution, resolution), mode="bicubic", align_corners=False).clamp_(0, 1).numpy()
    return x


# ---------------------------------------------------------------------------------------------
# a user's images -> canonical cached folder


def load_user_array(path: Path) -> np.ndarray:
    """A user's .npy as (N, C, H, W), checked: dims, channels, square, dtype and range."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: array file not found") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise InputError(f"{path}: array of shape {arr.shape}; expected (N, H, W) or (N, C, H, W)")
    n, c, h, w = arr.shape
    if c not in (1, 3):
        raise InputError(f"{path}: {c} channels (shape {arr.shape}); expected 1 or 3 (channels first)")
    if h != w:
        raise InputError(f"{path}: images are {h}x{w}; memgen needs square images")
    if n < 2:
        raise InputError(f"{path}: {n} image(s); a study needs at least 2")
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"{path}: dtype {arr.dtype}; expected uint8 (0..255) or float in [0, 1]")
    if not np.isfinite(arr).all():
        raise InputError(f"{path}: array holds NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise InputError(f"{path}: float values span [{lo:.4g}, {hi:.4g}]; expected [0, 1] (scale uint8 data by 1/255 or pass it as uint8)")
    return arr


def load_image_folder(folder: Path, grayscale: bool = True) -> tuple[np.ndarray, list[str]]:
    """Every PNG/JPEG of ``folder`` (sorted), uint8 (N, C, H, W); one size for all, square."""
    from PIL import Image

    if not folder.is_dir():
        raise InputError(f"{folder}: image folder not found")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise InputError(f"{folder}: {len(files)} PNG/JPEG file(s); a study needs at least 2")
    out, size = [], None
    for p in files:
        try:
            with Image.open(p) as im:
                im.load()
                rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise InputError(f"{p}: unreadable or truncated image ({exc})") from None
        if size is None:
            size = rgb.shape[:2]
            if size[0] != size[1]:
                raise InputError(f"{p}: image is {size[1]}x{size[0]}; memgen needs square images")
        elif rgb.shape[:2] != size:
            raise InputError(f"{p}: image is {rgb.shape[1]}x{rgb.shape[0]}, the first ({files[0].name}) is {size[1]}x{size[0]}")
        x = rgb.mean(axis=2, keepdims=True) if grayscale else rgb
        out.append(np.clip(np.rint(x), 0, 255).astype(np.uint8).transpose(2, 0, 1))
    return np.stack(out), [p.name for p in files]


def _flag(path: Path, line: int, column: str, value: str) -> int:
    v = value.strip().lower()
    if v in _TRUE:
        return 1
    if v in _FALSE:
        return -1
    raise InputError(f"{path}:{line}: value {value!r} of attribute {column} is not 0/1, -1/1, true/false or yes/no")


def read_labels(path: Path, names: list[str], by: str) -> tuple[list[str], np.ndarray, Optional[np.ndarray]]:
    """(attribute names, int8 values (N, K) aligned with ``names``, identity int64 or None)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: labels file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 ({exc})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError(f"{path}: empty labels file")
    header = [h.strip() for h in rows[0]]
    if not header or header[0] != by:
        raise InputError(f"{path}:1: first column must be {by!r} ({'row of the array' if by == 'index' else 'image file name'}), got {header[:1]}")
    cols = header[1:]
    if len(set(cols)) != len(cols):
        raise InputError(f"{path}:1: repeated column names {cols}")
    attr_cols = [c for c in cols if c != IDENTITY_COLUMN]
    for c in attr_cols:
        if not c or not c.replace("_", "").isalnum():
            raise InputError(f"{path}:1: attribute name {c!r} must be letters, digits and underscores")
    position = {n: i for i, n in enumerate(names)}
    values = np.zeros((len(names), len(attr_cols)), dtype=np.int8)
    identity = np.full(len(names), -1, dtype=np.int64) if IDENTITY_COLUMN in cols else None
    seen = np.zeros(len(names), dtype=bool)
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not v.strip() for v in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
        key = row[0].strip()
        if by == "index":
            try:
                i = int(key)
            except ValueError:
                raise InputError(f"{path}:{line}: index {key!r} is not an integer") from None
            if not 0 <= i < len(names):
                raise InputError(f"{path}:{line}: index {i} outside 0..{len(names) - 1}")
        else:
            if key not in position:
                raise InputError(f"{path}:{line}: file {key!r} is not an image of the folder")
            i = position[key]
        if seen[i]:
            raise InputError(f"{path}:{line}: {by} {key} repeated")
        seen[i] = True
        k = 0
        for c, v in zip(cols, row[1:]):
            if c == IDENTITY_COLUMN:
                try:
                    identity[i] = int(v)
                except ValueError:
                    raise InputError(f"{path}:{line}: identity {v!r} is not an integer") from None
            else:
                values[i, k] = _flag(path, line, c, v)
                k += 1
    if not seen.all():
        missing = [names[i] if by == "filename" else str(i) for i in np.flatnonzero(~seen)[:5]]
        raise InputError(f"{path}: {int((~seen).sum())} image(s) have no row, e.g. {by} {', '.join(missing)}")
    return attr_cols, values, identity


def prepare_user_images(user: UserImages) -> tuple[Path, dict]:
    """The canonical cached folder of a user's images: ``pixels.npy`` (uint8 or float32 N,C,H,W),
    ``source.json`` (names, input and hashes) and the CelebA-layout metadata. Keyed by the SHA-256 of
    the input (the .npy file, or every image file's name and bytes) and of the labels CSV."""
    path = Path(user.path).expanduser().resolve()
    labels = None if user.labels is None else Path(user.labels).expanduser().resolve()
    if path.is_dir():
        h = hashlib.sha256()
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        for p in files:
            h.update(p.name.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(sha256_file(p)))
        input_sha, kind = h.hexdigest(), "images"
    elif path.is_file():
        input_sha, kind = sha256_file(path), "array"
    else:
        raise InputError(f"{path}: neither a .npy file nor an image folder")
    labels_sha = None if labels is None else (sha256_file(labels) if labels.is_file() else None)
    if labels is not None and labels_sha is None:
        raise InputError(f"{labels}: labels file not found")
    key = hashlib.sha256(json.dumps([ARRAY_FORMAT, kind, input_sha, labels_sha]).encode()).hexdigest()[:16]
    folder = cache_root() / "user-images" / key
    with FileLock(str(folder) + ".lock"):
        if not (folder / INFO_FILE).is_file():
            if kind == "images":
                pixels, names = load_image_folder(path)
            else:
                pixels = load_user_array(path)
                names = [f"img-{i:06d}" for i in range(pixels.shape[0])]
            if labels is not None:
                attr_names, values, identity = read_labels(labels, names, "filename" if kind == "images" else "index")
            else:
                attr_names, values, identity = [], np.zeros((len(names), 0), dtype=np.int8), None
            if not attr_names:
                attr_names, values = [NO_ATTRIBUTES], np.full((len(names), 1), -1, dtype=np.int8)
            from .fashion import write_attribute_file

            with atomic_dir(folder) as tmp:
                np.save(tmp / PIXELS_FILE, np.ascontiguousarray(pixels if pixels.dtype == np.uint8 else pixels.astype(np.float32)))
                write_attribute_file(tmp / ATTR_FILE, names, attr_names, values)
                if identity is None:
                    (tmp / NO_IDENTITY_MARK).write_text("the user's data has no identity column\n", encoding="utf-8")
                else:
                    (tmp / IDENTITY_FILE).write_text("".join(f"{n} {int(i)}\n" for n, i in zip(names, identity)), encoding="utf-8")
                info = {"format": ARRAY_FORMAT, "kind": kind, "input": str(path), "input_sha256": input_sha,
                        "labels": None if labels is None else str(labels), "labels_sha256": labels_sha,
                        "names": names, "attributes": [a for a in attr_names if a != NO_ATTRIBUTES],
                        "identity": identity is not None, "shape": list(pixels.shape)}
                (tmp / INFO_FILE).write_text(json.dumps(info) + "\n", encoding="utf-8")
    info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    return folder, info


def user_fields(folder: str | os.PathLike) -> dict:
    """What a user's data carries: ``{"attributes": [...], "identity": bool, "shape": [...]}``."""
    info = json.loads((Path(folder) / INFO_FILE).read_text(encoding="utf-8"))
    return {"attributes": info["attributes"], "identity": info["identity"], "shape": info["shape"]}
