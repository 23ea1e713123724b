"""The report's operating-characteristics table (studies.report.operating_table): Wilson intervals
of simulated rates, rows grouped by rule with the within-alpha flag of studies.claims.operating, and
the rendered section with one inline SVG strip per verdict."""

import math

from studies.claims import operating
from studies.report.html import render_html
from studies.report.operating_table import mc_interval, operating_rows
from studies.report.verdict_report import build_report


def test_wilson_interval_of_a_simulated_rate():
    lo, hi = mc_interval(0.05, 10_000)
    assert lo < 0.05 < hi and 0.007 < hi - lo < 0.01  # ~ +-1.96 sqrt(0.05 * 0.95 / 10,000) = +-0.0043
    lo, hi = mc_interval(0.0, 10_000)
    assert lo == 0.0 and 0.0 < hi < 0.0005  # a rate of 0 still has an upper bound (the normal interval would be 0..0)
    assert all(math.isnan(v) for v in mc_interval(0.1, 0))


def _record(claim, param_id, rule, verdict="SUPPORTED", control=None):
    return {"claim": claim, "param_id": param_id, "profile": "smoke", "params": {"protocol": param_id}, "measures": [], "tables": [],
            "figures": [], "notes": [], "methods": [], "thresholds": {}, "proposals": {}, "verdict": verdict, "reason": "because",
            "expected": verdict, "expectation": None, "nodeid": f"claims/test_x.py::test_x[{param_id}]", "name": f"test_x[{param_id}]",
            "source": "K24", "statement": "s", "status": "as-expected", "outcome": "passed", "message": "", "duration_s": 0.1,
            "worker": None, "recalibrate": False, "rule": rule, "control": control}


def _records():
    good = operating.pair_t(3, 0.05, 0.1).to_dict()
    bad = dict(good, false_positive_rate=0.09)  # far above alpha + 3 Monte-Carlo errors (0.0565 at 10,000 simulations)
    trend = operating.trend_and_level([10, 300, 1000, 4000], [1, 3, 3, 3], 0.05, direction="increasing", level=0.1, effect=0.2).to_dict()
    return [_record("originality", "random", good), _record("originality", "identity", bad, "INCONCLUSIVE"),
            _record("same-noise-convergence", "random", trend), _record("dedup-count", "other", None)]


def test_rows_are_grouped_by_rule_and_flag_a_rate_above_alpha():
    groups = operating_rows(_records())
    assert [g["name"] for g in groups] == ["pair-level-t", "pair-level-trend-and-level"]
    t = groups[0]
    assert [r["param_id"] for r in t["rows"]] == ["random", "identity"] and t["within"] == 1
    assert t["rows"][0]["within_alpha"] is True and t["rows"][1]["within_alpha"] is False
    row = t["rows"][0]
    assert row["fpr_ci"][0] <= row["fpr"] <= row["fpr_ci"][1] and row["power_ci"][0] <= row["power"] <= row["power_ci"][1]
    strips = [r["strip"] for g in groups for r in g["rows"]]
    assert len({s["top"] for s in strips}) == 1  # one axis for every strip
    assert all(s["x0"] <= s["lo"] <= s["fpr"] <= s["hi"] <= s["x1"] for s in strips)
    assert operating_rows([_record("dedup-count", "other", None)]) == []


def test_the_section_is_rendered_with_a_strip_per_verdict(tmp_path):
    report = build_report(_records(), profile="smoke", started=0.0, finished=1.0, rootdir=tmp_path, args=["claims/"], recalibrate=False)
    html = render_html(report)
    section = html[html.index('id="operating"'):html.index('id="run-info"')]
    assert "pair-level-t" in section and "pair-level-trend-and-level" in section
    assert section.count("<svg") == 3 and "above alpha" in section
    assert "1 with the false-positive rate within alpha" in section


def test_an_observation_kept_beside_a_prediction_is_shown(tmp_path):
    rec = _records()[0]
    rec["expectation"] = {"kind": "prediction", "provenance": "p", "why": "w", "file": "claims/expectations/originality.toml", "line": 1,
                          "section": "[smoke.random]", "predicted": None, "finding": "observed as predicted; the number was 0.11"}
    html = render_html(build_report([rec], profile="smoke", started=0.0, finished=1.0, rootdir=tmp_path, args=[], recalibrate=False))
    assert "Observed beside the prediction:</strong> observed as predicted; the number was 0.11" in html


def test_a_design_that_can_never_support_has_exact_zero_rates(tmp_path):
    oc = operating.trend_and_level([4000], [1], float("nan"), direction="increasing", level=0.1, effect=0.2)
    assert (oc.false_positive_rate, oc.power, oc.simulations) == (0.0, 0.0, 0) and oc.within_alpha()
    one = operating.pair_t(1, 0.0, 0.1)
    assert (one.false_positive_rate, one.power, one.simulations) == (0.0, 0.0, 0)
    (group,) = operating_rows([_record("psnr-gap", "gaussian-control-unet", oc.to_dict(), "INCONCLUSIVE", control="gaussian-unet")])
    assert group["rows"][0]["exact"] and group["rows"][0]["within_alpha"]
    html = render_html(build_report([_record("psnr-gap", "gaussian-control-unet", oc.to_dict(), "INCONCLUSIVE", control="gaussian-unet")],
                                    profile="smoke", started=0.0, finished=1.0, rootdir=tmp_path, args=[], recalibrate=False))
    assert "0 (exact)" in html and "never calls SUPPORTED on this design" in html
