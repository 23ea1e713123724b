"""``memgen zoo build --executor slurm`` against a real one-node Slurm cluster (munged, slurmctld and
slurmd of Debian's slurm-wlm 22.05, started by ``scripts/slurm-local.sh start``; ``scripts/test.sh``
starts and stops it around the test run). Without that cluster every test here skips, with the reason
the script recorded (no root, no apt, ...).

The builds run the real command line in a subprocess (``python -m studies`` with tiny test profiles
registered first), so each model is trained by a real Slurm array job, and the faults are real:
``scancel`` mid-training, a job whose input fails inside the job, two builds racing on one zoo, and a
cluster without accounting (``sacct`` answers "accounting storage is disabled") or without ``sacct``
at all."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.errors import InputError
from studies.profiles import _protocols, get_profile, register_profile

pytestmark = pytest.mark.slurm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATE = Path(os.environ.get("MEMGEN_SLURM_DIR") or Path(os.environ.get("TMPDIR") or "/tmp") / "memgen-slurm")
TIMEOUT_S = 240  # one build command; a hung build fails the test instead of stalling CI

# The profiles: seconds per model on one core. "slurmtiny" is the zoo compared with a local build
# (4 models: random split, N 3 and 20, groups A and B), "slurmrace" its two N=3 models under another
# name (so another address: a zoo of its own); "slurmresume" trains one model long enough
# (60 epochs of 20 steps, ~0.1-0.2 s an epoch on the CI box) to be cancelled mid-training; "slurmcuda"
# asks for a CUDA device, which no CPU node has, so its jobs fail inside Slurm with an InputError.
_TINY = dict(
    data=DataConfig(source="synthetic", resolution=8, synth=SynthConfig(identities=10, seed=0)),
    model=ModelConfig(blocks=1, width=4), sample=SampleConfig(),
)


def register() -> None:
    """Register the test profiles (in this process, and in each build subprocess)."""
    profiles = [
        Profile(name="slurmtiny", description="Slurm test zoo", train=TrainConfig(epochs=2, batch_size=32, eval_images=8),
                protocols=_protocols(60, {"random": (3, 20)}), **_TINY),
        Profile(name="slurmresume", description="Slurm cancel-and-resume test",
                train=TrainConfig(epochs=60, batch_size=64, eval_images=8, checkpoint_every=1),
                protocols=_protocols(1280, {"random": (20,)}), **_TINY),
        Profile(name="slurmrace", description="Slurm concurrent-builds test", train=TrainConfig(epochs=2, batch_size=32, eval_images=8),
                protocols=_protocols(60, {"random": (3,)}), **_TINY),
        Profile(name="slurmcuda", description="Slurm failing-job test (CUDA on a CPU node)",
                train=TrainConfig(epochs=2, batch_size=32, eval_images=8, device="cuda"),
                protocols=_protocols(60, {"random": (3,)}), **_TINY),
    ]
    for prof in profiles:
        try:
            get_profile(prof.name)
        except InputError:
            register_profile(prof)


_CLI = (
    "import sys; sys.path.insert(0, sys.argv[1]); import test_zoo_slurm; test_zoo_slurm.register(); "
    "from studies.cli import main; sys.exit(main(sys.argv[2:]))"
)


_REFERENCE = (
    "import sys, torch; torch.set_num_threads(1); sys.path.insert(0, sys.argv[1]); import test_zoo_slurm; "
    "test_zoo_slurm.register(); from studies.zoo import Zoo; "
    "print(Zoo(sys.argv[2], progress=False).get('slurmresume', 'random', 'A', 20).path)"
)


def build_cmd(profile: str, root: Path, *extra: str) -> list[str]:
    """The build command of the tests: exactly `memgen zoo build --executor slurm` with the tiny
    profiles registered (the README's paper-scale command differs only in profile and resources)."""
    return [sys.executable, "-c", _CLI, str(HERE), "zoo", "build", "--profile", profile, "--root", str(root),
            "--executor", "slurm", "--slurm-cpus", "1", "--slurm-timeout-min", "10", *extra]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    env_file = STATE / "env"
    if not env_file.is_file():
        why = (STATE / "unavailable").read_text("utf-8").strip() if (STATE / "unavailable").is_file() else \
            f"no local Slurm cluster at {STATE} (start one: bash scripts/slurm-local.sh start)"
        pytest.skip(f"Slurm tests: {why}")
    conf = re.search(r"SLURM_CONF=(\S+)", env_file.read_text("utf-8")).group(1)
    probe = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env={**os.environ, "SLURM_CONF": conf})
    if probe.returncode != 0 or not probe.stdout.strip():
        pytest.fail(f"the local Slurm cluster at {STATE} does not answer: {probe.stderr.strip()}")
    register()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", conf)
        # datasets in a private cache (jobs inherit the environment); one thread per job, as in CI
        mp.setenv("MEMGEN_CACHE", str(tmp_path_factory.mktemp("slurmcache")))
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        # the local builds compared with the jobs' (--slurm-cpus 1: one torch thread) use one thread too
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield conf
        torch.set_num_threads(threads)


