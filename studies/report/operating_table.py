"""The report's table of measured operating characteristics: per decision rule, every verdict it
reached with its simulated false-positive rate against alpha and its power, each with a Monte-Carlo
interval (Wilson score, 95%), and a small inline SVG (no JavaScript) placing the rate against alpha.

A plain function of the report JSON (``results[*].rule`` as ``studies.claims.operating.Operating``
records it): the page shows no number the JSON lacks, only intervals computed from its counts."""

from __future__ import annotations

import math
from typing import Any

Z95 = 1.959963984540054  # two-sided 95% normal quantile
# the tolerance ``studies.claims.operating.Operating.within_alpha`` allows: three Monte-Carlo
# standard errors of a rate at alpha
MC_ERRORS = 3
# SVG geometry of one row's strip, in pixels
WIDTH, HEIGHT, PAD = 180, 16, 6


def mc_interval(rate: float, sims: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a rate observed in ``sims`` independent simulations; (nan, nan)
    without simulations. Wilson, not the normal one: rates here are often 0 or near it, where the
    normal interval collapses to a point."""
    if not sims or sims <= 0 or rate is None or not math.isfinite(rate):
        return math.nan, math.nan
    p, n = min(max(float(rate), 0.0), 1.0), float(sims)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _strip(fpr: float, lo: float, hi: float, alpha: float, top: float) -> dict:
    """Pixel positions of the FPR dot, its interval and the alpha line on a 0..``top`` axis."""
    def x(v: float) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * min(max(v, 0.0), top) / top, 1)

    return {"width": WIDTH, "height": HEIGHT, "mid": HEIGHT / 2, "x0": PAD, "x1": WIDTH - PAD, "fpr": x(fpr),
            "lo": x(lo if math.isfinite(lo) else fpr), "hi": x(hi if math.isfinite(hi) else fpr), "alpha": x(alpha), "top": top}


def operating_rows(results: list[dict]) -> list[dict]:
    """One group per rule name (in order of first appearance), each with one row per verdict that
    recorded its operating characteristics: claim, parametrisation, control, alpha, the false-positive
    rate and power with their Monte-Carlo intervals, simulations, the null and the effect they were
    measured at, whether the rate is within alpha (at most alpha + 3 Monte-Carlo standard errors),
    and the strip geometry. Every strip of the page shares one axis, 0 to the largest of 2 alpha
    and every interval's upper end, so strips compare by eye."""
    rows = []
    for r in results:
        rule = r.get("rule")
        if not isinstance(rule, dict) or rule.get("false_positive_rate") is None or rule.get("alpha") is None:
            continue
        sims = int(rule.get("simulations") or 0)
        fpr, alpha = float(rule["false_positive_rate"]), float(rule["alpha"])
        power = rule.get("power")
        f_lo, f_hi = mc_interval(fpr, sims)
        p_lo, p_hi = mc_interval(float(power), sims) if power is not None else (math.nan, math.nan)
        se = math.sqrt(alpha * (1 - alpha) / sims) if sims > 0 else math.nan
        rows.append({"claim": r["claim"], "param_id": r.get("param_id"), "control": r.get("control"), "verdict": r.get("verdict"),
                     "anchor_record": r, "name": rule.get("name") or "decision rule", "decided_by": rule.get("decided_by"),
                     "alpha": alpha, "fpr": fpr, "fpr_ci": (f_lo, f_hi), "power": power, "power_ci": (p_lo, p_hi), "simulations": sims,
                     "null": rule.get("null") or "", "effect": rule.get("effect") or "",
                     "exact": sims == 0,  # rates known without simulating: a design the rule can never call SUPPORTED on
                     "within_alpha": (fpr <= alpha + MC_ERRORS * se) if sims > 0 else fpr <= alpha})
    if not rows:
        return []
    top = max([2 * r["alpha"] for r in rows] + [r["fpr_ci"][1] for r in rows if math.isfinite(r["fpr_ci"][1])] + [r["fpr"] for r in rows])
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        row["strip"] = _strip(row["fpr"], *row["fpr_ci"], row["alpha"], top)
        g = groups.setdefault(row["name"], {"name": row["name"], "rows": [], "within": 0})
        g["rows"].append(row)
        g["within"] += bool(row["within_alpha"])
    return list(groups.values())
