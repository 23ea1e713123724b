"""scripts/compare_verdicts.py: two claim runs compared case by case (status, verdict, reason)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_verdicts.py"


def _write(path, results):
    path.write_text(json.dumps({"results": [{"claim": c, "param_id": p, "status": "as-expected", "verdict": v, "reason": r}
                                            for c, p, v, r in results]}))
    return str(path)


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_same_cases_pass_and_any_change_is_listed(tmp_path):
    base = [("psnr-gap", "random", "SUPPORTED", "gap closes"), ("originality", "male", "INCONCLUSIVE", "one pair")]
    a = _write(tmp_path / "a.json", base)
    out = _run(a, _write(tmp_path / "b.json", list(reversed(base))))
    assert out.returncode == 0 and "2 cases before, 2 after: the same" in out.stdout
    changed = [("psnr-gap", "random", "SUPPORTED", "gap closes!"), ("originality", "identity", "INCONCLUSIVE", "one pair")]
    out = _run(a, _write(tmp_path / "c.json", changed))
    assert out.returncode == 1
    assert "psnr-gap [random] reason: 'gap closes' -> 'gap closes!'" in out.stdout
    assert "originality [male]: only before" in out.stdout and "originality [identity]: only after" in out.stdout
