"""pytest plugin of the claims machinery (loaded by the root ``conftest.py``).

Shaped like pytest-benchmark's plugin: a marker with validated arguments (checked at collection),
a function-scoped fixture that gathers one test's results, a session object that collects them
(from xdist workers too, through ``workeroutput``) and writes ``verdict.json`` then ``verdict.html``
rendered from it at session end, whether tests passed or not."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ..errors import InputError, MemgenError
from ..profiles import DEFAULT_PROFILE, get_profile
from .expectations import ANY, ClaimFiles, load_claim_files, lookup
from .recorder import Claim, ClaimEnded, plain
from .registry import ClaimInfo, get_claim
from .verdict import AS_EXPECTED, ENDED, ERROR, NO_VERDICT, SKIPPED

PROFILE_ENV = "MEMGEN_PROFILE"
_WORKER_KEY = "memgen_claims"


class _ItemClaim:
    """The claim one collected test tests (its registry entry) and the claim's registered files."""

    def __init__(self, info: ClaimInfo, files: ClaimFiles):
        self.info, self.files = info, files


_ITEM = pytest.StashKey[_ItemClaim]()
_RECORDER = pytest.StashKey[Claim]()
_STATE = pytest.StashKey[dict]()
_SESSION = pytest.StashKey["ClaimsSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memgen claims", "memgen claims machinery (verdicts and report)")
    group.addoption(
        "--profile", dest="memgen_profile", default=None, metavar="NAME",
        help=f"profile to run the claims under (default: ${PROFILE_ENV} or {DEFAULT_PROFILE!r})",
    )
    group.addoption(
        "--recalibrate", dest="memgen_recalibrate", action="store_true",
        help="measure and write proposed thresholds and expectations for review (never overwrites the registered ones); "
        "mismatched or unregistered verdicts do not fail",
    )
    group.addoption("--report-dir", dest="memgen_report_dir", default=None, metavar="DIR", help="where verdict.json and verdict.html go (default: ini report_dir)")
    group.addoption(
        "--claims-dir", dest="memgen_claims_dir", default=None, metavar="DIR",
        help="folder holding expectations/ and thresholds/ (default: ini claims_dir)",
    )
    group.addoption("--proposed-path", dest="memgen_proposed_path", default=None, metavar="FILE", help="where --recalibrate writes its proposals (default: <claims-dir>/proposed.toml)")
    parser.addini("claims_dir", "folder holding expectations/ and thresholds/ (relative to rootdir)", default="claims")
    parser.addini("report_dir", "folder for verdict.json and verdict.html (relative to rootdir)", default="reports")


def _resolve(option: str | None, ini: str, config: pytest.Config) -> Path:
    if option:
        return Path(option).expanduser().resolve()
    return (config.rootpath / config.getini(ini)).resolve()


