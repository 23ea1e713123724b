"""``pytest claims/ --recalibrate``: write what this run observed as *proposed* expectations and
thresholds, in one TOML file for review. The registered files are never written: a person moves
a proposal into ``claims/expectations/<id>.toml`` or ``claims/thresholds/<id>.toml`` after reading it.

Layout (valid TOML; each table is the registered file's table with a two-key prefix)::

    [expectations.<claim-id>.<profile>."<param-id>"]   # -> claims/expectations/<claim-id>.toml [<profile>."<param-id>"]
    expected = "SUPPORTED"
    provenance = "..."
    why = "..."

    [thresholds.<claim-id>.<profile>.<name>]           # -> claims/thresholds/<claim-id>.toml [<profile>.<name>]
    value = 1.0
    provenance = "..."
    why = "..."
"""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w

from ..cache import atomic_write_text
from ..errors import InputError


def proposals(report: dict) -> dict:
    commit = (report.get("commit") or {}).get("id") or "unknown commit"
    date = report["generated"][:10]
    provenance = f"memgen --recalibrate run, profile {report['profile']}, {date}, commit {commit[:12]}"
    expectations: dict = {}
    thresholds: dict = {}
    for r in report["results"]:
        if r.get("verdict"):
            registered = f" (registered: {r['expected']})" if r.get("expected") else " (not registered before)"
            expectations.setdefault(r["claim"], {}).setdefault(r["profile"], {})[r["param_id"]] = {
                "expected": r["verdict"],
                "provenance": provenance + f", test {r['nodeid']}",
                "why": f"observed verdict{registered}: {r['reason']}",
            }
        for name, p in (r.get("proposals") or {}).items():
            current = (r.get("thresholds") or {}).get(name)
            note = f" (registered: {current['value']})" if current and current.get("file") else " (not registered before)"
            thresholds.setdefault(r["claim"], {}).setdefault(r["profile"], {})[name] = {
                "value": p["value"],
                "provenance": provenance + f", test {r['nodeid']}",
                "why": p["why"] + note,
            }
    return {"expectations": expectations, "thresholds": thresholds}


def write_proposals(report: dict, path: str | os.PathLike, *, claims_dir: str | os.PathLike) -> Path:
    path = Path(path).resolve()
    for registered in (Path(claims_dir) / "expectations", Path(claims_dir) / "thresholds"):
        if path.is_relative_to(registered.resolve()):
            raise InputError(f"--proposed-path {path} lies inside {registered}: proposals never overwrite registered files")
    header = (
        "# Proposed by `pytest --recalibrate`: review, then copy a table into the registered file it names\n"
        "# ([expectations.<id>.<profile>.<param>] -> claims/expectations/<id>.toml as [<profile>.<param>];\n"
        "#  [thresholds.<id>.<profile>.<name>] -> claims/thresholds/<id>.toml as [<profile>.<name>]).\n"
    )
    atomic_write_text(path, header + tomli_w.dumps(proposals(report)))
    return path
