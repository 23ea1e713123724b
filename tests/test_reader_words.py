"""Reader-facing text names commits, dates, profiles and files: never roles ("the lead", a helper)
nor issue numbers, which mean nothing to a reader of the report or of the registered files."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROLE_OR_ISSUE = re.compile(r"\bthe lead\b|\blead's\b|\bhelpers?\b|\bcoordinator\b|\bissue\s*#?\s*\d+|\b(?:first|second|third|fourth) session\b", re.I)
FILES = sorted((REPO / "claims" / "expectations").glob("*.toml")) + sorted((REPO / "claims" / "thresholds").glob("*.toml")) + [
    REPO / "studies" / "report" / "templates" / "verdict.html.j2", REPO / "studies" / "report" / "reading.py", REPO / "README.md",
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_roles_or_issue_numbers(path):
    hits = [f"{path.relative_to(REPO)}:{i}: {line.strip()}" for i, line in enumerate(path.read_text("utf-8").splitlines(), 1)
            if ROLE_OR_ISSUE.search(line)]
    assert not hits, "reader-facing text names a role or an issue number:\n" + "\n".join(hits)