class ClaimsSession:
    """Collects one record per claim test run (here or on xdist workers) and writes the report."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.profile = config.getoption("memgen_profile") or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        try:
            get_profile(self.profile)
        except InputError as exc:
            raise pytest.UsageError(f"--profile: {exc}") from None
        self.recalibrate = bool(config.getoption("memgen_recalibrate"))
        self.claims_dir = _resolve(config.getoption("memgen_claims_dir"), "claims_dir", config)
        self.report_dir = _resolve(config.getoption("memgen_report_dir"), "report_dir", config)
        proposed = config.getoption("memgen_proposed_path")
        self.proposed_path = Path(proposed).expanduser().resolve() if proposed else self.claims_dir / "proposed.toml"
        self.files: dict[str, ClaimFiles | InputError] = {}
        self.records: list[dict] = []
        self.started = time.time()
        from ..progress import _cpu_seconds

        self._wall0, self._cpu0 = time.perf_counter(), _cpu_seconds()
        self.written: list[Path] = []
        self.write_error: str | None = None
        self.worker_id = getattr(config, "workerinput", {}).get("workerid")

    def claim_files(self, claim_id: str) -> ClaimFiles:
        if claim_id not in self.files:
            try:
                self.files[claim_id] = load_claim_files(self.claims_dir, claim_id)
            except InputError as exc:
                self.files[claim_id] = exc
        found = self.files[claim_id]
        if isinstance(found, InputError):
            raise found
        return found

    def finish(self) -> None:
        if self.worker_id is not None:
            self.config.workeroutput[_WORKER_KEY] = json.dumps(self.records)
            return
        if not self.records:
            return  # no claim test ran (a unit-test run): leave the last report alone
        from ..report.html import render_html
        from ..report.verdict_report import build_report, write_report

        try:
            phases = self.phases()
            wall, cpu = time.perf_counter(), _cpu()
            report = build_report(
                self.records, profile=self.profile, started=self.started, finished=time.time(),
                rootdir=self.config.rootpath, args=list(self.config.invocation_params.args), recalibrate=self.recalibrate,
                phases=phases,
            )
            render_html(json.loads(json.dumps(report)))  # timed as the report phase; written below with its own row
            report["phases"]["report"] = {"wall_s": round(time.perf_counter() - wall, 3), "cpu_s": round(_cpu() - cpu, 3),
                                          "note": "verdict.json built and verdict.html rendered"}
            self.written = list(write_report(report, self.report_dir))
            if self.recalibrate:
                from .recalibrate import write_proposals

                self.written.append(write_proposals(report, self.proposed_path, claims_dir=self.claims_dir))
        except MemgenError as exc:
            self.write_error = str(exc)


    def phases(self) -> dict:
        """Wall and CPU seconds per phase: those measured before pytest (``$MEMGEN_PHASES``: setup),
        those the fixtures measured in this process (data, training, evaluation), and the claims,
        the rest of the session."""
        from ..progress import TIMER, ordered, phases_from_env

        out = dict(phases_from_env())
        inner = {k: dict(v) for k, v in TIMER.phases.items()}
        wall = time.perf_counter() - self._wall0 - sum(v["wall_s"] for v in inner.values())
        cpu = _cpu() - self._cpu0 - sum(v["cpu_s"] for v in inner.values())
        out.update(inner)
        out["claims"] = {"wall_s": round(max(0.0, wall), 3), "cpu_s": round(max(0.0, cpu), 3),
                         "note": f"{len(self.records)} claim runs, the session less the phases above"}
        return ordered(out)


def _cpu() -> float:
    from ..progress import _cpu_seconds

    return _cpu_seconds()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id): a test of the published claim registered as id (studies.claims.registry); yields a verdict")
    # added by this plugin to the tests of a claim registered zoo=True (fixtures.evaluation builds its models up front)
    config.addinivalue_line("markers", "zoo: the test needs trained models of the active profile (built up front)")
    config.stash[_SESSION] = ClaimsSession(config)


def _item_claim(item: pytest.Item, session: ClaimsSession) -> _ItemClaim | None:
    marks = list(item.iter_markers("claim"))
    if not marks:
        return None
    ids = set()
    for mark in marks:
        args = list(mark.args)
        if "id" in mark.kwargs:
            args.insert(0, mark.kwargs["id"])
        if len(args) != 1 or not isinstance(args[0], str):
            raise InputError(f"{item.nodeid}: @pytest.mark.claim takes exactly one claim id, e.g. claim(\"psnr-gap\"); got args {mark.args!r}")
        unknown = set(mark.kwargs) - {"id"}
        if unknown:
            # the claim's statement and source live in its registry entry, once (studies.claims.registry)
            raise InputError(f"{item.nodeid}: @pytest.mark.claim takes the claim id only, got arguments {sorted(unknown)}; "
                             f"a claim's statement and source are registered in studies/claims/registry.py")
        ids.add(args[0])
    if len(ids) > 1:
        raise InputError(f"{item.nodeid}: one test tests one claim, got {sorted(ids)}")
    info = get_claim(ids.pop())
    if info.zoo:  # the registry says the claim needs trained models: `-m zoo` selects it, fixtures.evaluation builds them
        item.add_marker("zoo")
    return _ItemClaim(info, session.claim_files(info.id))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A claim test with a ``protocol`` argument runs once per case of its registry entry
    (``ClaimInfo.cases``): where a claim applies is said once, in studies/claims/registry.py."""
    marks = list(metafunc.definition.iter_markers("claim"))
    if not marks or "protocol" not in metafunc.fixturenames or not marks[0].args:
        return
    for m in metafunc.definition.iter_markers("parametrize"):
        names = m.args[0] if m.args else m.kwargs.get("argnames", ())
        if "protocol" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return  # a test that parametrises protocol itself keeps its own list
    try:
        info = get_claim(marks[0].args[0])
    except InputError:
        return  # refused with its message when the item is made (_item_claim)
    if info.cases:
        metafunc.parametrize("protocol", info.cases)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object):
    result = yield
    items = result if isinstance(result, list) else [result]
    session = collector.config.stash[_SESSION]
    for item in items:
        if isinstance(item, pytest.Function):
            try:
                found = _item_claim(item, session)
            except InputError as exc:
                # a collection error, shown as the message alone: unknown ids and bad files are refused before anything runs
                raise collector.CollectError(str(exc)) from None
            if found is not None:
                item.stash[_ITEM] = found
    return result


