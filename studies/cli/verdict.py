"""``memgen verdict``: run the claims with pytest (same interpreter) and say where the report is."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ..errors import InputError
from ..profiles import get_profile

REPO = Path(__file__).resolve().parents[2]


def build_command(args: argparse.Namespace) -> list[str]:
    """The pytest command line ``memgen verdict`` runs."""
    if args.profile is not None:
        get_profile(args.profile)  # an unknown profile is refused here, before pytest starts
    extra = list(args.pytest_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    paths = [] if any(not a.startswith("-") for a in extra) else ["claims/"]
    cmd = [sys.executable, "-m", "pytest", *paths]
    if args.profile:
        cmd += ["--profile", args.profile]
    if args.k:
        cmd += ["-k", args.k]
    if args.n is not None:
        cmd += ["-n", str(args.n)]
    if args.report_dir:
        cmd += ["--report-dir", str(Path(args.report_dir).resolve())]
    if args.recalibrate:
        cmd += ["--recalibrate"]
    if args.celeba:
        cmd += ["--celeba", str(Path(args.celeba).resolve())]
    return cmd + extra


def run(args: argparse.Namespace) -> int:
    if not (REPO / "claims").is_dir():
        raise InputError(f"memgen verdict runs the claims of a source checkout; no claims/ folder in {REPO}")
    cmd = build_command(args)
    print("memgen verdict: " + " ".join(cmd[1:]), flush=True)
    print("memgen verdict: once the claims are collected, the plan (models to train, pairs to evaluate, estimated time) "
          "and live progress follow on stderr; then one line per claim test", flush=True)
    rc = subprocess.call(cmd, cwd=REPO)  # $MEMGEN_PHASES (setup, from scripts/verdict.sh) reaches verdict.json
    report_dir = Path(args.report_dir).resolve() if args.report_dir else REPO / "reports"
    html, js = report_dir / "verdict.html", report_dir / "verdict.json"
    if html.exists() and js.exists():
        print(f"memgen verdict: report at {html} (data: {js}); pytest exit code {rc}")
    else:
        print(f"memgen verdict: no report was written (pytest exit code {rc}; see its output above)")
    return rc


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("verdict", help="re-run the claims and write reports/verdict.{json,html}")
    p.add_argument("--profile", default=None, help="profile to run (default: $MEMGEN_PROFILE or smoke)")
    p.add_argument("-k", default=None, metavar="EXPR", help="only claims matching EXPR (pytest -k), e.g. identity")
    p.add_argument("-n", type=int, default=None, metavar="N", help="run on N processes (pytest-xdist)")
    p.add_argument("--report-dir", default=None, help="where the report goes (default: reports/)")
    p.add_argument("--recalibrate", action="store_true", help="write proposed thresholds and expectations to claims/proposed.toml")
    p.add_argument("--celeba", default=None, metavar="DIR", help="real CelebA images folder, passed to pytest")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARG", help="after the options: claim files or folders (default: claims/) and more pytest arguments")
    p.set_defaults(func=run)
