"""``memgen split ...``: make a split artifact, audit what two groups share."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("split", help="training groups A/B: make a split, audit what two groups share")
    sub = parser.add_subparsers(dest="split_command", metavar="ACTION")
    sub.required = True

    audit = sub.add_parser("audit", help="names, identities, attribute purity (and, with --data, pixels) shared by groups A and B")
    audit.add_argument("--meta", type=Path, default=None, help="folder with list_attr_celeba.txt and identity_CelebA.txt (default: ../shared/celeba or $MEMGEN_CELEBA_META)")
    audit.add_argument("--a", type=Path, required=True, help="group A: text file, one filename per line, or a split artifact (JSON)")
    audit.add_argument("--b", type=Path, default=None, help="group B: text file or split artifact (default: group B of the split artifact given as --a)")
    audit.add_argument("--attribute", default=None, help="attribute whose purity and positives to report (e.g. Eyeglasses)")
    audit.add_argument("--data", type=Path, default=None, help="dataset artifact folder (images.npy + manifest.json) for pixel and near-duplicate overlap")
    audit.add_argument("--threshold", type=float, default=0.95, help="near-duplicate |corr| threshold (default 0.95)")
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(func=_audit)

    make = sub.add_parser("make", help="make a split artifact (JSON) from the metadata and a dataset order")
    make.add_argument("--meta", type=Path, default=None, help="CelebA metadata folder (default: ../shared/celeba or $MEMGEN_CELEBA_META)")
    src = make.add_mutually_exclusive_group()
    src.add_argument("--order", type=Path, default=None, help="dataset order file (one filename per line)")
    src.add_argument("--order-seed", type=int, default=0, help="seeded permutation of the sorted metadata names (default 0; -1 = sorted)")
    make.add_argument("--protocol", choices=("random", "attribute", "identity"), required=True)
    make.add_argument("--attribute", default=None, help="attribute name (protocol attribute)")
    make.add_argument("--variant", choices=("code", "text"), default="code", help="random split: B = last N (code) or N+1..2N (text)")
    make.add_argument("--n", type=int, required=True, help="images per group (capped at what is available, and recorded)")
    make.add_argument("--strict", action="store_true", help="refuse an N above what is available instead of capping it")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--exposure", choices=("tile", "exact"), default="tile")
    make.add_argument("--n-total", type=int, default=100_000, help="training samples the exposure aims at")
    make.add_argument("--identity-tolerance", type=float, default=0.01)
    make.add_argument("--out", type=Path, required=True, help="split artifact to write (JSON)")
    make.add_argument("--orders", type=Path, default=None, help="folder to write each side's order to (side_a.txt, side_b.txt)")
    make.set_defaults(func=_make)


def _meta_dir(arg):
    from ..data.celeba import default_meta_dir

    meta = arg if arg is not None else default_meta_dir()
    if meta is None:
        raise InputError("no metadata folder: pass --meta DIR (or set MEMGEN_CELEBA_META)")
    return meta


def _audit(args: argparse.Namespace) -> int:
    from ..data.audit import audit, is_split_artifact, load_images_for, read_group
    from ..data.celeba import read_metadata

    names_a = read_group(args.a, "a")
    if args.b is None:
        if not is_split_artifact(args.a):
            raise InputError(f"--b is required when --a ({args.a}) is a list of names, not a split artifact")
        names_b = read_group(args.a, "b")
    else:
        names_b = read_group(args.b, "b")
    meta = read_metadata(_meta_dir(args.meta))
    images_a = images_b = None
    if args.data is not None:
        images_a, images_b = load_images_for(args.data, names_a, names_b)
    report = audit(names_a, names_b, meta, attribute=args.attribute, images_a=images_a, images_b=images_b,
                   threshold=args.threshold)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"A: {report['n_a']} images   B: {report['n_b']} images")
    print(f"names in both: {report['overlap_names']}")
    if report["shared_identities"] is None:
        print("identities: none in this data (no identity file)")
    else:
        print(f"shared identities: {report['shared_identities']}")
        print(f"B images whose identity is in A: {report['frac_b_identity_in_a']:.4f}")
        print(f"A images whose identity is in B: {report['frac_a_identity_in_b']:.4f}")
    if "attribute" in report:
        at = report["attribute"]
        print(f"{at['name']}: purity A {at['purity_a']:.4f} ({at['positives_a']} positive), "
              f"purity B {at['purity_b']:.4f} ({at['positives_b']} positive)")
    if "overlap_content" in report:
        print(f"pairs with identical pixels: {report['overlap_content']}")
        print(f"near-duplicate pairs (|corr| > {report['near_duplicate_threshold']}): {report['near_duplicate_pairs']}")
    return 0


def _make(args: argparse.Namespace) -> int:
    from ..config import SplitConfig
    from ..data.celeba import read_metadata, read_order
    from ..data.splits import make_split, save_split, seeded_order

    from ..cache import ensure_dir

    # where the outputs go is checked first, so a bad --orders does not follow a written --out
    if args.out.is_dir():
        raise InputError(f"--out {args.out}: is a folder; give the split artifact's file name")
    ensure_dir(args.out.parent, f"--out {args.out}")
    if args.orders is not None:
        ensure_dir(args.orders, f"--orders {args.orders}")
    meta = read_metadata(_meta_dir(args.meta))
    if args.order is not None:
        names = read_order(args.order, known=meta.index)
    else:
        names = seeded_order(meta.filenames, None if args.order_seed < 0 else args.order_seed)
    cfg = SplitConfig(protocol=args.protocol, variant=args.variant, attribute=args.attribute, seed=args.seed,
                      exposure=args.exposure, n_total=args.n_total, identity_tolerance=args.identity_tolerance)
    split = make_split(cfg, args.n, names=names, meta=meta, strict=args.strict)
    save_split(split, args.out)
    if args.orders is not None:
        split.write_orders(args.orders, names)
    cap = f" (capped from {split.n_requested}; {split.available} available)" if split.capped else ""
    print(f"{args.out}: {split.protocol}, N = {split.n}{cap}, {split.exposure_a.copies} copies, {split.exposure_a.samples} samples per group")
    return 0

