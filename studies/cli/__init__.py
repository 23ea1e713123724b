"""The ``memgen`` command. Each module of this package that defines ``register(subparsers)`` adds
its subcommands; handlers receive the parsed namespace and return an exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..errors import MemgenError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memgen", description="Re-run the claims about memorization vs. generalization in diffusion models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MemgenError as exc:
        print(f"memgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("memgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
