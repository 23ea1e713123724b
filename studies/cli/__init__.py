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
    argv = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(argv)
    own = getattr(args, "parse_own", None)
    if own is not None:
        # a command that passes arguments through (memgen verdict -> pytest) parses its own part
        args = own(argv[argv.index(args.command) + 1 :])
    elif unknown:
        parser.parse_args(argv)  # the usual "unrecognized arguments" error, exit code 2
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