def _param_id(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.id if callspec is not None else ANY


@pytest.fixture(scope="session")
def profile_name(pytestconfig: pytest.Config) -> str:
    """Name of the profile the claims run under (--profile, $MEMGEN_PROFILE, or smoke)."""
    return pytestconfig.stash[_SESSION].profile


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> Claim:
    """Records one claim test's parameters, measures, figures and verdict (docs/CONTRACTS.md)."""
    item = request.node
    found = item.stash.get(_ITEM, None)
    if found is None:
        raise InputError(f"{item.nodeid}: the claim fixture needs @pytest.mark.claim(\"<id>\")")
    session = request.config.stash[_SESSION]
    callspec = getattr(item, "callspec", None)
    recorder = Claim(
        info=found.info, param_id=_param_id(item), profile=session.profile,
        files=found.files, recalibrate=session.recalibrate, params=dict(callspec.params) if callspec else {},
    )
    item.stash[_RECORDER] = recorder
    return recorder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        result = yield  # a test that raised stops here: it is an error, not a verdict
    except ClaimEnded as ended:
        # claim.not_run / claim.not_applicable: no verdict on purpose; the test passes with that status,
        # unless the case is registered for this profile (Claim.judge): then it was meant to run
        item.stash[_STATE] = {"judged": ended.status}
        recorder = item.stash.get(_RECORDER, None)
        message = recorder.judge() if recorder is not None else None
        if message:
            item.stash[_STATE] = {"judged": recorder.status}
            pytest.fail(message, pytrace=False)
        return None
    if _ITEM not in item.stash:
        return result
    recorder = item.stash.get(_RECORDER, None)
    if recorder is None:
        item.stash[_STATE] = {"judged": NO_VERDICT}
        pytest.fail(f"claim test {item.nodeid} never used the claim fixture, so it reached no verdict", pytrace=False)
    message = recorder.judge()
    item.stash[_STATE] = {"judged": recorder.status}
    if message:
        pytest.fail(message, pytrace=False)
    return result


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = getattr(report, "longreprtext", "") or ""
    return text.strip().splitlines()[-1][:2000] if text.strip() else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    found = item.stash.get(_ITEM, None)
    if found is None:
        return report
    state = item.stash.setdefault(_STATE, {})
    state["duration"] = state.get("duration", 0.0) + report.duration
    if report.when == "setup" and not report.passed:
        state["status"] = SKIPPED if report.skipped else ERROR
        state["message"] = _reason(report)
    elif report.when == "call":
        if report.skipped:
            state["status"], state["message"] = SKIPPED, _reason(report)
        elif report.failed and "judged" not in state:
            state["status"] = ERROR
            state["message"] = call.excinfo.exconly()[:2000] if call.excinfo else _reason(report)
        elif report.failed:
            state["message"] = str(call.excinfo.value) if call.excinfo else _reason(report)
        state["outcome"] = report.outcome
    elif report.when == "teardown":
        if report.failed and state.get("status") != ERROR:
            state["status"] = ERROR
            state["message"] = ("teardown: " + _reason(report)).strip()
        _finish_record(item, found, state)
    return report


def _finish_record(item: pytest.Item, found: _ItemClaim, state: dict) -> None:
    session = item.config.stash[_SESSION]
    recorder = item.stash.get(_RECORDER, None)
    record = recorder.to_record() if recorder else {
        "claim": found.info.id, "param_id": _param_id(item), "profile": session.profile,
        "params": plain(dict(item.callspec.params)) if hasattr(item, "callspec") else {},
        "measures": [], "tables": [], "figures": [], "notes": [], "methods": [], "thresholds": {}, "proposals": {},
        "verdict": None, "reason": "", "expected": None, "expectation": None,
    }
    if record["expected"] is None and state.get("judged") not in ENDED:
        e = lookup(found.files.expectations, session.profile, record["param_id"])
        if e is not None:
            record["expected"] = e.expected.value
            record["expectation"] = {"kind": e.kind, "provenance": e.provenance, "why": e.why, "file": e.file, "line": e.line, "section": e.section}
    status = state.get("status") or state.get("judged") or AS_EXPECTED
    if status == ERROR and recorder is not None and recorder.verdict is not None and "judged" not in state:
        record["verdict"] = None  # a test that raised after concluding did not finish: no verdict
    outcome = {ERROR: "error", SKIPPED: "skipped"}.get(status, state.get("outcome", "passed"))  # pytest's outcome words
    record.update(
        nodeid=item.nodeid, name=item.name, source=found.info.source, statement=found.info.statement,
        status=status, outcome=outcome, message=state.get("message", ""), duration_s=round(state.get("duration", 0.0), 4),
        worker=session.worker_id, recalibrate=session.recalibrate,
    )
    session.records.append(record)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: merge what a worker recorded (pytest-benchmark does the same)."""
    data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if data:
        node.config.stash[_SESSION].records.extend(json.loads(data))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_SESSION].finish()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or (not state.written and not state.write_error):
        return
    if state.write_error:
        terminalreporter.write_line(f"memgen claims: report NOT written: {state.write_error}", red=True)
        return
    counts: dict[str, int] = {}
    for r in state.records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    terminalreporter.write_sep("-", f"memgen claims (profile {state.profile}): {summary}")
    for path in state.written:
        terminalreporter.write_line(f"memgen claims: wrote {path}")

