"""``memgen dedup``: near-duplicate removal on a dataset artifact or an .npy array, and
``memgen dedup compare`` to find the first image on which two methods disagree."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import InputError

CLI_METHODS = ("exact", "dense", "blockwise-published", "blockwise-repository")


def _method(name: str) -> str:
    key = name.replace("-", "_")
    from ..data.dedup import METHODS

    if key not in METHODS:
        raise argparse.ArgumentTypeError(f"unknown method {name!r}; choose one of {', '.join(CLI_METHODS)}")
    return key


def _common(p: argparse.ArgumentParser, *, required: bool) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--data", type=Path, default=None, help="dataset artifact folder (images.npy + manifest.json) or an .npy array (N, C, H, W)")
    src.add_argument("--fashion", nargs="?", const="", default=None, metavar="DIR",
                     help="Fashion-MNIST's 60,000 training images in file order (DIR: the IDX files; default: where setup.sh put them)")
    p.add_argument("--pool", choices=("literal", "adaptive"), default="literal",
                   help="literal (default): SPEC §2's kernel = H // 20, 1 at 28x28 (784-d comparison); adaptive: average-pool to 20x20 first")
    p.add_argument("--block", type=int, default=5000, help="block size b of the blockwise methods (default 5000)")
    p.add_argument("--threshold", type=float, default=0.95, help="|correlation| above which a pair is a duplicate (default 0.95)")
    p.add_argument("--device", default=None, help="device of the exact engine (default: CUDA when present)")
    p.add_argument("--json", action="store_true", help="print JSON")


def register(subparsers) -> None:
    parser = subparsers.add_parser("dedup", help="near-duplicate removal (SPEC §2): dense, blockwise listings, exact engine")
    _common(parser, required=False)
    parser.add_argument("--method", type=_method, default="exact", metavar="{" + ",".join(CLI_METHODS) + "}", help="default exact")
    parser.add_argument("--heldout", action="store_true",
                        help="with --fashion: count the 10,000 test images that have a near-duplicate among the training images instead")
    parser.set_defaults(func=_run)
    sub = parser.add_subparsers(dest="dedup_command", metavar="ACTION")
    sub.required = False
    compare = sub.add_parser("compare", help="the first image two methods decide differently, or that they agree")
    _common(compare, required=True)
    compare.add_argument("--a", type=_method, required=True, metavar="M1")
    compare.add_argument("--b", type=_method, required=True, metavar="M2")
    compare.set_defaults(func=_compare)


def load_images(path: Path) -> np.ndarray:
    """(N, C, H, W) array from a dataset artifact folder (hash-checked) or an .npy file."""
    if path.is_dir():
        from ..data.dataset import load_dataset

        return load_dataset(path).images.numpy()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix != ".npy":
        raise InputError(f"{path}: expected a dataset artifact folder or an .npy file")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None
    if arr.ndim != 4:
        raise InputError(f"{path}: expected shape (N, C, H, W), got {arr.shape}")
    # checked, not cast: a complex array would lose its imaginary part and a string one fail in numpy
    if arr.dtype.names is not None or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{path}: dtype {arr.dtype} is not a real number type (expected float or integer pixels)")
    return arr


def _check_device(args) -> None:
    from ..data.dedup import _device

    if args.device is not None:
        _device(args.device)


def _remove(images, args, method):
    from ..data.dedup import remove_duplicates

    try:
        return remove_duplicates(images, method=method, threshold=args.threshold, block=args.block, device=args.device, pool=args.pool)
    except InputError as exc:
        raise InputError(f"{args.data or 'Fashion-MNIST training images'}: {exc}") from None


def _images(args: argparse.Namespace) -> np.ndarray:
    if args.fashion is not None:
        from ..data.fashion import load_fashion, to_float

        return to_float(load_fashion(args.fashion or None).train_images)
    if args.data is None:
        raise InputError("memgen dedup: --data PATH or --fashion [DIR] is required")
    return load_images(args.data)


def _heldout(args: argparse.Namespace) -> int:
    from ..data.audit import heldout_duplicates
    from ..data.dedup_measure import measure
    from ..data.fashion import load_fashion, to_float

    if args.fashion is None:
        raise InputError("memgen dedup --heldout needs --fashion [DIR] (the held-out set is Fashion-MNIST's test images)")
    data = load_fashion(args.fashion or None)
    m = measure(lambda: heldout_duplicates(to_float(data.train_images), to_float(data.test_images), args.threshold, pool=args.pool))
    out = {**m.value, "seconds": round(m.seconds, 2)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['heldout_with_training_duplicate']} of {out['heldout']} test images have a near-duplicate among the "
              f"{out['train']} training images (|corr| > {args.threshold}, {args.pool} pooling; {out['pairs']} pairs) in {m.seconds:.1f} s")
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..data.dedup_measure import measure

    if args.heldout:
        return _heldout(args)
    _check_device(args)
    images = _images(args)
    m = measure(lambda: _remove(images, args, args.method))
    removed = m.value
    out = {"method": args.method.replace("_", "-"), "pool": args.pool, "n_in": int(images.shape[0]), "n_removed": int(removed.size),
           "removed": removed.tolist(), "seconds": round(m.seconds, 4), "peak_bytes": int(m.peak_bytes)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['method']}: removed {out['n_removed']} of {out['n_in']} images in {m.seconds:.2f} s "
              f"(peak {m.peak_bytes / 2**20:.1f} MiB above the input); {out['n_in'] - out['n_removed']} kept")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ..data.dedup import first_disagreement, witness

    _check_device(args)
    images = _images(args)
    if args.pool == "adaptive":  # pool once, so that the witness below judges the same features
        import torch

        from ..data.dedup import _pool_first

        images, args.pool = _pool_first(torch.from_numpy(np.ascontiguousarray(images)), "adaptive").numpy(), "literal"
    ra, rb = _remove(images, args, args.a), _remove(images, args, args.b)
    i = first_disagreement(ra, rb)
    a, b = args.a.replace("_", "-"), args.b.replace("_", "-")
    if i is None:
        result = {"agree": True, "a": a, "b": b, "n_removed": int(ra.size)}
        text = f"{a} and {b} agree: both remove the same {ra.size} images"
    else:
        who = a if i in set(ra.tolist()) else b
        w = witness(images, i, args.threshold)
        pair = None if w is None else {"j": w[0], "i": i, "corr": w[1]}
        result = {"agree": False, "a": a, "b": b, "index": i, "removed_by": who, "dense_pair": pair,
                  "only_a": int(np.setdiff1d(ra, rb).size), "only_b": int(np.setdiff1d(rb, ra).size)}
        why = (f"under the dense rule it duplicates image {w[0]} (corr {w[1]:+.4f})" if w
               else "under the dense rule it has no earlier duplicate")
        text = f"first disagreement at image {i}: removed only by {who}; {why}"
    print(json.dumps(result) if args.json else text)
    return 0
