"""Profiles side by side: ``memgen report --compare`` re-renders a run's page with other profiles'
verdict.json beside it, per claim and parametrisation; the JSON is untouched and the pair stays
consistent; a file that is not a report is a named error."""

import json

import pytest

from studies.cli import main
from studies.errors import InputError
from studies.report.compare import load_report, side_by_side
from studies.report.verdict_report import build_report, report_pair_consistent, write_report


def _rec(claim, param_id, verdict, status, *, expected=None, kind=None, predicted=None, reason="r", profile="smoke"):
    expectation = None
    if expected:
        expectation = {"kind": kind or "snapshot", "why": "w", "provenance": "p", "file": "claims/expectations/x.toml", "section": "s"}
        if predicted:
            expectation.update(predicted=predicted, finding="f")
    return {
        "claim": claim, "param_id": param_id, "profile": profile, "params": {"protocol": param_id}, "measures": [], "tables": [], "figures": [],
        "notes": [], "methods": [], "thresholds": {}, "proposals": {}, "verdict": verdict, "reason": reason, "expected": expected,
        "expectation": expectation, "nodeid": f"claims/test_{claim}.py::t[{param_id}]", "name": f"t[{param_id}]", "source": "K24", "statement": "s",
        "status": status, "outcome": "passed", "message": "", "duration_s": 0.1, "worker": None, "recalibrate": False,
    }


def _write(folder, profile, records):
    write_report(build_report(records, profile=profile, started=0.0, finished=1.0, rootdir=".", args=["claims/"], recalibrate=False), folder)
    return folder / "verdict.json"


@pytest.fixture()
def two(tmp_path):
    smoke = _write(tmp_path / "smoke", "smoke", [
        _rec("psnr-gap", "random", "SUPPORTED", "as-expected", expected="SUPPORTED"),
        _rec("psnr-gap", "identity", "SUPPORTED", "as-expected", expected="SUPPORTED"),
        _rec("psnr-gap", "footwear", None, "not-applicable", reason="smoke has no Footwear attribute"),
    ])
    fashion = _write(tmp_path / "fashion", "fashion", [
        _rec("psnr-gap", "random", "REFUTED", "as-expected", expected="REFUTED", predicted="SUPPORTED", profile="fashion"),
        _rec("psnr-gap", "footwear", "INCONCLUSIVE", "unexpected", expected="SUPPORTED", kind="prediction", profile="fashion"),
        _rec("memorised-fraction-falls", "random", "SUPPORTED", "as-expected", expected="SUPPORTED", kind="prediction", profile="fashion"),
    ])
    return smoke, fashion


def test_side_by_side_rows_are_the_union_in_claim_and_protocol_order(two):
    smoke, fashion = (load_report(p) for p in two)
    side = side_by_side(smoke, [fashion])
    assert side["profiles"] == ["smoke", "fashion"]
    rows = [(r["claim"], r["param_id"], [c and c["status"] for c in r["cells"]]) for r in side["rows"]]
    assert rows == [
        ("memorised-fraction-falls", "random", [None, "as-expected"]),  # the papers' order: before psnr-gap
        ("psnr-gap", "random", ["as-expected", "as-expected"]),
        ("psnr-gap", "identity", ["as-expected", None]),
        ("psnr-gap", "footwear", ["not-applicable", "unexpected"]),
    ]


def test_memgen_report_compare_renders_both_profiles_and_keeps_the_pair(two, capsys):
    smoke, fashion = two
    before = smoke.read_bytes()
    assert main(["report", str(smoke.parent), "--compare", str(fashion)]) == 0
    html = (smoke.parent / "verdict.html").read_text()
    assert smoke.read_bytes() == before, "verdict.json is not touched"
    assert report_pair_consistent(smoke.parent)
    section = html[html.index('id="side-by-side"'):html.index("<h2>Summary</h2>")]
    assert "<th>smoke</th><th>fashion</th>" in section
    assert "predicted SUPPORTED" in section and "(prediction)" in section and "unexpected" in section
    assert section.count("NOT APPLICABLE") == 1
    assert str(fashion) in section
    # the folder names the report as well as the file does
    assert main(["report", str(fashion.parent), "--compare", str(smoke.parent)]) == 0
    assert "<th>fashion</th><th>smoke</th>" in (fashion.parent / "verdict.html").read_text()


def test_a_page_without_compare_has_no_side_by_side_section(two):
    assert 'id="side-by-side"' not in (two[0].parent / "verdict.html").read_text()


def test_bad_compare_inputs_are_named(two, tmp_path):
    smoke, _ = two
    with pytest.raises(InputError, match="report not found"):
        load_report(tmp_path / "nowhere.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json: not a readable JSON"):
        load_report(bad)
    bad.write_text(json.dumps({"profile": "x", "results": [{"claim": "c"}]}))
    with pytest.raises(InputError, match=r"results\[0\]"):
        load_report(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="not a memgen verdict report"):
        load_report(bad)
    assert main(["report", str(smoke.parent), "--compare", str(tmp_path / "nowhere.json")]) == 2
