"""The claims plugin run on small throw-away projects with pytester: verdicts against registered
expectations, failure messages with the observed numbers, the report under -k and -n 2, escaping,
and refusal of malformed files and unknown claim ids."""

import json
import textwrap

import pytest

# imported here, before pytester's in-process runs snapshot and restore sys.modules: a module first
# imported inside a test is dropped after it, and numpy's extension modules cannot load twice
from studies.claims.registry import get_claim
from studies.report.html import render_html
from studies.report.verdict_report import build_report

pytest_plugins = ["pytester"]

EXPECT = """
[smoke."random-N10"]
expected = "SUPPORTED"
provenance = "pytester fixture"
why = "the test says so"

[smoke."identity-N10"]
expected = "REFUTED"
provenance = "pytester fixture"
why = "refuted and still green"
"""

THRESH = """
["*".gap_db]
value = 1.0
provenance = "pytester fixture"
why = "a tolerance for the test"
"""

TESTS = """
import pytest
from studies.claims.verdict import SUPPORTED, REFUTED

@pytest.mark.claim("psnr-gap")
@pytest.mark.parametrize("protocol, gap", [("random", 0.4), ("identity", 3.0)], ids=["random-N10", "identity-N10"])
def test_gap(claim, protocol, gap):
    claim.param(protocol=protocol, N=10)
    limit = claim.threshold("gap_db")
    claim.measure("gap_db", gap, ci=(gap - 0.1, gap + 0.1), threshold=limit, direction="<", unit="dB", key=True)
    claim.method("gap below threshold; no test, alpha n/a")
    claim.conclude(SUPPORTED if gap < limit else REFUTED, f"gap {gap} vs {limit}")
"""


def _project(pytester, *, tests=TESTS, expectations=EXPECT, thresholds=THRESH, claim_id="psnr-gap"):
    pytester.makeconftest('pytest_plugins = ["studies.claims.plugin"]')
    for sub, text in (("expectations", expectations), ("thresholds", thresholds)):
        folder = pytester.path / "cl" / sub
        folder.mkdir(parents=True, exist_ok=True)
        if text is not None:
            (folder / f"{claim_id}.toml").write_text(textwrap.dedent(text))
    pytester.makepyfile(test_claim_x=tests)
    return ["--claims-dir", str(pytester.path / "cl"), "--report-dir", str(pytester.path / "rep"), "-p", "no:cacheprovider"]


def _has(result, *fragments: str) -> None:
    """Each fragment appears verbatim in pytest's output (fnmatch would read [..] as a character class)."""
    out = result.stdout.str() + result.stderr.str()
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in the output:\n{out}"


def _report(pytester) -> dict:
    return json.loads((pytester.path / "rep" / "verdict.json").read_text())


def _html(pytester) -> str:
    return (pytester.path / "rep" / "verdict.html").read_text()


def test_supported_and_refuted_as_expected_both_pass(pytester):
    args = _project(pytester)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2)
    report = _report(pytester)
    by_id = {r["param_id"]: r for r in report["results"]}
    assert by_id["random-N10"]["verdict"] == "SUPPORTED" and by_id["random-N10"]["status"] == "as-expected"
    assert by_id["identity-N10"]["verdict"] == "REFUTED" and by_id["identity-N10"]["expected"] == "REFUTED"
    assert by_id["random-N10"]["params"] == {"protocol": "random", "gap": 0.4, "N": 10}
    assert by_id["random-N10"]["measures"][0]["ci"] == [pytest.approx(0.3), pytest.approx(0.5)]
    assert by_id["random-N10"]["thresholds"]["gap_db"]["provenance"] == "pytester fixture"
    assert report["profile"] == "smoke" and report["summary"]["status"]["as-expected"] == 2
    for key in ("machine", "commit", "packages", "duration_s", "generated"):
        assert key in report
    html = _html(pytester)
    assert 'id="summary"' in html and "psnr-gap" in html and "random-N10" in html and "0.4 dB [0.3, 0.5]" in html
    result.stdout.fnmatch_lines(["*memgen claims (profile smoke): 2 as-expected*", "*wrote*verdict.html"])


