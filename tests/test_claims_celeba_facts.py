"""The celeba-facts claim end to end, through `memgen verdict` in a subprocess: SUPPORTED on the real
metadata (when present), not run (no verdict, the test passes) with what provides the folder when it is missing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studies.data.celeba import default_meta_dir

REPO = Path(__file__).resolve().parents[1]


def _verdict(tmp_path, env_extra):
    env = {**os.environ, **env_extra}
    out = subprocess.run(
        [sys.executable, "-m", "studies", "verdict", "--report-dir", str(tmp_path), "claims/test_celeba_facts.py", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    return out, json.loads((tmp_path / "verdict.json").read_text())


def test_without_metadata_the_claim_is_not_run_and_says_what_provides_it(tmp_path):
    out, report = _verdict(tmp_path, {"MEMGEN_CELEBA_META": str(tmp_path / "absent")})
    assert out.returncode == 0, out.stdout + out.stderr
    (r,) = report["results"]
    assert (r["param_id"], r["verdict"], r["expected"], r["status"], r["outcome"]) == ("no-metadata", None, None, "not-run", "passed")
    assert "metadata folder not found" in r["reason"]
    assert "MEMGEN_CELEBA_META=DIR" in r["needs"]
    # counted apart from verdicts
    assert report["summary"]["not_run"] == 1 and report["summary"]["with_verdict"] == 0 and report["summary"]["verdicts"] == {}
    html = (tmp_path / "verdict.html").read_text()
    assert "Provide it with:" in html and "NOT RUN" in html
    assert f"report at {tmp_path / 'verdict.html'}" in out.stdout


@pytest.mark.needs_celeba_meta
@pytest.mark.skipif(default_meta_dir() is None, reason="CelebA metadata folder absent (../shared/celeba or MEMGEN_CELEBA_META)")
def test_on_the_real_metadata_the_claim_is_supported(tmp_path):
    out, report = _verdict(tmp_path, {})
    assert out.returncode == 0, out.stdout + out.stderr
    (r,) = report["results"]
    assert (r["param_id"], r["verdict"], r["status"]) == ("metadata", "SUPPORTED", "as-expected")
    assert {m["name"]: m["value"] for m in r["measures"]}["Eyeglasses yes"] == 13193
    assert r["figures"] and r["tables"][0]["name"] == "attributes (all 40)"
