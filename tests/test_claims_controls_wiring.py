"""How the known-answer controls reach the claims, on a throw-away project with pytester and the real
claims/conftest.py: a memorising control on a split the profile lacks ends not applicable with the
profile's reason, one on a split it has runs and is judged against its registered expectation, the
controls end not applicable off the smoke profile, and a control that a claim cannot judge ends before
an expensive fixture is requested (memorisation-time-grows' snapshotted models)."""

import json
import textwrap
from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = '''
import os
import pytest

pytest_plugins = ["studies.claims.plugin"]


@pytest.fixture(scope="session")
def profile():
    from studies.profiles import get_profile

    return get_profile(os.environ.get("WIRING_PROFILE", "smoke"))


@pytest.fixture(scope="module")
def expensive():
    raise AssertionError("the expensive fixture was requested")
'''

TESTS = '''
import pytest
from studies.claims.core import memorising_control, parse_case
from studies.claims.verdict import SUPPORTED


@pytest.mark.claim("attribute-respected")
@pytest.mark.parametrize("protocol", ["eyeglasses", memorising_control("eyeglasses"), memorising_control("footwear")])
def test_split(claim, protocol):
    protocol, control = parse_case(protocol)
    if control:
        claim.control(control)
    claim.conclude(SUPPORTED, f"ran on {protocol} ({control})")


@pytest.mark.claim("memorisation-time-grows")
@pytest.mark.parametrize("space", ["random-control-memorising"])
def test_time(claim, request, space):
    _, control = parse_case(space)
    claim.control(control)
    claim.not_applicable("no training time")
    request.getfixturevalue("expensive")
'''

EXPECT = {
    "attribute-respected": """
[smoke.eyeglasses]
expected = "SUPPORTED"
provenance = "pytester fixture"
why = "the test says so"

[smoke.eyeglasses-control-memorising]
expected = "SUPPORTED"
kind = "prediction"
provenance = "pytester fixture"
why = "the test says so"
""",
    "memorisation-time-grows": None,
}


def _project(pytester):
    pytester.makeconftest(CONFTEST)
    (pytester.path / "claims").mkdir()
    (pytester.path / "claims" / "conftest.py").write_text((ROOT / "claims" / "conftest.py").read_text())
    for claim_id, text in EXPECT.items():
        for sub in ("expectations", "thresholds"):
            (pytester.path / "cl" / sub).mkdir(parents=True, exist_ok=True)
        if text:
            (pytester.path / "cl" / "expectations" / f"{claim_id}.toml").write_text(textwrap.dedent(text))
    (pytester.path / "claims" / "test_wiring.py").write_text(TESTS)
    return ["claims", "--claims-dir", str(pytester.path / "cl"), "--report-dir", str(pytester.path / "rep"), "-p", "no:cacheprovider"]


def _results(pytester) -> dict:
    return {(r["claim"], r["param_id"]): r for r in json.loads((pytester.path / "rep" / "verdict.json").read_text())["results"]}


def test_controls_on_the_splits_of_the_smoke_profile(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    result = pytester.runpytest_subprocess(*_project(pytester))
    result.assert_outcomes(passed=4)
    r = _results(pytester)
    own = r[("attribute-respected", "eyeglasses-control-memorising")]
    assert own["status"] == "as-expected" and own["control"] == "memorising" and "ran on eyeglasses (memorising)" in own["reason"]
    absent = r[("attribute-respected", "footwear-control-memorising")]
    assert absent["status"] == "not-applicable" and "has no footwear protocol" in absent["reason"]
    time = r[("memorisation-time-grows", "random-control-memorising")]
    assert time["status"] == "not-applicable" and time["reason"] == "no training time" and time["control"] == "memorising"


def test_controls_end_not_applicable_off_smoke(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("WIRING_PROFILE", "fashion_ci")
    result = pytester.runpytest_subprocess(*_project(pytester), "-k", "control-memorising and test_split")
    result.assert_outcomes(passed=2)
    for key in (("attribute-respected", "eyeglasses-control-memorising"), ("attribute-respected", "footwear-control-memorising")):
        rec = _results(pytester)[key]
        assert rec["status"] == "not-applicable" and "runs on the smoke profile" in rec["reason"]
