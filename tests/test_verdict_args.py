"""``memgen verdict`` passes pytest's options through unchanged and adds the default claims/ only
when no test path is given; its own options are still checked."""

import subprocess
import sys
from pathlib import Path

import pytest

from studies.cli import build_parser, main
from studies.cli.verdict import build_command, given_paths, split_argv

REPO = Path(__file__).resolve().parents[1]


def _cmd(*argv):
    parser = build_parser()
    args, _ = parser.parse_known_args(["verdict", *argv])
    return build_command(args.parse_own(list(argv)))[3:]


@pytest.mark.parametrize("argv, expected", [
    # an option's value is not a path: claims/ stays (it was dropped, and 382 items collected)
    (["-k", "zzz", "--", "--tb", "short"], ["claims/", "-k", "zzz", "--tb", "short"]),
    (["-k", "zzz", "--tb", "short"], ["claims/", "-k", "zzz", "--tb", "short"]),
    # pytest's own options, refused before, pass through in order
    (["-x"], ["claims/", "-x"]),
    (["-x", "--maxfail=2", "-p", "no:randomly", "-q"], ["claims/", "-x", "--maxfail=2", "-p", "no:randomly", "-q"]),
    (["--rootdir", ".", "-q"], ["claims/", "--rootdir", ".", "-q"]),
    # own options in any position and spelling
    (["-x", "--profile", "smoke", "-kfoo", "-n2"], ["claims/", "--profile", "smoke", "-k", "foo", "-n", "2", "-x"]),
    (["--report-dir=/tmp/r", "--recalibrate"], ["claims/", "--report-dir", "/tmp/r", "--recalibrate"]),
    # a path given replaces the default; after -- even -k is pytest's
    (["claims/test_celeba_facts.py", "-q"], ["claims/test_celeba_facts.py", "-q"]),
    (["--", "claims/test_celeba_facts.py::test_x", "-k", "a"], ["claims/test_celeba_facts.py::test_x", "-k", "a"]),
])
def test_arguments_pass_through(argv, expected):
    assert _cmd(*argv) == expected


def test_split_and_paths():
    assert split_argv(["-x", "--profile", "smoke", "--", "--profile", "x"]) == (["--profile", "smoke"], ["-x", "--profile", "x"])
    assert given_paths(["--tb", "short", "claims", "--basetemp", "claims"]) == ["claims"]


@pytest.mark.parametrize("argv, words", [
    (["verdict", "--profile", "nope"], "unknown profile"),
    (["verdict", "-n", "two"], "invalid int value"),
    (["verdict", "--profile"], "expected one argument"),
    (["data", "build", "--synthetic", "--res", "16", "-x"], "unrecognized arguments: -x"),  # other commands still refuse unknown options
])
def test_own_options_still_checked(argv, words, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2 and words in capsys.readouterr().err


def test_collects_only_the_claims(tmp_path):
    """The reproduction: pytest receives ``--tb short`` whole and collects the claims only."""
    out = subprocess.run([sys.executable, "-m", "studies", "verdict", "--report-dir", str(tmp_path), "-x", "--",
                          "--co", "-q", "--tb", "short"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert ids and all(i.startswith("claims/") for i in ids), out.stdout[-2000:] + out.stderr[-2000:]
    assert "-x --co -q --tb short" in out.stdout and " claims/ " in out.stdout.splitlines()[0]
