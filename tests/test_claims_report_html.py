"""The HTML report as a browser shows it: rendered by headless Chromium to a PNG (non-blank, of the
window's size, with the verdict badge colours on it), to a DOM that holds the claim x protocol matrix
and the summary table, where every in-page link resolves, with no console errors."""

import base64
import io
import re
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


def _png() -> str:
    image = Image.fromarray((np.indices((32, 48)).sum(axis=0) % 2 * 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.fixture
def html(tmp_path):
    records = [
        _record("psnr-gap", "random-N4000", "SUPPORTED", "SUPPORTED", 0.4, "as-expected"),
        _record("psnr-gap", "identity-N1000", "REFUTED", "REFUTED", 3.0, "as-expected"),
        _record("identity-less-stable", "identity-N1000", "INCONCLUSIVE", "SUPPORTED", 1.2, "unexpected"),
        _record("celeba-facts", "no-metadata", None, None, 0.0, "not-run"),
        _record("originality", "male-N1000", None, None, 0.0, "not-applicable"),
        _record("originality", "random-N4000", "SUPPORTED", "SUPPORTED", 0.2, "as-expected"),
    ]
    records[0]["figures"] = [{"name": "psnr curves", "caption": "a checkerboard", "png_base64": _png()}]
    records[0]["rule"] = {"name": "one-sided Spearman", "alpha": 0.05, "false_positive_rate": 0.04, "power": 0.91, "simulations": 500}
    records[0]["expectation"] = {"kind": "prediction", "provenance": "commit abc1234, 2026-12-01", "why": "K24 Fig. 1", "file": "claims/expectations/psnr-gap.toml", "line": 3, "section": "smoke.random-N4000"}
    records[3].update(measures=[], needs="MEMGEN_CELEBA_META=DIR", reason="CelebA metadata folder not found", params={})
    records[4].update(measures=[], reason="the data has no identities", params={"protocol": "male"})
    control = _record("originality", "random-N4000", "REFUTED", "REFUTED", 0.99, "as-expected")
    control["control"] = "random-control-memorising"
    records.append(control)
    report = build_report(records, profile="smoke", started=0.0, finished=1.0, rootdir=tmp_path, args=["claims/"], recalibrate=False,
                          phases={"setup": {"wall_s": 100.0, "cpu_s": 80.0}, "training": {"wall_s": 900.0, "cpu_s": 1700.0}})
    _, path = write_report(report, tmp_path / "rep")
    return path


def _chromium(tmp_path, *args, timeout=120):
    profile = tmp_path / "chromium-profile"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, timeout=timeout)


def test_matrix_and_summary_are_in_the_rendered_dom_and_every_link_resolves(html, tmp_path):
    out = _chromium(tmp_path, "--dump-dom", html.as_uri())
    dom = out.stdout.decode()
    assert '<table id="summary">' in dom and '<table class="matrix" id="matrix">' in dom, out.stderr.decode()[-2000:]
    summary = dom.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    assert summary.count("<tr>") == 8  # header + 7 results
    for text in ("random-N4000", "identity-N1000", "SUPPORTED", "REFUTED", "INCONCLUSIVE", "unexpected", "gap_db = 0.4 dB [0.2, 0.6]",
                 "NOT RUN", "NOT APPLICABLE", "needs: MEMGEN_CELEBA_META=DIR"):
        assert text in summary, text
    matrix = dom.split('id="matrix">', 1)[1].split("</table>", 1)[0]
    # rows in the papers' order (originality before identity-less-stable, data facts last); no control in the matrix
    rows = re.findall(r'<td class="claim"><a href="#claim-([a-z-]+)"', matrix)
    assert rows == ["psnr-gap", "originality", "identity-less-stable", "celeba-facts"]
    assert "random-control-memorising" not in matrix and "Controls" in dom
    ids = set(re.findall(r'\sid="([^"]+)"', dom))
    links = re.findall(r'href="#([^"]*)"', dom)
    assert len(links) >= 20
    missing = sorted({l for l in links if l not in ids})
    assert not missing, f"in-page links without a target: {missing}"
    # the not-run run says what provides its input; the decision rule shows its measured error rates
    assert "Provide it with:" in dom and "false-positive rate 0.04" in dom and "FPR 0.04 power 0.91" in dom and "(prediction)" in dom
    assert "4 with a verdict" not in dom and "1 not run" in dom and "1 not applicable" in dom


def test_no_console_errors(html, tmp_path):
    out = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom", html.as_uri())
    log = out.stderr.decode(errors="replace")
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line or "Failed to load" in line]
    assert not console, "\n".join(console)
    assert "</html>" in out.stdout.decode()


def test_screenshot_is_not_blank_and_shows_the_badges(html, tmp_path):
    png = tmp_path / "shot.png"
    out = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1400", html.as_uri())
    assert png.exists(), out.stderr.decode()[-2000:]
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (1400, 1200)
    assert pixels.std() > 20  # a page of text and tables, not a blank canvas
    top = pixels[:1200]

    def share(rgb):  # fraction of the top of the page painted in a badge colour
        return (np.abs(top - np.array(rgb)).max(axis=-1) <= 8).mean()

    assert share((0x1B, 0x7F, 0x3B)) > 1e-4  # SUPPORTED green
    assert share((0xB3, 0x26, 0x1E)) > 1e-4  # REFUTED red
    assert share((0xF2, 0xB7, 0x05)) > 1e-4  # INCONCLUSIVE amber

