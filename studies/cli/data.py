"""``memgen data ...``: facts of a metadata folder, the synthetic generator, dataset artifacts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="CelebA metadata facts, synthetic faces, dataset artifacts")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    sub.required = True

    facts = sub.add_parser("facts", help="counts of a CelebA metadata folder (images, identities, attributes)")
    facts.add_argument("--meta", type=Path, default=None, help="folder with list_attr_celeba.txt and identity_CelebA.txt (default: ../shared/celeba or $MEMGEN_CELEBA_META)")
    facts.add_argument("--fashion", nargs="?", const="", default=None, metavar="DIR",
                       help="counts of Fashion-MNIST instead (DIR: the folder of the four IDX files; default: $MEMGEN_FASHION_DIR, "
                            "/usr/share/datasets/fashion-mnist, or the copy scripts/setup.sh unpacked into the cache)")
    facts.add_argument("--json", action="store_true", help="print JSON")
    facts.set_defaults(func=_facts)

    synth = sub.add_parser("synth", help="write synthetic CelebA-like faces in the CelebA layout")
    synth.add_argument("--out", type=Path, required=True, help="output folder (created; must not exist or be empty)")
    synth.add_argument("--identities", type=int, default=400)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--duplicate-rate", type=float, default=None, help="share of images planted as near-duplicates")
    for knob in ("pose", "expression", "lighting", "texture"):
        synth.add_argument(f"--{knob}", type=float, default=None, help=f"{knob} variation scale (1 = default)")
    synth.set_defaults(func=_synth)

    build = sub.add_parser("build", help="build (or find in the cache) a dataset artifact; prints its folder")
    src = build.add_mutually_exclusive_group()
    src.add_argument("--celeba", type=Path, default=None, help="CelebA-layout folder (img_align_celeba/ + metadata)")
    src.add_argument("--synthetic", action="store_true", help="the embedded synthetic faces (default when --celeba is absent)")
    build.add_argument("--res", type=int, required=True, help="output resolution R (R x R)")
    build.add_argument("--color", action="store_true", help="keep RGB instead of grayscale")
    build.add_argument("--order", type=Path, default=None, help="order file, one filename per line")
    build.add_argument("--order-seed", type=int, default=0, help="seed of the permutation of the sorted names; -1 keeps sorted order")
    build.add_argument("--limit", type=int, default=None)
    build.add_argument("--dedup", default=None, help="dedup method (exact, dense, blockwise_published, blockwise_repository)")
    build.add_argument("--dedup-threshold", type=float, default=0.95)
    build.add_argument("--identities", type=int, default=400, help="synthetic: identity count")
    build.add_argument("--seed", type=int, default=0, help="synthetic: generator seed")
    build.add_argument("--skip-bad", action="store_true", help="leave unreadable images out and record them in the manifest")
    build.add_argument("--json", action="store_true", help="print the manifest summary as JSON")
    build.set_defaults(func=_build)


def _facts(args: argparse.Namespace) -> int:
    from ..data.celeba import default_meta_dir
    from ..data.facts import compute_facts

    if args.fashion is not None:
        return _fashion_facts(args)
    meta = args.meta if args.meta is not None else default_meta_dir()
    if meta is None:
        raise InputError("no metadata folder: pass --meta DIR (or set MEMGEN_CELEBA_META)")
    facts = compute_facts(meta)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        ipi = facts["images_per_identity"]
        print(f"images: {facts['images']}")
        print(f"identities: {facts['identities']} (images per identity: min {ipi['min']}, mean {ipi['mean']:.2f}, max {ipi['max']})")
        for name, c in facts["attributes"].items():
            print(f"  {name:<20} {c['pos']:>7} yes {c['neg']:>7} no")
    return 0


def _fashion_facts(args: argparse.Namespace) -> int:
    from ..data.fashion import facts, load_fashion

    f = facts(load_fashion(args.fashion or None))
    if args.json:
        print(json.dumps(f, indent=2))
    else:
        print(f"Fashion-MNIST from {f['source']}: {f['train_images']} training / {f['test_images']} test images, {f['resolution'][0]}x{f['resolution'][1]}")
        for name in f["train_per_class"]:
            print(f"  {name:<12} {f['train_per_class'][name]:>6} train {f['test_per_class'][name]:>6} test")
        print(f"content verified against the registered SHA-256 ({f['registered']})")
    return 0


def _synth(args: argparse.Namespace) -> int:
    import dataclasses

    from ..config import SynthConfig
    from ..data.synth import generate

    extra = {k: getattr(args, k) for k in ("duplicate_rate", "pose", "expression", "lighting", "texture") if getattr(args, k) is not None}
    cfg = dataclasses.replace(SynthConfig(identities=args.identities, seed=args.seed), **extra)
    out = generate(args.out, cfg)
    print(out)
    return 0


def _build(args: argparse.Namespace) -> int:
    import logging

    from ..config import DataConfig, SynthConfig

    # a rebuilt (corrupted) or skipped-file artifact must be visible to the user
    logging.basicConfig(level=logging.INFO, format="memgen: %(message)s")
    from ..data.dataset import build_dataset

    if args.dedup is not None:
        args.dedup = args.dedup.replace("-", "_")  # the dedup command's spelling (blockwise-published) too
    if args.celeba is not None:
        cfg = DataConfig(source="celeba", resolution=args.res, grayscale=not args.color, synth=None,
                         order_seed=None if args.order_seed < 0 else args.order_seed, limit=args.limit,
                         dedup=args.dedup, dedup_threshold=args.dedup_threshold)
    else:
        cfg = DataConfig(source="synthetic", resolution=args.res, grayscale=not args.color,
                         synth=SynthConfig(identities=args.identities, seed=args.seed),
                         order_seed=None if args.order_seed < 0 else args.order_seed, limit=args.limit,
                         dedup=args.dedup, dedup_threshold=args.dedup_threshold)
    ds = build_dataset(cfg, args.celeba, order_file=args.order, skip_bad=args.skip_bad)
    if args.json:
        m = ds.manifest
        print(json.dumps({"path": str(ds.path), "config_hash": m["config_hash"], "images": len(ds.names),
                          "shape": list(ds.images.shape), "sha256": m["sha256"], "source": m["source"],
                          "skipped": m.get("skipped", []), "dedup": m.get("dedup")}, indent=2))
    else:
        print(ds.path)
    return 0