def run_build(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=ROOT)


def job_logs(root: Path) -> str:
    return "".join(p.read_text("utf-8", errors="replace") for p in sorted((root / "submitit").glob("*/*_log.out")))


def weights(folder: Path) -> dict[str, bytes]:
    return {k: v.numpy().tobytes() for k, v in load_file(folder / "model.safetensors").items()}


def assert_quiet(proc: subprocess.CompletedProcess) -> None:
    """No submitit warnings about sacct (one per poll when sacct has no accounting)."""
    assert "sacct" not in proc.stderr and "Bypassing" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr


def test_slurm_zoo_equals_local_build(cluster, tmp_path):
    from studies.zoo import Zoo, build_missing, missing_specs

    # the condition this build must cope with: the cluster has no accounting storage
    sacct = subprocess.run(["sacct", "-j", "1"], capture_output=True, text=True)
    assert "accounting storage is disabled" in (sacct.stdout + sacct.stderr).lower()
    proc = run_build(build_cmd("slurmtiny", tmp_path / "slurm"))
    assert proc.returncode == 0, proc.stderr
    assert "submitted 4 slurm job(s)" in proc.stderr
    assert_quiet(proc)
    prof = get_profile("slurmtiny")
    slurm_zoo, local_zoo = Zoo(tmp_path / "slurm"), Zoo(tmp_path / "local", progress=False)
    assert missing_specs(slurm_zoo, prof) == []
    specs = missing_specs(local_zoo, prof)
    assert len(specs) == 4
    build_missing(local_zoo, specs, executor="local", profiles={prof.name: prof})
    logs = job_logs(tmp_path / "slurm")
    for s in specs:
        a, b = slurm_zoo.path(prof, s.protocol, s.group, s.n), local_zoo.path(prof, s.protocol, s.group, s.n)
        assert a.name == b.name and (a / "entry.json").is_file()
        assert weights(a) == weights(b), f"{s.label()}: Slurm-built weights differ from the local build"
        assert logs.count(f"trained {s.label()} ") == 1


