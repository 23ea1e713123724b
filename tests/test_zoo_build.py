"""The model zoo on a tiny synthetic profile: content addresses, build on a miss and load on a
hit, one training under concurrent requests (file lock), the process pool and the submitit path
(its local executor), the dry-run plan, the fixtures, and refusals (N above what the data has)."""

import contextlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from studies.cli import main as memgen
from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.errors import ArtifactError, InputError
from studies.profiles import _protocols, get_profile, register_profile
from studies.zoo import Zoo, build_missing, forward_macs, missing_specs

NAME = "zootest"


def _tiny() -> Profile:
    try:
        return get_profile(NAME)
    except InputError:
        return register_profile(Profile(
            name=NAME, description="tiny zoo test profile",
            data=DataConfig(source="synthetic", resolution=8, synth=SynthConfig(identities=10, seed=0)),
            model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=2, batch_size=32, eval_images=8),
            sample=SampleConfig(), protocols=_protocols(60, {"random": (3, 20)}),
        ))


@contextlib.contextmanager
def isolated(tmp_path_factory):
    """A private MEMGEN_CACHE (subprocesses inherit it) and one torch thread, for the tiny-zoo tests;
    both restored afterwards. Datasets go to that cache, models to each test's tmp_path."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with isolated(tmp_path_factory):
        yield _tiny()


def test_get_builds_then_loads(tiny, tmp_path):
    zoo = Zoo(tmp_path)
    with pytest.raises(ArtifactError, match="not built"):
        zoo.get(tiny, "random", "A", 3, build=False)
    m = zoo.get(tiny, "random", "A", 3)
    assert zoo.trained == 1 and m.n == 3 and not m.net.training
    ds = zoo.dataset(tiny)
    assert torch.equal(m.train_images, ds.images[:3]) and torch.equal(m.test_images, ds.images[-3:])
    assert m.config["exposure"]["copies"] == 20 and len(m.log) == 2
    again = Zoo(tmp_path).get(tiny, "random", "A", 3)
    assert again.key == m.key and all(torch.equal(a, b) for a, b in zip(again.net.state_dict().values(), m.net.state_dict().values()))
    # the address changes with what changes the model
    keys = {zoo.address(tiny, "random", g, n) for g in "AB" for n in (3, 20)}
    assert len(keys) == 4
    entry = json.loads((m.path / "entry.json").read_text())
    assert entry["group"] == "A" and entry["n"] == 3


def test_n_above_the_data_is_refused(tiny, tmp_path):
    with pytest.raises(InputError, match="N=500 requested"):
        Zoo(tmp_path).get(tiny, "random", "A", 500)
    with pytest.raises(InputError, match="group must be"):
        Zoo(tmp_path).get(tiny, "random", "C", 3)


_RACE = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(1)
    sys.path.insert(0, sys.argv[2])
    from test_zoo_build import _tiny
    from studies.zoo import Zoo, ModelSpec
    zoo = Zoo(sys.argv[1], progress=False)
    zoo.build(ModelSpec("zootest", "random", "B", 20), profile=_tiny())
    print("TRAINED", zoo.trained)
    """
)


def test_two_processes_train_once(tiny, tmp_path):
    from pathlib import Path

    here = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(tmp_path), here], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    counts = sorted(int(o.split("TRAINED")[1]) for o in outs)
    assert counts == [0, 1], outs


def test_pool_and_submitit_local(tiny, tmp_path):
    zoo = Zoo(tmp_path)
    specs = missing_specs(zoo, tiny)
    assert len(specs) == 4
    done = build_missing(zoo, specs[:2], executor="local", workers=2, profiles={NAME: tiny})
    assert len(done) == 2 and len(missing_specs(zoo, tiny)) == 2
    done = build_missing(zoo, missing_specs(zoo, tiny), executor="slurm", cluster="local", profiles={NAME: tiny},
                         slurm={"timeout_min": 10})
    assert len(done) == 2 and missing_specs(zoo, tiny) == []
    assert len(list((tmp_path / "submitit").iterdir())) >= 2  # one job folder per array task


def test_dry_run_lists_costs(tiny, tmp_path, capsys):
    assert memgen(["zoo", "build", "--profile", NAME, "--root", str(tmp_path), "--dry-run", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["protocol"], r["group"], r["n"]) for r in rows] == [("random", g, n) for n in (3, 20) for g in "AB"]
    r = rows[0]
    assert r["steps"] == 2 * 2 and r["copies"] == 20 and r["status"] == "missing"  # 60 samples / batch 32 -> 2 steps
    assert r["flops"] == pytest.approx(6 * forward_macs(tiny.model, 8) * 2 * 60)
    assert memgen(["zoo", "build", "--profile", NAME, "--root", str(tmp_path), "--dry-run"]) == 0
    assert "4 to build" in capsys.readouterr().out
    assert memgen(["zoo", "build", "--profile", "celeba40", "--root", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "unknown" in out and "GPU-h" in out


def test_forward_macs_counts_every_conv():
    from studies.model.unet import UNet

    cfg = ModelConfig(blocks=2, width=4)
    net, macs = UNet(cfg).eval(), []

    def hook(mod, inp, out):
        w = mod.weight
        per_out = w.shape[1] * w.shape[2] * w.shape[3] if isinstance(mod, torch.nn.Conv2d) else w.shape[1] * w.shape[2] * w.shape[3]
        pixels = out.shape[2] * out.shape[3] if isinstance(mod, torch.nn.Conv2d) else inp[0].shape[2] * inp[0].shape[3]
        macs.append((out.shape[1] if isinstance(mod, torch.nn.Conv2d) else w.shape[0]) * per_out * pixels)

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    net(torch.zeros(1, 1, 16, 16))
    assert sum(macs) == forward_macs(cfg, 16)


def test_corrupt_model_is_rebuilt_not_used(tiny, tmp_path):
    zoo = Zoo(tmp_path)
    m = zoo.get(tiny, "random", "B", 3)
    blob = m.path / "model.safetensors"
    data = bytearray(blob.read_bytes())
    data[-8:] = b"\x00" * 8  # flip the last weights: the sha256 in model.json no longer matches
    blob.write_bytes(bytes(data))
    fresh = Zoo(tmp_path)
    again = fresh.get(tiny, "random", "B", 3)
    assert fresh.trained == 1
    assert all(torch.equal(a, b) for a, b in zip(again.net.state_dict().values(), m.net.state_dict().values()))
