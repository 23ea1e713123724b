"""Registered expectations (predictions or snapshots, see ``kind``) and thresholds, each with its provenance.

``claims/expectations/<claim-id>.toml`` says, per profile and parametrisation id, which verdict a
claim test is expected to reach; ``claims/thresholds/<claim-id>.toml`` holds the named numbers a test
compares against. Tables are keyed ``[<profile>.<key>]`` where ``<profile>`` is a registered profile
or ``"*"`` (any profile), and ``<key>`` a parametrisation id or ``"*"`` (expectations) or a
threshold name. Lookups prefer the exact profile and id over ``"*"``:
(profile, id), (profile, "*"), ("*", id), ("*", "*").

A file that cannot be used is refused whole, with its path and the line of the offending table,
so a typo never silently turns a claim into "unregistered"."""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..machine import machine_key
from ..profiles import profile_names
from .registry import get_claim
from .verdict import Verdict, parse_verdict

ANY = "*"
_EXPECTATION_KEYS = {"expected": True, "provenance": True, "why": True, "kind": False, "commit": False, "date": False, "run": False,
                     "predicted": False, "finding": False, "machines": False, "machines_why": False}
# A snapshot observed to differ between machines (the same code and seeds, another CPU's float rounding,
# studies/machine.py) keeps the verdict seen on each: ``machines`` maps a machine key
# ("<cpu model> / <SIMD flags hash>", studies.machine.machine_key) to the verdict observed there, and
# ``machines_why`` says where and when. On a listed machine that verdict is the expected one; elsewhere
# ``expected`` is. On a prediction, a listed machine's verdict is an observation that contradicted it
# there: on that machine the entry reads as a snapshot that keeps the prediction (``predicted``) and
# says why (``machines_why`` as its finding).
# A prediction the observation contradicted is not deleted: the entry becomes the snapshot of the
# observed verdict (so CI still catches a change) and keeps ``predicted`` (the verdict committed
# before the data was seen) and ``finding`` (what the mismatch says), which the report shows beside
# the observation. ``predicted`` belongs to snapshots only: a prediction predicts itself.
# An expectation is a *prediction* (written and committed before the data was seen, from a paper or from
# theory) or a *snapshot* (the observed verdict, kept to catch changes). Entries written before the
# distinction existed were all observed verdicts, hence the default.
PREDICTION, SNAPSHOT = "prediction", "snapshot"
EXPECTATION_KINDS = (PREDICTION, SNAPSHOT)
_THRESHOLD_KEYS = {"value": True, "provenance": True, "why": True, "unit": False, "commit": False, "date": False, "run": False}


@dataclass(frozen=True)
class Expectation:
    claim: str
    profile: str  # as written in the file ("*" = any)
    key: str  # parametrisation id as written ("*" = any)
    expected: Verdict
    provenance: str
    why: str
    file: str
    line: int
    kind: str = SNAPSHOT  # PREDICTION or SNAPSHOT
    predicted: Verdict | None = None  # a snapshot's earlier prediction that the observation contradicted
    finding: str = ""
    machine: str | None = None  # the machine key whose own snapshot ``expected`` is (``machines``), else None

    @property
    def section(self) -> str:
        return f"[{_header(self.profile, self.key)}]"


@dataclass(frozen=True)
class Threshold:
    claim: str
    profile: str
    name: str
    value: float
    provenance: str
    why: str
    unit: str
    file: str
    line: int

    @property
    def section(self) -> str:
        return f"[{_header(self.profile, self.name)}]"