def test_cancelled_job_resumes_to_identical_weights(cluster, tmp_path, request):
    from studies.zoo import Zoo

    prof = get_profile("slurmresume")
    root = tmp_path / "slurm"
    folder = Zoo(root).path(prof, "random", "A", 20)
    # the uninterrupted reference, trained here in a subprocess on the other core meanwhile
    reference = subprocess.Popen([sys.executable, "-c", _REFERENCE, str(HERE), str(tmp_path / "local")], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    request.addfinalizer(lambda: reference.poll() is None and reference.kill())
    err = tmp_path / "first.err"
    with open(err, "w") as f:
        first = subprocess.Popen(build_cmd("slurmresume", root, "--protocol", "random"), stdout=subprocess.DEVNULL, stderr=f, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (folder / "checkpoint.json").is_file():
            assert first.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        job = re.search(r"slurmresume/random/A/N20: job (\S+)", err.read_text()).group(1)
        subprocess.run(["scancel", job.split("_")[0]], check=True)
        epoch_at_cancel = json.loads((folder / "checkpoint.json").read_text())["epoch"]
        rows_at_cancel = (folder / "log.jsonl").read_text().splitlines()[:epoch_at_cancel]
        first.wait(timeout=TIMEOUT_S)
    finally:
        if first.poll() is None:
            first.kill()
    out = err.read_text()
    assert first.returncode == 2, out
    assert f"slurmresume/random/A/N20: job {job} (CANCELLED): ended without a result" in out, out
    assert not (folder / "model.safetensors").exists() and not (folder / "entry.json").exists(), \
        "the job trained to the end before the cancel took effect: the test needs a longer run"
    stopped_at = json.loads((folder / "checkpoint.json").read_text())["epoch"]
    assert 1 <= epoch_at_cancel <= stopped_at < prof.train.epochs

    proc = run_build(build_cmd("slurmresume", root, "--protocol", "random"))
    assert proc.returncode == 0, proc.stderr
    assert_quiet(proc)
    rows = (folder / "log.jsonl").read_text().splitlines()
    assert len(rows) == prof.train.epochs
    # resumed, not restarted: the epochs before the cancel keep the first job's log rows (timings included)
    assert rows[:epoch_at_cancel] == rows_at_cancel
    ref_out, ref_err = reference.communicate(timeout=TIMEOUT_S)
    assert reference.returncode == 0, ref_err
    ref = Path(ref_out.strip())
    assert ref.name == folder.name
    assert weights(folder) == weights(ref), "the resumed model differs from an uninterrupted training"


def test_two_concurrent_builds_train_each_model_once(cluster, tmp_path):
    # and without sacct on the PATH at all: the Slurm commands the build and its jobs use, nothing else
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sbatch", "srun", "squeue", "scancel", "scontrol", "sinfo"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {**os.environ, "PATH": str(bin_dir)}
    root = tmp_path / "zoo"
    procs = [subprocess.Popen(build_cmd("slurmrace", root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT) for _ in range(2)]
    outs = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    for p, (_, stderr) in zip(procs, outs):
        assert p.returncode == 0, stderr
        assert "submitted" in stderr and "sacct" not in stderr and "Warning" not in stderr, stderr
    logs = job_logs(root)
    submitted = sum(int(re.search(r"submitted (\d+) slurm job", e).group(1)) for _, e in outs)
    labels = [f"slurmrace/random/{g}/N3" for g in "AB"]
    for label in labels:
        assert logs.count(f"trained {label} ") == 1, logs
    assert logs.count("memgen-zoo: ") == submitted and submitted > len(labels), logs  # both builds raced


def test_failing_job_names_model_job_and_stderr(cluster, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this test's jobs fail for want of a CUDA device")
    from studies.zoo import Zoo, missing_specs

    root = tmp_path / "zoo"
    proc = run_build(build_cmd("slurmcuda", root))
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert "memgen: error: 2 of 2 zoo job(s) did not build their model" in err, err
    for group in "AB":
        m = re.search(rf"  slurmcuda/random/{group}/N3: job (\d+_\d+) \(FAILED\): (.*)\n", err)
        assert m, err
        assert "InputError: TrainConfig.device is 'cuda' but no CUDA device is available" in m.group(2)
        # the stderr tail: the job's own traceback, quoted
        assert f"stderr tail ({root / 'submitit' / m.group(1).split('_')[0]}" in err
    assert err.count("    | ") >= 4 and "    | studies.errors.InputError: TrainConfig.device is 'cuda'" in err, err
    assert_quiet(proc)
    # nothing half-written: both models are still missing, no entry.json or weights anywhere
    prof = get_profile("slurmcuda")
    assert len(missing_specs(Zoo(root), prof)) == 2
    assert not list(root.glob("*/entry.json")) and not list(root.glob("*/model.safetensors"))