def test_unexpected_verdict_fails_with_the_observed_numbers(pytester):
    args = _project(pytester, expectations=EXPECT.replace('"REFUTED"', '"SUPPORTED"'))
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=1)
    _has(
        result,
        "claim psnr-gap [identity-N10] (profile smoke): observed REFUTED, expected SUPPORTED",
        "psnr-gap.toml:7 [smoke.identity-N10]",
        "reason given: gap 3.0 vs 1.0",
        "gap_db = 3 dB  CI [2.9, 3.1] threshold < 1 (NOT met)",
        "threshold gap_db = 1 (pytester fixture)",
    )
    r = [r for r in _report(pytester)["results"] if r["param_id"] == "identity-N10"][0]
    assert r["status"] == "unexpected" and r["outcome"] == "failed" and "observed REFUTED" in r["message"]


def test_unregistered_parametrisation_fails_naming_the_file_and_section(pytester):
    args = _project(pytester, expectations=EXPECT.split('[smoke."identity-N10"]')[0])
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=1)
    _has(result, "claim psnr-gap [identity-N10] is unregistered for profile 'smoke'", '[smoke."identity-N10"]', "cl/expectations/psnr-gap.toml")
    assert {r["status"] for r in _report(pytester)["results"]} == {"as-expected", "unregistered"}


def test_star_profile_and_star_parametrisation_match_any(pytester):
    star = '["*"."*"]\nexpected = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n'
    args = _project(pytester, expectations=star, tests=TESTS.replace("3.0", "0.5"))
    pytester.runpytest(*args, "--profile", "celeba40").assert_outcomes(passed=2)
    assert _report(pytester)["profile"] == "celeba40"


def test_missing_conclude_errors_and_skips_are_recorded_as_such(pytester):
    tests = """
        import pytest

        @pytest.mark.claim("psnr-gap")
        def test_forgets(claim):
            claim.measure("x", 1.0)

        @pytest.mark.claim("psnr-gap")
        def test_raises(claim):
            raise RuntimeError("model diverged")

        @pytest.mark.claim("psnr-gap")
        def test_skips(claim):
            pytest.skip("needs real CelebA images")

        @pytest.mark.claim("psnr-gap")
        def test_inconclusive(claim):
            claim.conclude("INCONCLUSIVE", "genuine LPIPS weights missing")
    """
    star = '[smoke."*"]\nexpected = "INCONCLUSIVE"\nprovenance = "p"\nwhy = "w"\n'
    args = _project(pytester, tests=textwrap.dedent(tests), expectations=star)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    _has(result, "the test never called claim.conclude(verdict, reason)")
    records = {r["name"]: r for r in _report(pytester)["results"]}
    assert records["test_forgets"]["status"] == "no-verdict"
    assert records["test_raises"]["status"] == "error" and "model diverged" in records["test_raises"]["message"]
    assert records["test_raises"]["verdict"] is None
    assert records["test_skips"]["status"] == "skipped" and records["test_skips"]["message"] == "needs real CelebA images"
    assert records["test_inconclusive"]["verdict"] == "INCONCLUSIVE"
    assert records["test_inconclusive"]["reason"] == "genuine LPIPS weights missing"


def test_k_selection_reports_only_what_ran(pytester):
    args = _project(pytester)
    pytester.runpytest(*args, "-k", "identity").assert_outcomes(passed=1)
    assert [r["param_id"] for r in _report(pytester)["results"]] == ["identity-N10"]
    assert "random-N10" not in _html(pytester)


def test_xdist_workers_results_are_merged(pytester):
    tests = TESTS.replace(
        '[("random", 0.4), ("identity", 3.0)], ids=["random-N10", "identity-N10"]',
        '[("random", 0.4), ("identity", 3.0), ("random", 0.2), ("identity", 2.0)], ids=["random-N10", "identity-N10", "random-N100", "identity-N100"]',
    )
    star = EXPECT + '\n[smoke."random-N100"]\nexpected = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n[smoke."identity-N100"]\nexpected = "REFUTED"\nprovenance = "p"\nwhy = "w"\n'
    args = _project(pytester, tests=tests, expectations=star)
    result = pytester.runpytest_subprocess(*args, "-n", "2")
    result.assert_outcomes(passed=4)
    report = _report(pytester)
    assert sorted(r["param_id"] for r in report["results"]) == ["identity-N10", "identity-N100", "random-N10", "random-N100"]
    assert report["workers"] == ["gw0", "gw1"]
    assert _html(pytester).count('class="run"') == 4


