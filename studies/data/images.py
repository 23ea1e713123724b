"""Aligned CelebA JPEG -> float32 tensor, exactly as SPEC §1: crop rows 29..-29 and columns 9..-9
(160x160), PIL bicubic resize to R x R, scale to [0, 1], then grayscale = unweighted mean of R, G, B
(after the resize). The folder preprocessor streams: one full-resolution image in memory at a time,
outputs written into a preallocated (possibly memory-mapped) array."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from PIL import Image

from ..errors import InputError

ALIGNED_SIZE = (178, 218)  # PIL (width, height) of a CelebA aligned image
CROP_BOX = (9, 29, 178 - 9, 218 - 29)  # (left, upper, right, lower): rows 29..-29, cols 9..-9 -> 160x160


def _decode(path: Path) -> Image.Image:
    """Open and fully decode one aligned image; any unreadable or truncated file is named."""
    try:
        with Image.open(path) as im:
            if im.size != ALIGNED_SIZE:
                raise InputError(f"{path}: image is {im.size[0]}x{im.size[1]} (width x height), expected 178x218 (aligned CelebA)")
            if im.mode in ("I", "F") or im.mode.startswith("I;16"):
                # converting to 8-bit RGB would clip these values silently
                raise InputError(f"{path}: {im.mode} pixels (more than 8 bits per channel); expected an 8-bit RGB or grayscale image")
            # load() inside the with-block: PIL decodes lazily and raises on a truncated stream here
            im.load()
            return im.convert("RGB") if im.mode != "RGB" else im.copy()
    except FileNotFoundError:
        raise InputError(f"{path}: image file not found") from None
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: unreadable or truncated image ({exc})") from None


def to_array(im: Image.Image, resolution: int, grayscale: bool = True) -> np.ndarray:
    """A decoded 178x218 RGB image -> float32 (C, R, R) in [0, 1]."""
    small = im.crop(CROP_BOX).resize((resolution, resolution), Image.Resampling.BICUBIC)
    x = np.asarray(small, dtype=np.float32) / np.float32(255.0)  # (R, R, 3)
    if grayscale:
        return x.mean(axis=2, dtype=np.float32)[None]
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def load_image(path: str | os.PathLike, resolution: int, grayscale: bool = True) -> np.ndarray:
    """One aligned CelebA JPEG as float32 (C, R, R): C = 1 (gray) or 3."""
    if not 1 <= resolution <= 160:
        raise InputError(f"resolution must be in [1, 160], got {resolution}")
    return to_array(_decode(Path(path)), resolution, grayscale)


def preprocess_files(
    paths: Sequence[str | os.PathLike],
    resolution: int,
    *,
    grayscale: bool = True,
    out: Optional[np.ndarray] = None,
    skip_bad: bool = False,
    progress: Optional[Callable[[int, int], None]] = None,
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Preprocess ``paths`` in order into ``out`` (allocated if None; may be a memmap), one image in
    memory at a time. Returns (the array of the kept images, [(path, reason)] of skipped files).

    Without ``skip_bad`` the first bad file raises InputError naming it. With it, bad files are
    left out and the kept images are packed to the front of ``out``; the returned array is the
    prefix ``out[:kept]``."""
    channels = 1 if grayscale else 3
    shape = (len(paths), channels, resolution, resolution)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise InputError(f"output array has shape {out.shape} {out.dtype}, expected {shape} float32")
    skipped: list[tuple[str, str]] = []
    k = 0
    for i, p in enumerate(paths):
        try:
            out[k] = load_image(p, resolution, grayscale)
        except InputError as exc:
            if not skip_bad:
                raise
            skipped.append((str(p), str(exc)))
            continue
        k += 1
        if progress is not None:
            progress(i + 1, len(paths))
    return out[:k], skipped
