"""The ``claim`` fixture's object: what one claim test measured, and the verdict it reached.

A test records parameters, measures (value, CI, threshold, direction), tables, figures and notes,
then calls ``conclude(verdict, reason)`` exactly once. ``judge()`` compares that verdict with the
registered expectation; the plugin fails the test on a mismatch, printing the observed numbers."""

from __future__ import annotations

import base64
import io
import math
import numbers
from typing import Any, Sequence

from ..errors import InputError
from .expectations import ANY, ClaimFiles, Expectation, lookup, lookup_threshold
from .registry import ClaimInfo
from .verdict import AS_EXPECTED, ENDED, NO_VERDICT, NOT_APPLICABLE, NOT_RUN, UNEXPECTED, UNREGISTERED, Verdict, parse_verdict

DIRECTIONS = ("<", "<=", ">", ">=", "==")
_PNG = b"\x89PNG\r\n\x1a\n"

# the judgement statuses (AS_EXPECTED, ...) are defined in studies.claims.verdict


class ClaimEnded(BaseException):
    """Raised by ``Claim.not_run`` / ``Claim.not_applicable`` to end the test with that status. A
    BaseException, like pytest's own skip, so a test's ``except Exception`` cannot swallow it; the
    plugin catches it and lets the test pass."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status, self.reason = status, reason


def plain(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars and arrays to Python numbers and lists, other objects to str."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def _number(value: Any, what: str) -> float:
    if hasattr(value, "item") and not isinstance(value, (list, tuple)):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{what} must be a number, got {value!r}")
    return float(value)


def compare(value: float, direction: str, threshold: float) -> bool:
    return {
        "<": value < threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        ">=": value >= threshold,
        "==": value == threshold,
    }[direction]


def png_bytes(fig_or_png: Any) -> bytes:
    """PNG bytes of a matplotlib Figure (closed afterwards, so figures do not pile up) or PNG bytes as given."""
    if isinstance(fig_or_png, (bytes, bytearray)):
        data = bytes(fig_or_png)
        if not data.startswith(_PNG):
            raise InputError("figure bytes are not a PNG (bad signature)")
        return data
    if not hasattr(fig_or_png, "savefig"):
        raise InputError(f"figure must be a matplotlib Figure or PNG bytes, got {type(fig_or_png).__name__}")
    buffer = io.BytesIO()
    fig_or_png.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig_or_png)
    except Exception:  # a Figure made without pyplot is not registered there; nothing to close
        pass
    return buffer.getvalue()


class Claim:
    """Recorder handed to a claim test by the ``claim`` fixture (docs/CONTRACTS.md, "Claims machinery")."""

    def __init__(
        self,
        *,
        info: ClaimInfo,
        param_id: str,
        profile: str,
        files: ClaimFiles,
        recalibrate: bool = False,
        params: dict | None = None,
    ):
        self.info = info
        self.param_id = param_id or ANY
        self.profile = profile
        self.files = files
        self.recalibrate = recalibrate
        self.params: dict[str, Any] = plain(dict(params or {}))
        self.measures: list[dict] = []
        self.tables: list[dict] = []
        self.figures: list[dict] = []
        self.notes: list[str] = []
        self.methods: list[str] = []
        self.thresholds_used: dict[str, dict] = {}
        self.proposals: dict[str, dict] = {}
        self.verdict: Verdict | None = None
        self.reason: str = ""
        self.expectation: Expectation | None = None
        self.status: str | None = None
        self.needs: str | None = None  # not_run: the command or option that provides the missing input
        self.rule_record: dict | None = None  # the decision rule and its measured operating characteristics
        self.control_kind: str | None = None  # "memorising", "gaussian", "gaussian-unet", "held-out": a control case with a known answer

    @property
    def id(self) -> str:
        return self.info.id

    # -- recording ---------------------------------------------------------------------------

    def param(self, **kv: Any) -> None:
        """Record parameters of this run (protocol, N, seed, method, ...)."""
        self.params.update(plain(kv))

    def measure(
        self,
        name: str,
        value: Any,
        *,
        ci: Sequence[float] | None = None,
        threshold: float | str | None = None,
        direction: str | None = None,
        unit: str = "",
        key: bool = False,
    ) -> None:
        """Record a measured number. ``threshold`` is a number or the name of a registered threshold;
        ``direction`` says which side of it supports the claim; ``key=True`` shows it in the summary."""
        if not isinstance(name, str) or not name:
            raise InputError(f"measure name must be a non-empty string, got {name!r}")
        if any(m["name"] == name for m in self.measures):
            raise InputError(f"claim {self.id}: measure {name!r} recorded twice")
        if isinstance(value, str):
            shown: Any = value
        else:
            shown = _number(value, f"measure {name!r}")
            if float(shown).is_integer() and isinstance(plain(value), int):
                shown = int(shown)
        lo_hi = None
        if ci is not None:
            if len(ci) != 2:
                raise InputError(f"measure {name!r}: ci must be (lo, hi), got {ci!r}")
            lo_hi = [_number(ci[0], f"measure {name!r} ci"), _number(ci[1], f"measure {name!r} ci")]
            if not lo_hi[0] <= lo_hi[1]:
                raise InputError(f"measure {name!r}: ci lower bound {lo_hi[0]} above upper bound {lo_hi[1]}")
        threshold_name = None
        if isinstance(threshold, str):
            threshold_name, threshold = threshold, self.threshold(threshold)
        elif threshold is not None:
            threshold = _number(threshold, f"measure {name!r} threshold")
        if direction is not None and direction not in DIRECTIONS:
            raise InputError(f"measure {name!r}: direction must be one of {DIRECTIONS}, got {direction!r}")
        if direction is not None and threshold is None:
            raise InputError(f"measure {name!r}: a direction needs a threshold")
        meets = None
        if direction is not None and not isinstance(shown, str) and not math.isnan(shown):
            meets = compare(shown, direction, threshold)
        self.measures.append(
            {
                "name": name, "value": shown, "ci": lo_hi, "threshold": threshold, "threshold_name": threshold_name,
                "direction": direction, "meets": meets, "unit": unit, "key": bool(key),
            }
        )

    def table(self, name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        columns = [str(c) for c in columns]
        rows = [plain(list(r)) for r in rows]
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                raise InputError(f"table {name!r}: row {i} has {len(row)} cells for {len(columns)} columns")
        self.tables.append({"name": name, "columns": columns, "rows": rows})

    def figure(self, name: str, fig_or_png_bytes: Any, caption: str = "") -> None:
        """Record a figure: a matplotlib Figure (rendered to PNG and closed) or PNG bytes."""
        data = png_bytes(fig_or_png_bytes)
        self.figures.append({"name": name, "caption": caption, "png_base64": base64.b64encode(data).decode("ascii")})

    def note(self, text: str) -> None:
        self.notes.append(str(text))

    def method(self, text: str) -> None:
        """Say how the verdict is reached: which test, which alpha, against which null."""
        self.methods.append(str(text))

    # -- thresholds --------------------------------------------------------------------------

    def threshold(self, name: str) -> float:
        """The registered threshold ``name`` for the active profile (``claims/thresholds/<claim-id>.toml``).
        Under ``--recalibrate`` a threshold that is not registered yet falls back to the value the
        test offered with ``propose``."""
        entry = lookup_threshold(self.files.thresholds, self.profile, name)
        if entry is not None:
            self.thresholds_used[name] = {
                "value": entry.value, "provenance": entry.provenance, "why": entry.why, "unit": entry.unit,
                "file": entry.file, "line": entry.line, "section": entry.section,
            }
            return entry.value
        if self.recalibrate and name in self.proposals:
            value = self.proposals[name]["value"]
            self.thresholds_used[name] = {"value": value, "provenance": "proposed in this --recalibrate run", "why": self.proposals[name]["why"], "unit": ""}
            return value
        raise InputError(
            f"claim {self.id}: no threshold {name!r} for profile {self.profile!r}: add [{self.profile}.{name}] "
            f"(or [\"*\".{name}]) with value, provenance and why to {self.files.thresholds_file}"
            + ("" if self.recalibrate else ", or offer one with claim.propose() and run with --recalibrate")
        )

    def propose(self, name: str, value: float, why: str) -> None:
        """Offer a measured value for threshold ``name``; written to the proposals file under --recalibrate."""
        if not isinstance(why, str) or not why.strip():
            raise InputError(f"claim {self.id}: proposing threshold {name!r} needs a reason (why)")
        self.proposals[name] = {"value": _number(value, f"proposed threshold {name!r}"), "why": why.strip()}

    def rule(self, operating: Any, *, decided_by: str = "") -> None:
        """Record the decision rule of the verdict with its measured false-positive rate and power
        (``studies.claims.operating.Operating``, or its dict)."""
        rec = operating.to_dict() if hasattr(operating, "to_dict") else dict(operating)
        for key in ("name", "alpha", "false_positive_rate", "power", "simulations"):
            if key not in rec:
                raise InputError(f"claim {self.id}: rule record lacks {key!r}")
        if decided_by:
            rec["decided_by"] = decided_by
        self.rule_record = plain(rec)

    def control(self, kind: str) -> None:
        """Mark this verdict as a control case with a known answer (its own report section)."""
        if kind not in ("memorising", "gaussian", "gaussian-unet", "held-out"):
            raise InputError(f"claim {self.id}: unknown control kind {kind!r}")
        self.control_kind = kind

    # -- verdict -----------------------------------------------------------------------------

    def conclude(self, verdict: Verdict | str, reason: str) -> Verdict:
        if self.verdict is not None:
            raise InputError(f"claim {self.id}: conclude() called twice (first {self.verdict}, then {verdict})")
        verdict = parse_verdict(verdict, where=f"claim {self.id}")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"claim {self.id}: conclude({verdict}) needs a reason")
        self.verdict, self.reason = verdict, reason.strip()
        return verdict

    def not_run(self, reason: str, needs: str) -> None:
        """End the test without a verdict because an input is absent. ``reason`` says what is missing,
        ``needs`` the exact command or option that provides it (e.g. ``--meta DIR`` or
        ``MEMGEN_CELEBA_META=DIR``). The test passes; no expectation is needed or consulted."""
        self._end(NOT_RUN, reason, needs=needs)

    def not_applicable(self, reason: str) -> None:
        """End the test without a verdict because the data lacks a field the claim's protocol needs
        (e.g. identities or attributes). The test passes; no expectation is needed or consulted."""
        self._end(NOT_APPLICABLE, reason)

    def _end(self, status: str, reason: str, *, needs: str | None = None) -> None:
        if self.verdict is not None:
            raise InputError(f"claim {self.id}: {status} after conclude({self.verdict}); a claim either reaches a verdict or does not run")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"claim {self.id}: {status} needs a reason")
        if status == NOT_RUN and (not isinstance(needs, str) or not needs.strip()):
            raise InputError(f"claim {self.id}: not_run needs the command or option that provides the missing input (needs=...)")
        self.status, self.reason = status, reason.strip()
        self.needs = needs.strip() if needs else None
        raise ClaimEnded(status, self.reason)

    def judge(self) -> str | None:
        """Compare the verdict with the registered expectation; set ``status``; return a failure message or None."""
        if self.status == NOT_APPLICABLE:
            # a case registered for this very profile and parametrisation was meant to reach a verdict:
            # ending it not applicable (a protocol check gone wrong) must not pass silently
            e = self.files.expectations.get((self.profile, self.param_id)) if self.param_id != ANY else None
            if e is not None and not self.recalibrate:
                self.expectation = e
                self.status = UNEXPECTED
                return (f"claim {self.id} [{self.param_id}] (profile {self.profile}) ended not applicable ({self.reason}), "
                        f"but {e.file}:{e.line} {e.section} registers {e.expected} for it: the case should run "
                        f"(or its expectation be removed, saying why)")
        if self.status in ENDED:
            return None
        if self.verdict is None:
            self.status = NO_VERDICT
            return f"claim {self.id} [{self.param_id}]: the test never called claim.conclude(verdict, reason)\n" + self.observed()
        self.expectation = lookup(self.files.expectations, self.profile, self.param_id)
        if self.expectation is None:
            self.status = UNREGISTERED
            sections = [f"[{self.profile}.\"{self.param_id}\"]"] if self.param_id != ANY else []
            sections += [f"[{self.profile}.\"*\"]", '["*"."*"]']
            message = (
                f"claim {self.id} [{self.param_id}] is unregistered for profile {self.profile!r}: observed {self.verdict} "
                f"({self.reason}). Add one of {', '.join(sections)} with expected = \"{self.verdict}\", provenance and why "
                f"to {self.files.expectations_file} (after review), or run with --recalibrate to propose it.\n" + self.observed()
            )
        elif self.expectation.expected != self.verdict:
            self.status = UNEXPECTED
            e = self.expectation
            message = (
                f"claim {self.id} [{self.param_id}] (profile {self.profile}): observed {self.verdict}, expected {e.expected} "
                f"({e.file}:{e.line} {e.section}; provenance: {e.provenance}; why: {e.why})\n"
                f"reason given: {self.reason}\n" + self.observed()
            )
        else:
            self.status = AS_EXPECTED
            return None
        return None if self.recalibrate else message

    def observed(self) -> str:
        """The observed numbers, one per line, for failure messages."""
        lines = []
        for m in self.measures:
            text = f"  {m['name']} = {_fmt(m['value'])}{(' ' + m['unit']) if m['unit'] else ''}"
            if m["ci"]:
                text += f"  CI [{_fmt(m['ci'][0])}, {_fmt(m['ci'][1])}]"
            if m["threshold"] is not None:
                text += f"  threshold {m['direction'] or ''} {_fmt(m['threshold'])}".replace("  ", " ", 1)
                if m["meets"] is not None:
                    text += " (met)" if m["meets"] else " (NOT met)"
            lines.append(text)
        for name, t in self.thresholds_used.items():
            lines.append(f"  threshold {name} = {_fmt(t['value'])} ({t['provenance']})")
        for text in self.methods:
            lines.append(f"  method: {text}")
        return "observed:\n" + ("\n".join(lines) if lines else "  (no measures recorded)")

    def to_record(self) -> dict:
        return {
            "claim": self.id,
            "param_id": self.param_id,
            "profile": self.profile,
            "params": self.params,
            "measures": self.measures,
            "tables": self.tables,
            "figures": self.figures,
            "notes": self.notes,
            "methods": self.methods,
            "thresholds": self.thresholds_used,
            "proposals": self.proposals,
            "verdict": self.verdict.value if self.verdict else None,
            "reason": self.reason,
            "needs": self.needs,
            "rule": self.rule_record,
            "control": self.control_kind,
            "expected": self.expectation.expected.value if self.expectation else None,
            "expectation": None
            if self.expectation is None
            else {"kind": self.expectation.kind, "provenance": self.expectation.provenance, "why": self.expectation.why, "file": self.expectation.file, "line": self.expectation.line, "section": self.expectation.section,
                  # a contradicted prediction kept beside the snapshot that replaced it (expectations.py)
                  "predicted": None if self.expectation.predicted is None else self.expectation.predicted.value, "finding": self.expectation.finding,
                  # the machine whose own snapshot applied (a verdict that differs with the CPU's float rounding), else None
                  "machine": self.expectation.machine},
        }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
