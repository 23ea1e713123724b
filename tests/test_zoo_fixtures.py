"""The session fixtures of ``fixtures/zoo.py`` as a test module sees them (through pytester, with
a tiny registered profile so the model trains in seconds)."""

import pytest

pytest_plugins = ["pytester"]

CONFTEST = '''
import pytest, torch
from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.errors import InputError
from studies.profiles import _protocols, get_profile, register_profile

pytest_plugins = ["studies.claims.plugin", "fixtures.zoo"]

try:
    get_profile("fixturetest")
except InputError:
    register_profile(Profile(
        name="fixturetest", description="tiny", sample=SampleConfig(),
        data=DataConfig(source="synthetic", resolution=8, synth=SynthConfig(identities=10, seed=0)),
        model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=1, batch_size=32, eval_images=8),
        protocols=_protocols(40, {"random": (4,)}),
    ))
torch.set_num_threads(1)
'''

TEST = '''
import torch

def test_trained(profile, dataset, zoo, trained):
    assert profile.name == "fixturetest"
    m = trained("random", "a", 4)
    assert m is trained("random", "A", 4)
    assert m.train_images.shape == (4, 1, 8, 8)
    assert torch.equal(m.train_images, dataset.images[:4])
    assert torch.equal(m.test_images, dataset.images[-4:])
    assert str(m.path).startswith(str(zoo.root))
'''


def test_fixtures_build_and_share(pytester, tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))  # fixtures/ lives at the repo root
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_uses_zoo=TEST)
    result = pytester.runpytest_subprocess("--profile", "fixturetest", "-p", "no:cacheprovider", "--report-dir", str(tmp_path / "rep"))
    result.assert_outcomes(passed=1)
    assert list((tmp_path / "cache" / "zoo").glob("*/model.safetensors"))
