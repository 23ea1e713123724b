"""Compare the verdicts of two claim runs case by case: every (claim, parametrisation id) of either
report with its status, verdict and reason. Exit 0 when they are the same, 1 (listing each
difference) otherwise. A refactoring that must not change any verdict is checked with it.

Usage: python scripts/compare_verdicts.py BEFORE/verdict.json AFTER/verdict.json"""

import json
import sys
from pathlib import Path

FIELDS = ("status", "verdict", "reason")


def cases(path: Path) -> dict:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: cannot read a verdict report: {exc}")
    out = {}
    for r in report.get("results", []):
        key = (r["claim"], r["param_id"])
        if key in out:
            raise SystemExit(f"{path}: case {key} appears twice")
        out[key] = {f: r.get(f) for f in FIELDS}
    return out


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            out.append(f"{key[0]} [{key[1]}]: only before")
        elif key not in before:
            out.append(f"{key[0]} [{key[1]}]: only after")
        else:
            for f in FIELDS:
                if before[key][f] != after[key][f]:
                    out.append(f"{key[0]} [{key[1]}] {f}: {before[key][f]!r} -> {after[key][f]!r}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    before, after = cases(Path(argv[0])), cases(Path(argv[1]))
    diff = differences(before, after)
    for line in diff:
        print(line)
    print(f"{len(before)} cases before, {len(after)} after: " + ("the same status, verdict and reason" if not diff else f"{len(diff)} differences"))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