def _quote(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _header(*keys: str) -> str:
    return ".".join(_quote(k) for k in keys)


def expectation_path(claims_dir: str | os.PathLike, claim_id: str) -> Path:
    return Path(claims_dir) / "expectations" / f"{claim_id}.toml"


def threshold_path(claims_dir: str | os.PathLike, claim_id: str) -> Path:
    return Path(claims_dir) / "thresholds" / f"{claim_id}.toml"


def _table_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line (1-based) of each ``[a.b]`` table header and of each ``key =`` inside a table, keyed by key path."""
    lines: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            inner = line[1:].split("]", 1)[0] if '"' not in line else line[1 : line.rfind("]")]
            try:
                # a header is a dotted key: parse it as one to get the path exactly as tomllib does
                parsed = tomllib.loads(f"{inner} = 0")
            except tomllib.TOMLDecodeError:
                continue
            path: tuple[str, ...] = ()
            node: object = parsed
            while isinstance(node, dict) and len(node) == 1:
                (k, node), = node.items()
                path += (k,)
            current = path
            lines.setdefault(current, number)
        elif "=" in line and not line.startswith("#"):
            key_text = line.split("=", 1)[0].strip()
            try:
                parsed = tomllib.loads(f"{key_text} = 0")
            except tomllib.TOMLDecodeError:
                continue
            path = current
            node = parsed
            while isinstance(node, dict) and len(node) == 1:
                (k, node), = node.items()
                path += (k,)
            lines.setdefault(path, number)
    return lines


class _Located:
    """Finds the line of a key path in the file's text, falling back to the nearest enclosing table."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _table_lines(text)

    def line(self, *keys: str) -> int:
        for n in range(len(keys), 0, -1):
            if keys[:n] in self.lines:
                return self.lines[keys[:n]]
        return 1

    def error(self, message: str, *keys: str) -> InputError:
        return InputError(f"{self.path}:{self.line(*keys)}: {message}")


def _read(path: Path) -> tuple[dict, _Located]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's tomllib puts the position only in the message: "... (at line 3, column 7)"
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{path}:{found.group(1)}" if found else str(path)
        raise InputError(f"{where}: invalid TOML: {exc}") from None
    return data, _Located(path, text)


def _check_profile(profile: str, loc: _Located) -> None:
    if profile != ANY and profile not in profile_names():
        raise loc.error(f"unknown profile {profile!r} (known: {', '.join(profile_names())}, or \"*\" for any)", profile)


def _check_entry(entry: object, keys: dict[str, bool], loc: _Located, profile: str, key: str) -> dict:
    where = f"[{_header(profile, key)}]"
    if not isinstance(entry, dict):
        raise loc.error(f"{where} must be a table with {', '.join(k for k, req in keys.items() if req)}", profile, key)
    for k in entry:
        if k not in keys:
            raise loc.error(f"{where}: unknown key {k!r} (allowed: {', '.join(keys)})", profile, key, k)
    for k, required in keys.items():
        if required and k not in entry:
            raise loc.error(f"{where}: missing {k!r}", profile, key)
    for k in ("provenance", "why"):
        if not isinstance(entry[k], str) or not entry[k].strip():
            raise loc.error(f"{where}: {k!r} must be a non-empty string (say where the number or verdict comes from)", profile, key, k)
    if "kind" in entry and entry["kind"] not in EXPECTATION_KINDS:
        raise loc.error(f"{where}: 'kind' must be one of {', '.join(EXPECTATION_KINDS)}, got {entry['kind']!r}", profile, key, "kind")
    if "predicted" in entry and entry.get("kind", SNAPSHOT) != SNAPSHOT:
        raise loc.error(f"{where}: 'predicted' belongs to a snapshot (kind = \"snapshot\") that replaced a contradicted prediction", profile, key, "predicted")
    if "predicted" in entry and not (isinstance(entry.get("finding"), str) and entry["finding"].strip()):
        raise loc.error(f"{where}: 'predicted' needs 'finding', what the mismatch with the observation says", profile, key, "finding")
    for k in ("commit", "date", "run", "unit", "finding", "machines_why"):
        if k in entry and not isinstance(entry[k], str):
            raise loc.error(f"{where}: {k!r} must be a string", profile, key, k)
    if "machines" in entry:
        if not isinstance(entry["machines"], dict) or not entry["machines"]:
            raise loc.error(f"{where}: 'machines' must be a table of machine key = verdict", profile, key, "machines")
        if not (isinstance(entry.get("machines_why"), str) and entry["machines_why"].strip()):
            raise loc.error(f"{where}: 'machines' needs 'machines_why', where and when each machine's verdict was observed", profile, key, "machines_why")
    return entry


def load_expectations(path: str | os.PathLike, claim_id: str) -> dict[tuple[str, str], Expectation]:
    """All expectations of one claim, keyed (profile, parametrisation id); ``{}`` if the file is absent."""
    path = Path(path)
    if not path.exists():
        return {}
    get_claim(claim_id)
    data, loc = _read(path)
    out: dict[tuple[str, str], Expectation] = {}
    for profile, section in data.items():
        _check_profile(profile, loc)
        if not isinstance(section, dict):
            raise loc.error(f"{profile!r} must be a table of parametrisation ids", profile)
        for key, entry in section.items():
            entry = _check_entry(entry, _EXPECTATION_KEYS, loc, profile, key)
            try:
                expected = parse_verdict(entry["expected"], where=f"[{_header(profile, key)}] expected")
            except InputError as exc:
                raise loc.error(str(exc), profile, key, "expected") from None
            predicted = None
            if "predicted" in entry:
                try:
                    predicted = parse_verdict(entry["predicted"], where=f"[{_header(profile, key)}] predicted")
                except InputError as exc:
                    raise loc.error(str(exc), profile, key, "predicted") from None
            provenance, why, machine = entry["provenance"].strip(), entry["why"].strip(), None
            machines = {}
            for m, v in entry.get("machines", {}).items():
                try:
                    machines[m] = parse_verdict(v, where=f"[{_header(profile, key)}] machines.{m!r}")
                except InputError as exc:
                    raise loc.error(str(exc), profile, key, "machines") from None
            here = machine_key()
            if here in machines:
                machine, note, written = here, entry["machines_why"].strip(), expected
                expected = machines[here]
                if entry.get("kind", SNAPSHOT) == PREDICTION and expected != written:
                    entry = {**entry, "kind": SNAPSHOT, "finding": note}
                    predicted = written
                provenance = f"on this machine ({here}): {note} Elsewhere: {provenance}"
                why = f"snapshot of this machine ({here}): {note}"
            out[(profile, key)] = Expectation(
                claim=claim_id, profile=profile, key=key, expected=expected, provenance=provenance,
                why=why, file=str(path), line=loc.line(profile, key), kind=entry.get("kind", SNAPSHOT),
                predicted=predicted, finding=entry.get("finding", "").strip(), machine=machine,
            )
    return out


def load_thresholds(path: str | os.PathLike, claim_id: str) -> dict[tuple[str, str], Threshold]:
    """All thresholds of one claim, keyed (profile, name); ``{}`` if the file is absent."""
    path = Path(path)
    if not path.exists():
        return {}
    get_claim(claim_id)
    data, loc = _read(path)
    out: dict[tuple[str, str], Threshold] = {}
    for profile, section in data.items():
        _check_profile(profile, loc)
        if not isinstance(section, dict):
            raise loc.error(f"{profile!r} must be a table of threshold names", profile)
        for name, entry in section.items():
            if name == ANY:
                raise loc.error('a threshold needs a name, not "*"', profile, name)
            entry = _check_entry(entry, _THRESHOLD_KEYS, loc, profile, name)
            value = entry["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise loc.error(f"[{_header(profile, name)}]: value must be a finite number, got {value!r}", profile, name, "value")
            out[(profile, name)] = Threshold(
                claim=claim_id, profile=profile, name=name, value=float(value), provenance=entry["provenance"].strip(),
                why=entry["why"].strip(), unit=entry.get("unit", ""), file=str(path), line=loc.line(profile, name),
            )
    return out


def lookup(table: dict[tuple[str, str], object], profile: str, key: str):
    """The most specific entry for (profile, key): exact before ``"*"``, profile before key."""
    candidates = [(profile, key), (profile, ANY), (ANY, key), (ANY, ANY)] if key != ANY else [(profile, ANY), (ANY, ANY)]
    for candidate in candidates:
        if candidate in table:
            return table[candidate]
    return None


def lookup_threshold(table: dict[tuple[str, str], Threshold], profile: str, name: str) -> Threshold | None:
    return table.get((profile, name)) or table.get((ANY, name))


@dataclass(frozen=True)
class ClaimFiles:
    """The registered expectations and thresholds of one claim, loaded and validated."""

    claim: str
    expectations_file: Path
    thresholds_file: Path
    expectations: dict[tuple[str, str], Expectation]
    thresholds: dict[tuple[str, str], Threshold]


def load_claim_files(claims_dir: str | os.PathLike, claim_id: str) -> ClaimFiles:
    e, t = expectation_path(claims_dir, claim_id), threshold_path(claims_dir, claim_id)
    return ClaimFiles(claim_id, e, t, load_expectations(e, claim_id), load_thresholds(t, claim_id))