def test_report_is_written_when_tests_fail(pytester):
    args = _project(pytester, expectations=EXPECT.replace('"SUPPORTED"', '"INCONCLUSIVE"'))
    result = pytester.runpytest(*args)
    assert result.ret == 1
    assert _report(pytester)["summary"]["status"]["unexpected"] == 1


def test_markup_in_param_id_and_statement_is_escaped(pytester):
    tests = """
        import pytest

        @pytest.mark.claim("psnr-gap")
        @pytest.mark.parametrize("p", ["x"], ids=["<script>alert('p')</script>"])
        def test_x(claim, p):
            claim.note("<img src=x onerror=alert(1)>")
            claim.conclude("SUPPORTED", "fine <b>bold</b>")
    """
    star = '[smoke."*"]\nexpected = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n'
    args = _project(pytester, tests=textwrap.dedent(tests), expectations=star)
    pytester.runpytest(*args).assert_outcomes(passed=1)
    html = _html(pytester)
    assert "<script" not in html and "<img src=x" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#39;p&#39;)&lt;/script&gt;" in html
    # a statement is the registry's; one with markup (a record of a claim this checkout does not
    # register, read from another run) is escaped too

    record = json.loads((pytester.path / "rep" / "verdict.json").read_text())["results"][0]
    record.update(claim="not-registered", statement="gap <script>alert('s')</script> shrinks", source="K24 <i>Fig</i>")
    page = render_html(build_report([record], profile="smoke", started=0.0, finished=1.0, rootdir=pytester.path, args=[], recalibrate=False))
    assert "<script" not in page and "gap &lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt; shrinks" in page


def test_figures_are_embedded_as_png(pytester):
    tests = """
        import pytest
        from matplotlib.figure import Figure

        @pytest.mark.claim("psnr-gap")
        def test_fig(claim):
            fig = Figure(figsize=(2, 2))
            fig.subplots().plot([10, 100, 1000], [17.7, 6.0, 1.1])
            claim.figure("gap vs N", fig, "PSNR gap shrinks")
            claim.table("gaps", ["N", "gap"], [[10, 17.7], [100, 6.0]])
            claim.conclude("SUPPORTED", "drawn")
    """
    star = '[smoke."*"]\nexpected = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n'
    args = _project(pytester, tests=textwrap.dedent(tests), expectations=star)
    pytester.runpytest(*args).assert_outcomes(passed=1)
    import base64

    fig = _report(pytester)["results"][0]["figures"][0]
    assert base64.b64decode(fig["png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert 'src="data:image/png;base64,' + fig["png_base64"][:40] in _html(pytester)
    assert "<caption>gaps</caption>" in _html(pytester)


def test_recalibrate_proposes_without_touching_registered_files(pytester):
    tests = TESTS.replace('    limit = claim.threshold("gap_db")', '    claim.propose("gap_db", 2.5, why="midway between the observed gaps")\n    limit = claim.threshold("gap_db")')
    args = _project(pytester, tests=tests, thresholds=None, expectations=EXPECT.split('[smoke."identity-N10"]')[0])
    before = (pytester.path / "cl" / "expectations" / "psnr-gap.toml").read_text()
    pytester.runpytest(*args).assert_outcomes(errors=0, failed=2)  # no threshold registered: both fail
    result = pytester.runpytest(*args, "--recalibrate")
    result.assert_outcomes(passed=2)
    import tomllib

    proposed = tomllib.loads((pytester.path / "cl" / "proposed.toml").read_text())
    exp = proposed["expectations"]["psnr-gap"]["smoke"]
    assert exp["random-N10"]["expected"] == "SUPPORTED" and "registered: SUPPORTED" in exp["random-N10"]["why"]
    assert exp["identity-N10"]["expected"] == "REFUTED" and "not registered before" in exp["identity-N10"]["why"]
    t = proposed["thresholds"]["psnr-gap"]["smoke"]["gap_db"]
    assert t["value"] == 2.5 and "midway" in t["why"] and "--recalibrate" in t["provenance"]
    assert (pytester.path / "cl" / "expectations" / "psnr-gap.toml").read_text() == before
    assert not (pytester.path / "cl" / "thresholds" / "psnr-gap.toml").exists()


def test_unknown_claim_id_is_a_collection_error_naming_it(pytester):
    args = _project(pytester, tests=TESTS.replace('claim("psnr-gap")', 'claim("psnr-gapp")'))
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=1)
    _has(result, "unknown claim id 'psnr-gapp'; registered ids:")
    assert not (pytester.path / "rep" / "verdict.json").exists()


@pytest.mark.parametrize("marker, message", [
    ('claim("psnr-gap", statement="gap shrinks")', "takes the claim id only, got arguments ['statement']; a claim's statement and source are registered in studies/claims/registry.py"),
    ('claim("psnr-gap", statment="x")', "takes the claim id only, got arguments ['statment']"),
    ('claim("psnr-gap", "originality")', "takes exactly one claim id"),
])
def test_bad_marker_arguments_are_collection_errors(pytester, marker, message):
    args = _project(pytester, tests=TESTS.replace('claim("psnr-gap")', marker))
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=1)
    _has(result, message)


