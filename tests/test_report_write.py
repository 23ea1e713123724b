"""verdict.json and verdict.html are published as a pair: a failure (or kill) while rendering or
writing leaves the previous pair whole, a kill between the two renames is detectable by the run id
the HTML repeats, and temporary files a killed writer left are removed by the next write."""

import json
import os

import pytest

from studies.report import verdict_report
from studies.report.verdict_report import build_report, report_pair_consistent, write_report


def _report(tag):
    rec = {
        "claim": "psnr-gap", "param_id": tag, "profile": "smoke", "params": {}, "measures": [], "tables": [], "figures": [],
        "notes": [], "methods": [], "thresholds": {}, "proposals": {}, "verdict": "SUPPORTED", "reason": tag, "expected": "SUPPORTED",
        "expectation": None, "nodeid": f"claims/test_x.py::test_x[{tag}]", "name": f"test_x[{tag}]", "source": "K24", "statement": "s",
        "status": "as-expected", "outcome": "passed", "message": "", "duration_s": 0.1, "worker": None, "recalibrate": False,
    }
    return build_report([rec], profile="smoke", started=0.0, finished=1.0, rootdir=".", args=["claims/"], recalibrate=False)


def _pair(folder):
    return (folder / "verdict.json").read_bytes(), (folder / "verdict.html").read_bytes()


def test_pair_is_written_with_a_shared_run_id(tmp_path):
    js, html = write_report(_report("first"), tmp_path)
    run_id = json.loads(js.read_text())["run_id"]
    assert f'<meta name="memgen-run-id" content="{run_id}">' in html.read_text()
    assert report_pair_consistent(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verdict.html", "verdict.json"]


def test_failure_while_rendering_or_writing_keeps_the_previous_pair(tmp_path, monkeypatch):
    write_report(_report("first"), tmp_path)
    before = _pair(tmp_path)

    def boom(*a, **k):
        raise KeyboardInterrupt("killed while rendering")

    monkeypatch.setattr("studies.report.html.render_html", boom)
    with pytest.raises(KeyboardInterrupt):
        write_report(_report("second"), tmp_path)
    monkeypatch.undo()
    assert _pair(tmp_path) == before and report_pair_consistent(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verdict.html", "verdict.json"], "no stray temporary file"

    real_fsync = os.fsync
    calls = []

    def die_on_second(fd):  # the JSON's temporary is complete, the HTML's is being written
        calls.append(fd)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed while writing")
        return real_fsync(fd)

    monkeypatch.setattr(verdict_report.os, "fsync", die_on_second)
    with pytest.raises(KeyboardInterrupt):
        write_report(_report("third"), tmp_path)
    monkeypatch.undo()
    assert _pair(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verdict.html", "verdict.json"]


def test_kill_between_the_renames_is_detected_and_stray_temps_removed(tmp_path, monkeypatch):
    write_report(_report("first"), tmp_path)
    real_replace = os.replace
    done = []

    def kill_after_first(src, dst):
        if done:
            raise SystemExit("killed between the renames")
        done.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr("studies.cache.os.replace", kill_after_first)
    with pytest.raises(SystemExit):
        write_report(_report("second"), tmp_path)
    monkeypatch.undo()
    assert not report_pair_consistent(tmp_path), "a new HTML beside the previous JSON is told apart"
    # what SIGKILL leaves (no cleanup ran): a temporary file; the next write removes it
    (tmp_path / ".verdict.json.abc123.tmp").write_text("{")
    write_report(_report("third"), tmp_path)
    assert report_pair_consistent(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verdict.html", "verdict.json"]
    assert json.loads((tmp_path / "verdict.json").read_text())["results"][0]["reason"] == "third"
