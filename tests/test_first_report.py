"""benchmarks/first_report.py: a verdict.json's phases as a RESULTS.md entry, added under its section."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import first_report  # noqa: E402

REPORT = {
    "profile": "smoke", "generated": "2026-12-02T14:00:00+00:00", "args": ["claims/"],
    "machine": {"node": "box", "system": "Linux", "machine": "x86_64", "cpu_count": 2, "python": "3.11.7"},
    "commit": {"id": "0123456789abcdef", "dirty": False},
    "summary": {"total": 60, "with_verdict": 50, "not_run": 6, "not_applicable": 0},
    "phases": {"claims": {"wall_s": 120.0, "cpu_s": 200.0, "note": "60 claim runs"}, "setup": {"wall_s": 30.0, "cpu_s": 10.0},
               "training": {"wall_s": 600.0, "cpu_s": 1180.0, "note": "44 models, 2 at a time"}, "report": {"wall_s": 2.0, "cpu_s": 2.0}},
}


def test_entry_lists_phases_in_order_with_totals():
    text = first_report.entry(REPORT, note="empty cache")
    rows = [l for l in text.splitlines() if l.startswith("| ") and not l.startswith("| phase")]
    assert [r.split(" | ")[0][2:] for r in rows] == ["setup", "training", "claims", "report", "**total**"]
    assert "| training | 10.0 min | 19.7 min | 1.97 | 44 models, 2 at a time |" in text
    assert "**12.5 min**" in text and "commit 0123456789ab" in text and "empty cache" in text and "via scripts/verdict.sh" in text


def test_append_adds_under_its_section_and_keeps_the_rest(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other\n\ntext\n")
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps(REPORT))
    assert first_report.main([str(path), "--append", str(results)]) == 0
    assert first_report.main([str(path), "--append", str(results)]) == 0
    body = results.read_text()
    assert body.startswith("# Benchmark results\n\n## Other\n\ntext\n") and body.count(first_report.SECTION) == 1
    assert body.count("### Profile smoke") == 2


def test_a_report_without_phases_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no phases"):
        first_report.entry({**REPORT, "phases": {}})