def test_the_record_carries_the_registry_statement_and_source(pytester):
    pytester.runpytest(*_project(pytester)).assert_outcomes(passed=2)
    info = get_claim("psnr-gap")
    records = _report(pytester)["results"]
    assert {(r["statement"], r["source"]) for r in records} == {(info.statement, info.source)}


@pytest.mark.parametrize(
    "which, text, expected",
    [
        ("expectations", '[smoke."random-N10"]\nexpected = "SUPPORTED\nprovenance = "p"\n', r"cl/expectations/psnr-gap.toml:2: |invalid TOML"),
        ("expectations", '\n\n[smoke."random-N10"]\nexpected = "SUPORTED"\nprovenance = "p"\nwhy = "w"\n', "cl/expectations/psnr-gap.toml:4: |unknown verdict 'SUPORTED'"),
        ("expectations", '# c\n[smoke."random-N10"]\nexpected = "SUPPORTED"\nwhy = "w"\n', "cl/expectations/psnr-gap.toml:2: |missing 'provenance'"),
        ("expectations", '[smok."random-N10"]\nexpected = "SUPPORTED"\nprovenance = "p"\nwhy = "w"\n', "cl/expectations/psnr-gap.toml:1: |unknown profile 'smok'"),
        ("thresholds", '["*".gap_db]\nvalue = "one"\nprovenance = "p"\nwhy = "w"\n', "cl/thresholds/psnr-gap.toml:2: |value must be a finite number"),
        ("thresholds", '["*".gap_db]\nvalue = 1.0\nprovenance = ""\nwhy = "w"\n', "cl/thresholds/psnr-gap.toml:3: |'provenance' must be a non-empty string"),
    ],
)
def test_malformed_files_are_refused_with_file_and_line(pytester, which, text, expected):
    kwargs = {"expectations": EXPECT, "thresholds": THRESH, which: text}
    args = _project(pytester, **kwargs)
    result = pytester.runpytest(*args)
    result.assert_outcomes(errors=1)
    _has(result, *expected.split("|"))


