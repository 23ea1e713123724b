"""A training-seed replicate is a field of the profile (``Profile.replicate``, ``ModelSpec.replicate``),
no longer a name suffix (``NAME~rK`` up to commit c943aa6). What decides a model's
weights did not change, so neither may its address nor its evaluations' keys: a built zoo stays
valid. The golden values were computed on commit c943aa6 (2026-12-02), with the ``~r`` naming,
by ``Zoo.address(prof.replicate(r), ...)`` and ``evaluation_key(...)`` of the same profiles:
kind snapshot (observed, not predicted)."""

import types

import pytest

from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.evaluation import evaluation_key
from studies.profiles import _protocols, get_profile
from studies.zoo import Zoo

from tests.test_zoo_build import isolated

# replicate -> (address of A at N=20, address of B at N=20, evaluation key of stand-in models)
PINNED = {
    0: ("134f5ea170031de58d402a7c", "8e49b763d47c281a2e33bf4b", "4b46ac58a610220b7e92f82c"),
    1: ("1f77333b77d32b60a43d1a29", "b544db0212be26a6aafc3a81", "86930387683cb65b334a8219"),
    2: ("a676ece86f8e195a9945db90", "04a4a62ca8d30ad59795117c", "622b5757830067731276b4b9"),
}
# the smoke profile's evaluation keys for the same stand-in models (no data needed)
SMOKE_KEYS = {0: "f712331cb5ec8cac3cd48d97", 1: "cfd179b9d2286ed64a3b7af5", 2: "d7ede7be48e2dd62cae9fc65"}
_A, _B = types.SimpleNamespace(key="a" * 24), types.SimpleNamespace(key="b" * 24)


def _pin_profile() -> Profile:  # not registered: its name is not looked up
    return Profile(
        name="reppin", description="replicate address pin",
        data=DataConfig(source="synthetic", resolution=8, synth=SynthConfig(identities=10, seed=0)),
        model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=2, batch_size=32, eval_images=8),
        sample=SampleConfig(), protocols=_protocols(60, {"random": (3, 20)}), replicates=3,
    )


@pytest.mark.parametrize("r", sorted(PINNED))
def test_replicate_addresses_are_those_of_the_old_naming(r, tmp_path_factory, tmp_path):
    with isolated(tmp_path_factory):
        prof = _pin_profile().replica(r)
        zoo = Zoo(tmp_path)
        got = (zoo.address(prof, "random", "A", 20), zoo.address(prof, "random", "B", 20), evaluation_key(_A, _B, prof, k=10))
    assert got == PINNED[r]


def test_smoke_replicate_evaluation_keys_unchanged():
    smoke = get_profile("smoke")
    assert {r: evaluation_key(_A, _B, smoke.replica(r), k=10) for r in SMOKE_KEYS} == SMOKE_KEYS
