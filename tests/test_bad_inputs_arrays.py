"""Bad ``.npy`` arrays and bad options for ``memgen dedup``: each row is refused with an InputError
(exit code 2 through the CLI) naming the file and what is wrong, before anything is cast or
computed, and nothing in the cache changes. The table is docs/BAD_INPUTS.md's array section."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from bad_input_common import CacheWatch, cache, filled, populated_cache, run_cli  # noqa: F401 (cache, filled: fixtures)
from studies.cli.dedup import load_images
from studies.data.dedup import remove_duplicates
from studies.errors import InputError

RNG = np.random.default_rng(0)
GOOD = RNG.random((4, 1, 20, 20))


def _save(path, arr):
    np.save(path, arr, allow_pickle=True)


def _structured():
    a = np.zeros((4, 1, 20, 20), dtype=[("r", "f4"), ("g", "f4")])
    return a


def _object():
    a = np.empty((4, 1, 20, 20), dtype=object)
    a[...] = 0.5
    return a


def _nan():
    a = GOOD.copy()
    a[2, 0, 3, 3] = np.nan
    return a


def _inf():
    a = GOOD.astype(np.float32)
    a[1, 0, 0, 0] = np.inf
    return a


# (id, writer of the file (path -> None), extra CLI options, error regex)
REFUSED = [
    ("npy-complex", lambda p: _save(p, GOOD.astype(np.complex64)), [], r"dtype complex64 is not a real number type"),
    ("npy-complex128", lambda p: _save(p, GOOD.astype(np.complex128) + 1j), [], r"dtype complex128 is not a real number type"),
    ("npy-string", lambda p: _save(p, np.full((4, 1, 20, 20), "a")), [], r"dtype <U1 is not a real number type"),
    ("npy-bytes", lambda p: _save(p, np.full((4, 1, 20, 20), b"a")), [], r"dtype \|S1 is not a real number type"),
    ("npy-structured", lambda p: _save(p, _structured()), [], r"dtype \[\('r', '<f4'\), \('g', '<f4'\)\] is not a real number type"),
    ("npy-bool", lambda p: _save(p, GOOD > 0.5), [], r"dtype bool is not a real number type"),
    ("npy-object-pickle", lambda p: _save(p, _object()), [], r"not a readable \.npy array \(.*Python objects"),
    ("npy-float64-1e300", lambda p: _save(p, GOOD * 1e300), [], r"finite values beyond float32's range .* first at index 0"),
    ("npy-nan", lambda p: _save(p, _nan()), [], r"NaN or inf values in 1 image\(s\), first at index 2"),
    ("npy-inf", lambda p: _save(p, _inf()), [], r"NaN or inf values in 1 image\(s\), first at index 1"),
    ("npy-3d", lambda p: _save(p, GOOD[:, 0]), [], r"expected shape \(N, C, H, W\), got \(4, 20, 20\)"),
    ("npy-empty", lambda p: _save(p, GOOD[:0]), [], r"the array is empty \(N = 0\)"),
    ("npy-one-image", lambda p: _save(p, GOOD[:1]), [], r"a single image \(N = 1\)"),
    ("npy-16x16", lambda p: _save(p, GOOD[:, :, :16, :16]), [], r"16x16 pixels is smaller than the 20x20 comparison grid"),
    ("npy-no-channels", lambda p: _save(p, GOOD[:, :0]), [], r"no channels"),
    ("npy-truncated", lambda p: (_save(p, GOOD), p.write_bytes(p.read_bytes()[:200])), [], r"not a readable \.npy array"),
    ("npy-not-npy", lambda p: p.write_text("hello"), [], r"not a readable \.npy array"),
    ("npy-wrong-suffix", None, [], r"expected a dataset artifact folder or an \.npy file"),
    ("npy-missing", None, [], r"no such file or folder"),
    ("device-bogus", lambda p: _save(p, GOOD), ["--device", "bogus"], r"device: 'bogus' is not a device"),
    ("device-meta", lambda p: _save(p, GOOD), ["--device", "meta"], r"device: 'meta' is not supported here"),
    ("device-cuda-absent-or-7", lambda p: _save(p, GOOD), ["--device", "cuda:7"], r"device: 'cuda:7' (asked for, but no CUDA GPU is available|does not exist)"),
    ("threshold-1", lambda p: _save(p, GOOD), ["--threshold", "1"], r"threshold: must be a number strictly between 0 and 1"),
    ("threshold-nan", lambda p: _save(p, GOOD), ["--threshold", "nan"], r"threshold: must be a number strictly between 0 and 1"),
    ("block-0", lambda p: _save(p, GOOD), ["--block", "0"], r"block"),
]


def _file(tmp_path, row_id, writer):
    if row_id == "npy-wrong-suffix":
        p = tmp_path / "x.txt"
        p.write_text("1")
        return p
    p = tmp_path / "x.npy"
    if writer is not None:
        writer(p)
    return p


@pytest.mark.parametrize("row", REFUSED, ids=[r[0] for r in REFUSED])
def test_cli_refuses_with_exit_2(row, tmp_path, cache, capsys):
    row_id, writer, options, pattern = row
    path = _file(tmp_path, row_id, writer)
    rc, err = run_cli(["dedup", "--data", path, *options], capsys)
    assert rc == 2 and err.startswith("memgen: error: "), err
    assert str(path) in err or not row_id.startswith("npy-"), "a file's fault names the file"
    assert re.search(pattern, err), err


@pytest.mark.parametrize("row", [r for r in REFUSED if r[1] is not None and not r[2]], ids=lambda r: r[0])
def test_library_refuses(row, tmp_path, cache):
    row_id, writer, _, pattern = row
    path = _file(tmp_path, row_id, writer)
    with pytest.raises(InputError, match=pattern):
        remove_duplicates(load_images(path))


def test_device_is_checked_before_the_images(tmp_path):
    """A bad device is refused even where the images would also be refused (checked first)."""
    with pytest.raises(InputError, match="device: 'bogus'"):
        remove_duplicates(np.zeros((1, 1, 2, 2)), device="bogus")


@pytest.mark.parametrize("dtype", [">f8", ">f4", "uint16", "uint32", "uint64", "int64", "float16"])
def test_accepted_dtypes_give_the_float32_decision(tmp_path, dtype):
    """Byte-swapped, wide unsigned and narrow float arrays are accepted and decided as their float32 values."""
    base = (RNG.random((6, 1, 20, 20)) * 200).round()
    base[3] = base[0]
    path = tmp_path / "x.npy"
    np.save(path, base.astype(dtype))
    assert remove_duplicates(load_images(path)).tolist() == remove_duplicates(base.astype(np.float32)).tolist() == [3]


def test_tensor_input_checks():
    with pytest.raises(InputError, match="not a real number type"):
        remove_duplicates(torch.zeros(4, 1, 20, 20, dtype=torch.complex64))
