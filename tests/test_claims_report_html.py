"""The HTML report as a browser shows it: rendered by headless Chromium to a PNG (non-blank, with the
verdict badge colours on it) and to a DOM that holds the summary table."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studies.report.verdict_report import build_report, write_report

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.needs_chromium,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium); scripts/test.sh installs it where it may"),
]


def _record(claim, param_id, verdict, expected, value, status):
    return {
        "claim": claim, "param_id": param_id, "profile": "smoke", "params": {"protocol": param_id.split("-")[0]},
        "measures": [{"name": "gap_db", "value": value, "ci": [value - 0.2, value + 0.2], "threshold": 1.0, "threshold_name": "gap_db",
                      "direction": "<", "meets": value < 1.0, "unit": "dB", "key": True}],
        "tables": [], "figures": [], "notes": [], "methods": ["one-sided Spearman, alpha 0.05"], "thresholds": {}, "proposals": {},
        "verdict": verdict, "reason": "because", "expected": expected, "expectation": None,
        "nodeid": f"claims/test_x.py::test_x[{param_id}]", "name": f"test_x[{param_id}]", "source": "K24 Fig. 1", "statement": "gap shrinks",
        "status": status, "outcome": "passed", "message": "", "duration_s": 0.1, "worker": None, "recalibrate": False,
    }


@pytest.fixture
def html(tmp_path):
    records = [
        _record("psnr-gap", "random-N4000", "SUPPORTED", "SUPPORTED", 0.4, "as-expected"),
        _record("psnr-gap", "identity-N1000", "REFUTED", "REFUTED", 3.0, "as-expected"),
        _record("identity-less-stable", "identity-N1000", "INCONCLUSIVE", "SUPPORTED", 1.2, "unexpected"),
    ]
    report = build_report(records, profile="smoke", started=0.0, finished=1.0, rootdir=tmp_path, args=["claims/"], recalibrate=False)
    _, path = write_report(report, tmp_path / "rep")
    return path


def _chromium(tmp_path, *args, timeout=120):
    profile = tmp_path / "chromium-profile"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, timeout=timeout)


def test_summary_table_is_in_the_rendered_dom(html, tmp_path):
    out = _chromium(tmp_path, "--dump-dom", html.as_uri())
    dom = out.stdout.decode()
    assert '<table id="summary">' in dom, out.stderr.decode()[-2000:]
    summary = dom.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    assert summary.count("<tr>") == 4  # header + 3 results
    for text in ("random-N4000", "identity-N1000", "SUPPORTED", "REFUTED", "INCONCLUSIVE", "unexpected", "gap_db = 0.4 dB [0.2, 0.6]"):
        assert text in summary


def test_screenshot_is_not_blank_and_shows_the_badges(html, tmp_path):
    png = tmp_path / "shot.png"
    out = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,900", html.as_uri())
    assert png.exists(), out.stderr.decode()[-2000:]
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 20  # a page of text and tables, not a blank canvas
    top = pixels[:600]

    def share(rgb):  # fraction of the top of the page painted in a badge colour
        return (np.abs(top - np.array(rgb)).max(axis=-1) <= 8).mean()

    assert share((0x1B, 0x7F, 0x3B)) > 1e-4  # SUPPORTED green
    assert share((0xB3, 0x26, 0x1E)) > 1e-4  # REFUTED red
    assert share((0xF2, 0xB7, 0x05)) > 1e-4  # INCONCLUSIVE amber

