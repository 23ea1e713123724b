"""The verdict report: ``verdict.json`` (everything a claim run measured, with where and how it ran)
and ``verdict.html`` rendered from that JSON alone, so the page never shows a number the JSON lacks."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Optional

from ..claims.registry import CLAIMS
from ..claims.verdict import NOT_APPLICABLE, NOT_RUN, STATUSES
from ..machine import cpu_model, machine_key

SCHEMA = 1
PACKAGES = ("memgen", "torch", "torchvision", "numpy", "scipy", "pillow", "lpips", "matplotlib", "jinja2", "pytest", "pytest-xdist")


def machine_info() -> dict:
    return {
        "node": platform.node(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        # the CPU and the vector ISA torch dispatches to: trained weights are bit-identical for a seed on
        # one machine, but another ISA rounds differently and a chaotic training run ends elsewhere, so a
        # snapshot verdict's provenance needs them
        "cpu_model": cpu_model(),
        "machine_key": machine_key(),  # the key of machine-keyed expectations (studies/machine.py)
        "torch_cpu_capability": _torch_cpu_capability(),
    }


def _torch_cpu_capability() -> str | None:
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # torch absent or too old: provenance only, never a failure
        return None


def git_commit(rootdir: str | os.PathLike) -> dict:
    """HEAD of the repository holding ``rootdir`` and whether the working tree differs from it."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=rootdir, capture_output=True, text=True, timeout=20, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"id": None, "branch": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"id": commit, "branch": git("rev-parse", "--abbrev-ref", "HEAD"), "dirty": bool(status) if status is not None else None}


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def key_measure(record: dict) -> dict | None:
    """The number the summary table shows: the measure marked ``key=True``, else the first one."""
    measures = record.get("measures") or []
    for m in measures:
        if m.get("key"):
            return m
    return measures[0] if measures else None


def build_report(records: list[dict], *, profile: str, started: float, finished: float, rootdir, args: list[str], recalibrate: bool,
                 phases: Optional[dict] = None) -> dict:
    from .reading import PROTOCOLS, claim_rank, count_outcomes, profile_summary, protocol_of

    def protocol_rank(r: dict) -> int:
        p = protocol_of(r)
        return PROTOCOLS.index(p) if p in PROTOCOLS else len(PROTOCOLS)

    # the papers' order of claims; within a claim the protocols as the papers list them (random first)
    records = sorted(records, key=lambda r: (claim_rank(r["claim"]), protocol_rank(r), r["nodeid"]))
    for r in records:
        r["key_measure"] = key_measure(r)
    counts = {s: 0 for s in STATUSES}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    outcomes = count_outcomes(records)
    verdicts = outcomes["verdicts"]
    claims = {}
    for r in records:
        info = CLAIMS.get(r["claim"])
        if info is not None:  # the registry's wording: a claim test names the claim's id only
            claims.setdefault(r["claim"], {"source": info.source, "statement": info.statement, "measurable": info.measurable})
        else:  # a record of a claim this checkout does not register (a report rebuilt from another run's records)
            claims.setdefault(r["claim"], {"source": r["source"], "statement": r["statement"], "measurable": ""})
    return {
        "schema": SCHEMA,
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "profile": profile,
        "recalibrate": recalibrate,
        "machine": machine_info(),
        "commit": git_commit(rootdir),
        "packages": package_versions(),
        "args": args,
        "duration_s": round(finished - started, 3),
        "tests_duration_s": round(sum(r.get("duration_s", 0.0) for r in records), 3),
        "workers": sorted({r["worker"] for r in records if r.get("worker")}),
        # verdicts and the runs that reached none on purpose (an absent input, data without the field a
        # protocol needs) are counted apart: a missing input is not a scientific outcome
        "summary": {"total": len(records), "status": counts, "verdicts": verdicts, "with_verdict": outcomes["with_verdict"],
                    "not_run": outcomes[NOT_RUN], "not_applicable": outcomes[NOT_APPLICABLE]},
        "profile_info": profile_summary(profile),
        "phases": dict(phases or {}),
        "claims": claims,
        "results": records,
    }


RUN_ID_META = "memgen-run-id"


def write_report(report: dict, report_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``verdict.json`` and ``verdict.html`` (rendered from the JSON text as written) as a pair:
    both go to temporary files first and are renamed into place only when both are complete, so a
    kill while rendering leaves the previous pair whole. The JSON carries a ``run_id`` that the HTML
    repeats in ``<meta name="memgen-run-id">``: a kill between the two renames (the one window left)
    shows as a mismatch (``report_pair_consistent``). Temporary files a killed writer left are removed."""
    import json
    import uuid

    from ..cache import atomic_path
    from .html import render_html

    report_dir = Path(report_dir)
    json_path, html_path = report_dir / "verdict.json", report_dir / "verdict.html"
    if report_dir.is_dir():
        for stale in list(report_dir.glob(".verdict.json.*.tmp")) + list(report_dir.glob(".verdict.html.*.tmp")):
            stale.unlink(missing_ok=True)
    report = dict(report, run_id=report.get("run_id") or uuid.uuid4().hex)
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    html = _mark_html(render_html(json.loads(text)), report["run_id"])
    with atomic_path(json_path) as tmp_json, atomic_path(html_path) as tmp_html:
        for tmp, content in ((tmp_json, text), (tmp_html, html)):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        # leaving the inner block publishes the HTML, then the outer one the JSON
    return json_path, html_path


def _mark_html(html: str, run_id: str) -> str:
    tag = f'<meta name="{RUN_ID_META}" content="{run_id}">'
    i = html.find("<head>")
    if i < 0:
        raise ValueError("the report template has no <head>")  # a template bug, not user input
    i += len("<head>")
    return html[:i] + "\n" + tag + html[i:]


def report_pair_consistent(report_dir: str | os.PathLike) -> bool:
    """Whether ``verdict.html`` was rendered from the ``verdict.json`` beside it (same run id)."""
    import json
    import re

    report_dir = Path(report_dir)
    try:
        run_id = json.loads((report_dir / "verdict.json").read_text(encoding="utf-8")).get("run_id")
        html = (report_dir / "verdict.html").read_text(encoding="utf-8")
    except (OSError, ValueError, AttributeError):
        return False
    m = re.search(rf'<meta name="{RUN_ID_META}" content="([0-9a-f]+)">', html)
    return bool(run_id) and m is not None and m.group(1) == run_id
