"""The three verdicts a claim test can reach (SPEC §8)."""

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
