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


def _register_reading_helpers() -> None:
    from . import reading

    _ENV.filters["anchor"] = reading.anchor
    _ENV.filters["outcome"] = reading.outcome_label
    _ENV.filters["outcome_class"] = reading.outcome_class
    _ENV.filters["protocol"] = reading.protocol_of
    _ENV.filters["control_kind"] = reading.control_kind
    _ENV.filters["deciding"] = lambda r: reading.deciding_sentence(r, fmt)
    _ENV.filters["deciding_short"] = lambda r: reading.deciding_short(r, fmt)
    _ENV.filters["rule"] = lambda rule: reading.rule_text(rule, fmt)
    _ENV.filters["seconds"] = fmt_seconds
    _ENV.filters["repo_path"] = repo_path


def repo_path(path) -> str:
    """A registered file as the repository names it (``claims/expectations/x.toml``), not as this
    machine's checkout does."""
    text = str(path or "")
    for root in ("claims/", "studies/", "benchmarks/"):
        i = text.rfind("/" + root)
        if i != -1:
            return text[i + 1:]
    return text


def fmt_seconds(value) -> str:
    """A duration as minutes and seconds (or seconds alone under a minute)."""
    if value is None:
        return "—"
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    return f"{int(value // 60)} min {value % 60:04.1f} s"


_register_reading_helpers()


def render_html(report: dict, compare: list[dict] | None = None) -> str:
    """The page of ``report``; ``compare``: other profiles' reports (``compare.load_report``), shown
    beside it per claim in a section of their own."""
    from ..progress import ordered
    from . import reading
    from .compare import side_by_side

    results = report["results"]
    claims_in_order = sorted({r["claim"] for r in results}, key=reading.claim_rank)
    by_claim: "OrderedDict[str, list[dict]]" = OrderedDict((c, []) for c in claims_in_order)
    controls = []
    for r in results:
        (controls if reading.is_control(r) else by_claim[r["claim"]]).append(r)
    by_claim = OrderedDict((c, runs) for c, runs in by_claim.items() if runs)
    from .operating_table import operating_rows

    return _ENV.get_template("verdict.html.j2").render(
        report=report, by_claim=by_claim, controls=controls, matrix=reading.matrix(results, list(by_claim)),
        operating=operating_rows(results), profile_info=report.get("profile_info") or reading.profile_summary(report["profile"]),
        phases=ordered(report.get("phases") or {}), summary=report["summary"],  # verdict.json sorts its keys
        side=side_by_side(report, compare) if compare else None,
    )
