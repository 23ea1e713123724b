"""``memgen verdict``: run the claims with pytest (same interpreter) and say where the report is."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..errors import InputError
from ..profiles import USER_IMAGES_ENV, USER_LABELS_ENV, USER_PROFILE, get_profile

REPO = Path(__file__).resolve().parents[2]


def build_command(args: argparse.Namespace) -> list[str]:
    """The pytest command line ``memgen verdict`` runs."""
    user = _user_images(args)
    if user:
        if args.profile not in (None, USER_PROFILE):
            raise InputError(f"--array/--images run the claims under profile {USER_PROFILE!r}, not {args.profile!r}")
        args.profile = USER_PROFILE
    if args.profile is not None:
        get_profile(args.profile)  # an unknown profile is refused here, before pytest starts
    extra = list(args.pytest_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    paths = [] if given_paths(extra) else ["claims/"]
    cmd = [sys.executable, "-m", "pytest", *paths]
    if args.profile:
        cmd += ["--profile", args.profile]
    if args.k:
        cmd += ["-k", args.k]
    if args.n is not None:
        cmd += ["-n", str(args.n)]
    if args.report_dir:
        cmd += ["--report-dir", str(Path(args.report_dir).resolve())]
    if args.recalibrate or user:
        # a user's images have no registered expectations: every verdict is reported as observed
        # (and proposed, in the report folder), none is compared with a prediction
        cmd += ["--recalibrate"]
        if user:
            report_dir = Path(args.report_dir).resolve() if args.report_dir else REPO / "reports"
            cmd += ["--proposed-path", str(report_dir / "proposed-user.toml")]
    if args.celeba:
        cmd += ["--celeba", str(Path(args.celeba).resolve())]
    return cmd + extra


# memgen verdict's own options (True: takes a value); every other token goes to pytest unchanged
OWN_OPTIONS = {"--profile": True, "-k": True, "-n": True, "--report-dir": True, "--recalibrate": False, "--celeba": True,
               "--array": True, "--images": True, "--labels": True}
# pytest options whose value may name an existing file or folder without being a test path
_PYTEST_PATH_VALUES = {"--rootdir", "--basetemp", "-c", "--config-file", "--confcutdir", "--ignore", "--ignore-glob",
                       "--deselect", "--junitxml", "--junit-xml", "--log-file", "--resultlog", "--cov", "--cov-config",
                       "--benchmark-storage", "--benchmark-save", "-p", "-o", "--override-ini", "--inifile"}


def given_paths(tokens: list[str]) -> list[str]:
    """The test paths among pytest arguments: tokens that name an existing file or folder (with an
    optional ``::test`` suffix), here or in the checkout, and are not the value of an option such
    as ``--rootdir`` or ``--basetemp``. ``--tb short``'s ``short`` is an option's value, not a path."""
    out, prev = [], None
    for tok in tokens:
        if not tok.startswith("-") and prev not in _PYTEST_PATH_VALUES:
            base = tok.split("::", 1)[0]
            if base and (Path(base).exists() or (REPO / base).exists()):
                out.append(tok)
        prev = tok
    return out


def split_argv(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Split what follows ``memgen verdict`` into its own options and pytest's arguments, keeping
    pytest's in their order and unchanged; after ``--`` everything is pytest's."""
    own, rest = [], []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "--":
            rest += tokens[i + 1 :]
            break
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok
        if tok in ("-h", "--help"):
            own.append(tok)
        elif name in OWN_OPTIONS:
            own.append(tok)
            if OWN_OPTIONS[name] and "=" not in tok and i + 1 < len(tokens):
                own.append(tokens[i + 1])
                i += 1
        elif tok[:2] in ("-k", "-n") and len(tok) > 2 and not tok.startswith("--"):  # -kEXPR, -n4
            own += [tok[:2], tok[2:]]
        else:
            rest.append(tok)
        i += 1
    return own, rest


def parse_own(parser: argparse.ArgumentParser, tokens: list[str]) -> argparse.Namespace:
    """Parse ``memgen verdict``'s options; the rest (``-x``, ``--tb short``, paths) is pytest's."""
    own, rest = split_argv(tokens)
    ns = parser.parse_args(own)
    ns.pytest_args = rest
    return ns


def _user_images(args: argparse.Namespace) -> dict:
    """Environment naming the user's images for the pytest process ({} without --array/--images)."""
    array, images, labels = getattr(args, "array", None), getattr(args, "images", None), getattr(args, "labels", None)
    if array and images:
        raise InputError("give --array FILE.npy or --images DIR, not both")
    if labels and not (array or images):
        raise InputError("--labels needs --array FILE.npy or --images DIR")
    if not (array or images):
        return {}
    env = {USER_IMAGES_ENV: str(Path(array or images).expanduser().resolve())}
    if labels:
        env[USER_LABELS_ENV] = str(Path(labels).expanduser().resolve())
    os.environ.update(env)  # get_profile("user") below reads them, as the pytest process will
    return env


def run(args: argparse.Namespace) -> int:
    if not (REPO / "claims").is_dir():
        raise InputError(f"memgen verdict runs the claims of a source checkout; no claims/ folder in {REPO}")
    cmd = build_command(args)
    print("memgen verdict: " + " ".join(cmd[1:]), flush=True)
    print("memgen verdict: once the claims are collected, the plan (models to train, pairs to evaluate, estimated time) "
          "and live progress follow on stderr; then one line per claim test", flush=True)
    rc = subprocess.call(cmd, cwd=REPO, env=os.environ.copy())  # $MEMGEN_PHASES (setup, from scripts/verdict.sh) reaches verdict.json
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
    p.add_argument("--array", default=None, metavar="FILE.npy", help="run the claims on your images: (N,H,W) or (N,C,H,W), uint8 or float in [0,1] (profile 'user')")
    p.add_argument("--images", default=None, metavar="DIR", help="run the claims on a folder of PNG/JPEG images (profile 'user')")
    p.add_argument("--labels", default=None, metavar="CSV", help="labels of --array (index,...) or --images (filename,...): attribute columns (Eyeglasses, Male, Footwear are split on) and an optional identity column")
    p.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARG", help="any other pytest arguments, passed through unchanged (-x, --tb short, ...; after -- all of them); claim files or folders given among them replace the default claims/")
    p.set_defaults(func=run, parse_own=lambda tokens: parse_own(p, tokens))
