"""Re-rendering a report's page with other profiles' reports beside it (``memgen report --compare``).
Its own module because it joins the page (html), the run-id mark (verdict_report) and the comparison
(compare), which html itself uses: kept apart, none of them imports back."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .compare import load_report


def render_with_comparison(report_dir: str | os.PathLike, others: list[str | os.PathLike]) -> Path:
    """Re-render ``report_dir/verdict.html`` from the ``verdict.json`` beside it with a side-by-side
    section for ``others`` (their verdict.json files or folders). The JSON is not touched, and the
    page keeps its run id, so the pair stays consistent; the write is atomic."""
    from ..cache import atomic_path
    from .html import render_html
    from .verdict_report import _mark_html

    report_dir = Path(report_dir)
    report = load_report(report_dir)
    report.pop("_path", None)
    loaded = [load_report(p) for p in others]
    if not loaded:
        raise InputError("--compare: name at least one other verdict.json (or its folder)")
    html = render_html(report, compare=loaded)
    if report.get("run_id"):
        html = _mark_html(html, report["run_id"])
    out = report_dir / "verdict.html"
    with atomic_path(out) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")
    return out
