"""``memgen model ...``: parameter counts of the K24 UNet, inspection of a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError


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
    # None = not given, so that model check can tell them apart from its checkpoint's own config
    p.add_argument("--width", type=int, default=None, help="base width K (default 64)")
    p.add_argument("--channels", type=int, default=None, help="image channels C (default 1)")
    p.add_argument("--kernel", type=int, default=None, help="convolution size (default 3)")


def _cfg(args):
    from ..config import ModelConfig

    given = {k: getattr(args, k) for k in ("width", "channels", "kernel") if getattr(args, k) is not None}
    return ModelConfig(blocks=args.blocks, **given)


def _params(args: argparse.Namespace) -> int:
    from ..model.unet import check_fits, count_parameters

    cfg = _cfg(args)
    if args.resolution is not None:
        check_fits(cfg, args.resolution)
    print(count_parameters(cfg))
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..model.checkpoint import load_checkpoint

    if args.blocks is None:
        given = [f"--{k}" for k in ("width", "channels", "kernel") if getattr(args, k) is not None]
        if given:
            raise InputError(f"{', '.join(given)} given without --blocks: an architecture needs --blocks too; give none of them to use the checkpoint's own config")
    cfg = _cfg(args) if args.blocks is not None else None
    net = load_checkpoint(args.path, cfg)
    n = sum(p.numel() for p in net.parameters())
    print(f"{args.path}: loads strictly as {net.cfg} ({n} parameters)")
    return 0
