"""How a Slurm build watches its jobs, with stand-in ``squeue``/``sacct`` commands on the PATH (no
cluster needed; the real cluster is tests/test_zoo_slurm.py): states come from squeue, a job that
left the queue without a result is looked up in sacct once, and a missing sacct is no error."""

import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from studies.errors import JobFailedError
from studies.zoo import ModelSpec, _collect, _wait_slurm


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _job(tmp_path: Path, job_id: str):
    folder = tmp_path / job_id
    folder.mkdir()
    return SimpleNamespace(job_id=job_id, paths=SimpleNamespace(result_pickle=folder / "result.pkl", stderr=folder / "log.err"))


def test_states_from_squeue_and_sacct_asked_once(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "sacct.calls"
    # 7_0 is listed as cancelled; 7_1 is no longer listed: sacct knows it timed out
    _tool(bin_dir, "squeue", "echo '7_0|CANCELLED'; echo '8_0|RUNNING'")
    _tool(bin_dir, "sacct", f"echo \"$@\" >> {calls}; echo '7_1|TIMEOUT'")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/bin{os.pathsep}/usr/bin")
    jobs = [_job(tmp_path, "7_0"), _job(tmp_path, "7_1")]
    assert _wait_slurm(jobs, min_poll_s=0.01) == ["CANCELLED", "TIMEOUT"]
    assert len(calls.read_text().splitlines()) == 1  # one sacct call for the vanished job, not one per poll

    (bin_dir / "sacct").unlink()  # no sacct at all: the job is reported gone, without an error
    assert _wait_slurm([_job(tmp_path, "9_0")], min_poll_s=0.01) == ["UNKNOWN, then gone from the queue"]


def test_failed_jobs_are_named_with_their_stderr_tail(tmp_path):
    job = _job(tmp_path, "7_0")
    job.paths.stderr.write_text("".join(f"line {i}\n" for i in range(30)))
    with pytest.raises(JobFailedError) as err:
        _collect([ModelSpec("smoke", "random", "A", 10)], [job], ["TIMEOUT"])
    msg = str(err.value)
    assert "1 of 1 zoo job(s) did not build their model" in msg
    assert "smoke/random/A/N10: job 7_0 (TIMEOUT): ended without a result" in msg
    assert "    | line 29" in msg and "    | line 15" in msg and "line 14\n" not in msg  # the last 15 lines