def test_unknown_profile_is_a_usage_error(pytester):
    args = _project(pytester)
    result = pytester.runpytest(*args, "--profile", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    _has(result, "--profile: unknown profile 'nope'")


def test_not_run_and_not_applicable_end_the_test_without_a_verdict(pytester):
    tests = """
        import pytest

        @pytest.mark.claim("psnr-gap")
        def test_no_input(claim):
            claim.param(protocol="identity")
            try:
                claim.not_run("CelebA metadata folder not found", "MEMGEN_CELEBA_META=DIR")
            except Exception:  # a test's broad except cannot swallow the end of the claim
                raise AssertionError("not_run was caught as an Exception")
            raise AssertionError("not_run returned")

        @pytest.mark.claim("psnr-gap")
        def test_no_field(claim):
            claim.not_applicable("Fashion-MNIST has no identities")

        @pytest.mark.claim("psnr-gap")
        def test_needs_missing(claim):
            claim.not_run("absent", "")

        @pytest.mark.claim("psnr-gap")
        def test_after_conclude(claim):
            claim.conclude("SUPPORTED", "r")
            claim.not_applicable("too late")
    """
    # no expectation file entry at all: a claim that did not run needs none
    args = _project(pytester, tests=textwrap.dedent(tests), expectations="")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=2)
    _has(result, "not_run needs the command or option that provides the missing input", "not-applicable after conclude(SUPPORTED)")
    report = _report(pytester)
    records = {r["name"]: r for r in report["results"]}
    a, b = records["test_no_input"], records["test_no_field"]
    assert (a["status"], a["outcome"], a["verdict"], a["expected"], a["needs"]) == ("not-run", "passed", None, None, "MEMGEN_CELEBA_META=DIR")
    assert a["reason"] == "CelebA metadata folder not found"
    assert (b["status"], b["outcome"], b["verdict"], b["needs"]) == ("not-applicable", "passed", None, None)
    assert records["test_needs_missing"]["status"] == "error" and records["test_after_conclude"]["status"] == "error"
    summary = report["summary"]
    assert (summary["not_run"], summary["not_applicable"]) == (1, 1)
    assert summary["status"]["not-run"] == 1 and summary["status"]["not-applicable"] == 1
    assert summary["verdicts"] == {}  # the verdict of the test that raised after concluding is dropped
    html = _html(pytester)
    assert "Provide it with:" in html and "MEMGEN_CELEBA_META=DIR" in html and "NOT APPLICABLE" in html


RULE_TESTS = """
import pytest
from studies.claims import operating
from studies.claims.verdict import SUPPORTED, REFUTED

@pytest.mark.claim("psnr-gap")
@pytest.mark.parametrize("protocol, gap", [("random", 0.4), ("identity", 3.0)], ids=["random-N10", "identity-N10"])
def test_gap(claim, protocol, gap):
    if protocol == "identity":
        claim.control("memorising")
    claim.rule(operating.pair_t(3, 0.05, 0.1), decided_by="pair-level-t")
    claim.conclude(SUPPORTED if gap < 1 else REFUTED, f"gap {gap}")
"""


def test_rule_and_control_are_recorded_and_rendered(pytester):
    args = _project(pytester, tests=RULE_TESTS)
    pytester.runpytest(*args).assert_outcomes(passed=2)
    by_id = {r["param_id"]: r for r in _report(pytester)["results"]}
    rule = by_id["random-N10"]["rule"]
    assert rule["name"] == "pair-level-t" and rule["alpha"] == 0.05 and rule["simulations"] == 10_000
    assert 0 <= rule["false_positive_rate"] <= 0.06 and 0 <= rule["power"] <= 1 and rule["decided_by"] == "pair-level-t"
    assert by_id["random-N10"]["control"] is None and by_id["identity-N10"]["control"] == "memorising"
    html = _html(pytester)
    assert 'id="controls"' in html and "measured false-positive rate" in html


def test_absent_protocols_of_the_registered_profiles():
    from studies.claims.core import PROTOCOLS, absent_protocol_reason
    from studies.profiles import get_profile

    fashion, smoke = get_profile("fashion"), get_profile("smoke")
    assert [p for p in PROTOCOLS if absent_protocol_reason(fashion, p) is None] == ["random", "footwear"]
    assert "needs identities" in absent_protocol_reason(fashion, "identity") and "Fashion-MNIST" in absent_protocol_reason(fashion, "identity")
    assert "Footwear" in absent_protocol_reason(smoke, "footwear")
    assert absent_protocol_reason(smoke, "identity") is None
