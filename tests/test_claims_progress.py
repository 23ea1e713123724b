"""A claims run on a tiny profile, as pytest shows it: the plan first (models to train and cached,
pairs to evaluate), then one progress line per trained model and per evaluated pair on the real
stderr although pytest captures the tests' output, and verdict.json's phases (data, training,
evaluation, claims, report; setup when scripts/verdict.sh measured it)."""

import json
import os
import textwrap
from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = """
pytest_plugins = ["studies.claims.plugin", "fixtures.zoo", "fixtures.evaluation"]
from tests.test_zoo_build import _tiny
_tiny()
"""

TESTS = """
import pytest

@pytest.mark.claim("psnr-gap")  # registered zoo=True: marked zoo, its models built up front
@pytest.mark.parametrize("protocol", ["random"])
def test_pair(claim, evaluation, protocol):
    ev = evaluation(protocol, 3)
    claim.measure("gap", ev.mean_gap(), key=True)
    claim.conclude("INCONCLUSIVE", "a tiny profile decides nothing")
"""


def test_plan_and_progress_reach_the_terminal_and_phases_the_report(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MEMGEN_ZOO_WORKERS", "1")
    # the subprocess imports fixtures/ and tests/ of this checkout, which no installed package provides
    repo = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("MEMGEN_PHASES", '{"setup": {"wall_s": 1.5, "cpu_s": 0.5, "note": "scripts/setup.sh"}}')
    pytester.makeconftest(CONFTEST)
    (pytester.path / "cl" / "expectations").mkdir(parents=True)
    (pytester.path / "cl" / "thresholds").mkdir(parents=True)
    (pytester.path / "cl" / "expectations" / "psnr-gap.toml").write_text(
        textwrap.dedent('["*"."*"]\nexpected = "INCONCLUSIVE"\nprovenance = "pytester fixture"\nwhy = "tiny"\n'))
    pytester.makepyfile(test_tiny=TESTS)
    result = pytester.runpytest_subprocess("--profile", "zootest", "--claims-dir", str(pytester.path / "cl"),
                                           "--report-dir", str(pytester.path / "rep"), "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)
    err = result.stderr.str()
    assert "memgen plan (profile zootest):" in err
    assert "models: 4 needed, 0 in the zoo, 4 to train (1 at a time)" in err
    assert "evaluations: 2 A/B pairs, 0 cached, 2 to evaluate" in err
    trained = [l for l in err.splitlines() if l.startswith("memgen: models trained ")]
    assert len(trained) == 4 and trained[-1].startswith("memgen: models trained 4/4 done: zootest/random/")
    assert [l for l in err.splitlines() if l.startswith("memgen: pairs evaluated 1/2 done: zootest/random/N3")]
    phases = json.loads((pytester.path / "rep" / "verdict.json").read_text())["phases"]
    assert sorted(phases) == sorted(["setup", "data", "training", "evaluation", "claims", "report"])
    assert phases["setup"]["wall_s"] == 1.5 and phases["training"]["wall_s"] > 0 and phases["training"]["cpu_s"] > 0
    assert phases["training"]["note"] == "4 models, 1 at a time"
    assert phases["evaluation"]["note"] == "0 of 2 A/B pairs cached when the run started"
    html = (pytester.path / "rep" / "verdict.html").read_text()
    table = html.split('id="phases"', 1)[1].split("</table>", 1)[0]
    assert [table.index(f"<td>{p}</td>") for p in ("setup", "data", "training", "evaluation", "claims", "report")] == sorted(
        table.index(f"<td>{p}</td>") for p in ("setup", "data", "training", "evaluation", "claims", "report"))  # in the run's order
    # a second run finds everything cached: the plan says so and nothing is trained
    again = pytester.runpytest_subprocess("--profile", "zootest", "--claims-dir", str(pytester.path / "cl"),
                                          "--report-dir", str(pytester.path / "rep"), "-p", "no:cacheprovider", "-q")
    again.assert_outcomes(passed=1)
    assert "models: all 4 needed are in the zoo" in again.stderr.str() and "memgen: models trained" not in again.stderr.str()
