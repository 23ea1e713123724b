"""``verdict.html`` from the report JSON: jinja2 with autoescaping on, so a parametrisation id or a
statement holding markup is shown as text, never run. No JavaScript: it reads the same everywhere."""

from __future__ import annotations

from collections import OrderedDict

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("studies.report", "templates"),
    autoescape=True,  # every file, whatever its extension: the data are not ours to trust
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def fmt(value) -> str:
    """A number as a reader wants it: integers with thousands separators, floats to 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return str(value)


def fmt_measure(m: dict | None) -> str:
    if not m:
        return "—"
    text = fmt(m["value"]) + (f" {m['unit']}" if m.get("unit") else "")
    if m.get("ci"):
        text += f" [{fmt(m['ci'][0])}, {fmt(m['ci'][1])}]"
    return text


def fmt_threshold(m: dict) -> str:
    if m.get("threshold") is None:
        return ""
    text = f"{m.get('direction') or ''} {fmt(m['threshold'])}".strip()
    if m.get("threshold_name"):
        text += f" ({m['threshold_name']})"
    return text


_ENV.filters["num"] = fmt
_ENV.filters["measure"] = fmt_measure
_ENV.filters["threshold"] = fmt_threshold


def render_html(report: dict) -> str:
    by_claim: "OrderedDict[str, list[dict]]" = OrderedDict()
    for r in report["results"]:
        by_claim.setdefault(r["claim"], []).append(r)
    controls = [r for r in report["results"] if r.get("control")]  # control cases with a known answer
    return _ENV.get_template("verdict.html.j2").render(report=report, by_claim=by_claim, controls=controls)
