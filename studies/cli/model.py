"""``memgen model ...``: parameter counts of the K24 UNet, inspection of a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("model", help="the bias-free UNet: parameter counts, checkpoint checks")
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION")
    sub.required = True

    params = sub.add_parser("params", help="print the number of trainable parameters of a UNet")
    _arch_args(params)
    params.add_argument("--resolution", type=int, default=None, help="also check that the UNet fits images of this side")
    params.set_defaults(func=_params)

    check = sub.add_parser("check", help="load a checkpoint strictly (safetensors, or .pt with weights_only=True)")
    check.add_argument("path", type=Path)
    _arch_args(check, required=False)
    check.set_defaults(func=_check)


def _arch_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--blocks", type=int, required=required, default=None, help="encoder/decoder blocks B")
    p.add_argument("--width", type=int, default=64, help="base width K (default 64)")
    p.add_argument("--channels", type=int, default=1, help="image channels C (default 1)")
    p.add_argument("--kernel", type=int, default=3, help="convolution size (default 3)")


def _cfg(args):
    from ..config import ModelConfig

    return ModelConfig(blocks=args.blocks, width=args.width, channels=args.channels, kernel=args.kernel)


def _params(args: argparse.Namespace) -> int:
    from ..model.unet import check_fits, count_parameters

    cfg = _cfg(args)
    if args.resolution is not None:
        check_fits(cfg, args.resolution)
    print(count_parameters(cfg))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..model.checkpoint import load_checkpoint

    cfg = _cfg(args) if args.blocks is not None else None
    net = load_checkpoint(args.path, cfg)
    n = sum(p.numel() for p in net.parameters())
    print(f"{args.path}: loads strictly as {net.cfg} ({n} parameters)")
    return 0
