"""Time to the first report, per phase, as a benchmarks/RESULTS.md entry.

A claims run records wall and CPU seconds per phase in verdict.json (setup from scripts/verdict.sh,
data / training / evaluation from the zoo and evaluation fixtures, the claims, the report; see
studies/progress.py). This script turns one such file into the markdown block RESULTS.md keeps:

    .venv/bin/python benchmarks/first_report.py                        # reports/verdict.json, printed
    .venv/bin/python benchmarks/first_report.py --append benchmarks/RESULTS.md --note "empty cache, idle"

The measurement itself is the run: `MEMGEN_CACHE=$(mktemp -d) bash scripts/verdict.sh` on an idle
machine gives the first report from an empty cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SECTION = "## Time to the first report"
PHASES = ("setup", "data", "training", "evaluation", "claims", "report")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def entry(report: dict, *, note: str = "") -> str:
    """The RESULTS.md block of one verdict.json: machine, date, commit, phases, totals."""
    phases = report.get("phases") or {}
    if not phases:
        raise SystemExit("verdict.json has no phases: it was written before phase timing existed, or by an interrupted run")
    machine = report.get("machine") or {}
    commit = (report.get("commit") or {}).get("id") or "unknown"
    dirty = " (with uncommitted changes)" if (report.get("commit") or {}).get("dirty") else ""
    summary = report.get("summary") or {}
    names = [p for p in PHASES if p in phases] + [p for p in phases if p not in PHASES]
    wall = sum(float(phases[p].get("wall_s", 0.0)) for p in names)
    cpu = sum(float(phases[p].get("cpu_s", 0.0)) for p in names)
    lines = [
        f"### Profile {report.get('profile')}, {str(report.get('generated', ''))[:16].replace('T', ' ')} UTC, commit {commit[:12]}{dirty}",
        "",
        f"Machine: {machine.get('node', '?')} ({machine.get('system', '?')} {machine.get('machine', '')}, {machine.get('cpu_count', '?')} CPUs, "
        f"Python {machine.get('python', '?')}). Command: `pytest {' '.join(report.get('args') or [])}`"
        + ("" if "setup" not in phases else " via scripts/verdict.sh") + "." + (f" {note}" if note else ""),
        "",
        "| phase | wall | CPU | CPU / wall | notes |",
        "|---|---|---|---|---|",
    ]
    for p in names:
        w, c = float(phases[p].get("wall_s", 0.0)), float(phases[p].get("cpu_s", 0.0))
        lines.append(f"| {p} | {_minutes(w)} | {_minutes(c)} | {c / w:.2f} | {phases[p].get('note', '')} |" if w > 0
                     else f"| {p} | {_minutes(w)} | {_minutes(c)} | — | {phases[p].get('note', '')} |")
    lines.append(f"| **total** | **{_minutes(wall)}** | **{_minutes(cpu)}** | {cpu / wall if wall else 0:.2f} | "
                 f"{summary.get('total', 0)} claim runs, {summary.get('with_verdict', '?')} with a verdict, "
                 f"{summary.get('not_run', 0)} not run, {summary.get('not_applicable', 0)} not applicable |")
    return "\n".join(lines) + "\n"


def append(path: Path, text: str) -> None:
    """Add ``text`` under the section (created at the end of the file when missing)."""
    body = path.read_text("utf-8") if path.exists() else "# Benchmark results\n"
    if SECTION not in body:
        body = body.rstrip("\n") + f"\n\n{SECTION}\n\nWall and CPU time per phase of a claims run (benchmarks/first_report.py from its verdict.json).\n"
    start = body.index(SECTION)
    nxt = body.find("\n## ", start + len(SECTION))
    cut = len(body) if nxt == -1 else nxt + 1
    body = body[:cut].rstrip("\n") + "\n\n" + text + ("\n" + body[cut:] if nxt != -1 else "")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(body, "utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verdict", nargs="?", type=Path, default=Path("reports/verdict.json"))
    parser.add_argument("--append", type=Path, default=None, metavar="RESULTS_MD", help=f"add the entry under '{SECTION}' of this file")
    parser.add_argument("--note", default="", help="what the numbers need to be read with (cache state, load)")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.verdict.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        print(f"first_report: cannot read {args.verdict}: {exc}", file=sys.stderr)
        return 2
    text = entry(report, note=args.note)
    if args.append:
        append(args.append, text)
        print(f"first_report: added to {args.append}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
