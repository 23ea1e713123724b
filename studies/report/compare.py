"""Profiles side by side: this run's ``verdict.json`` and the ``verdict.json`` of other profiles' runs
(smoke beside fashion, say), one row per claim and parametrisation, one column per profile. Each cell
shows what that run's own report shows: the outcome, the registered expectation (its kind, and the
prediction a snapshot replaced) and the deciding number. Everything comes from the JSON files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError

REPORT_FILE = "verdict.json"


def load_report(path: str | os.PathLike) -> dict:
    """A verdict.json (or the folder holding one), checked for what the comparison reads; a file that
    is missing, not JSON, or not a memgen report is an InputError naming it."""
    path = Path(path)
    if path.is_dir():
        path = path / REPORT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: report not found (a verdict.json written by memgen verdict, or its folder)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or not isinstance(data.get("profile"), str):
        raise InputError(f"{path}: not a memgen verdict report (needs 'profile' and a 'results' list)")
    for i, r in enumerate(data["results"]):
        if not isinstance(r, dict) or not isinstance(r.get("claim"), str) or "status" not in r:
            raise InputError(f"{path}: results[{i}] is not a claim run (needs 'claim' and 'status')")
    data["_path"] = str(path)
    return data


def _key(r: dict) -> tuple[str, str, str]:
    return (r["claim"], str(r.get("param_id") or "*"), str(r.get("control") or ""))


def side_by_side(report: dict, others: list[dict]) -> dict:
    """{"profiles": [names], "sources": [where each came from], "rows": [{claim, param_id, control,
    cells: [record or None per profile]}]}: the union of the runs, in the papers' order (claims), then
    by protocol and id. The first column is ``report`` itself."""
    from .reading import PROTOCOLS, claim_rank, protocol_of

    reports = [report] + list(others)
    index: dict[tuple, list] = {}
    first: dict[tuple, dict] = {}
    for col, rep in enumerate(reports):
        for r in rep["results"]:
            k = _key(r)
            first.setdefault(k, r)
            index.setdefault(k, [None] * len(reports))[col] = r

    def order(k: tuple) -> tuple:
        p = protocol_of(first[k])
        return (bool(k[2]), claim_rank(k[0]), PROTOCOLS.index(p) if p in PROTOCOLS else len(PROTOCOLS), k[1], k[2])

    rows = [{"claim": k[0], "param_id": k[1], "control": k[2], "cells": index[k]} for k in sorted(index, key=order)]
    names = [rep["profile"] for rep in reports]
    sources = ["this report"] + [rep.get("_path", "") for rep in others]
    commits = [((rep.get("commit") or {}).get("id") or "")[:12] for rep in reports]
    generated = [rep.get("generated", "") for rep in reports]
    return {"profiles": names, "sources": sources, "commits": commits, "generated": generated, "rows": rows}
