"""The three verdicts a claim test can reach (SPEC §8), and the statuses of a claim run: the one
definition of each (the recorder, the plugin, the report and the metrics import them from here)."""

from __future__ import annotations

from enum import Enum

from ..errors import InputError


class Verdict(str, Enum):
    SUPPORTED = "SUPPORTED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"

    def __str__(self) -> str:
        return self.value


SUPPORTED = Verdict.SUPPORTED
REFUTED = Verdict.REFUTED
INCONCLUSIVE = Verdict.INCONCLUSIVE


def parse_verdict(value: object, *, where: str = "verdict") -> Verdict:
    """``Verdict`` from a Verdict or its exact upper-case name; anything else is an InputError naming ``where``."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, str) and value in Verdict.__members__:
        return Verdict[value]
    raise InputError(f"{where}: unknown verdict {value!r}; expected one of {', '.join(Verdict.__members__)}")


# judgement statuses of a claim run (the report's per-result status): how its verdict compares with
# the registered expectation (studies.claims.recorder.Claim.judge)
AS_EXPECTED = "as-expected"
UNEXPECTED = "unexpected"
UNREGISTERED = "unregistered"
NO_VERDICT = "no-verdict"
# statuses of a claim that reached no verdict on purpose: counted apart from verdicts, never a failure
NOT_RUN = "not-run"  # an input is absent (CelebA metadata or images, LPIPS weights); says what provides it
NOT_APPLICABLE = "not-applicable"  # the data lacks what the claim's protocol needs (e.g. no identities)
ENDED = (NOT_RUN, NOT_APPLICABLE)
# statuses pytest decides: the test raised, or was skipped
ERROR = "error"
SKIPPED = "skipped"
STATUSES = (AS_EXPECTED, UNEXPECTED, UNREGISTERED, NO_VERDICT, NOT_RUN, NOT_APPLICABLE, ERROR, SKIPPED)
