"""``memgen report``: re-render a run's verdict.html from its verdict.json, with other profiles' runs
beside it (``--compare``), e.g. smoke beside fashion per claim. Nothing is re-run."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(args: argparse.Namespace) -> int:
    from ..report.rerender import render_with_comparison

    report_dir = Path(args.report_dir).resolve() if args.report_dir else REPO / "reports"
    out = render_with_comparison(report_dir, args.compare)
    print(f"memgen report: {out} with {', '.join(map(str, args.compare))} beside it")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="re-render reports/verdict.html with other profiles' verdict.json beside it")
    p.add_argument("report_dir", nargs="?", default=None, help="the run's report folder (default: reports/)")
    p.add_argument("--compare", nargs="+", required=True, metavar="VERDICT_JSON",
                   help="other runs' verdict.json files (or their folders), e.g. reports/fashion_ci/verdict.json")
    p.set_defaults(func=run)
