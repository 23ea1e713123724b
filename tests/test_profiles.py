"""The profile registry refuses profiles that cannot run, at registration."""

import dataclasses

import pytest

from studies.config import ProtocolGrid, config_hash, from_dict, to_dict
from studies.errors import InputError
from studies.profiles import get_profile, profile_names, register_profile


def test_known_profiles():
    # a fresh process: other test modules register tiny profiles of their own in this one
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "from studies.profiles import profile_names; print(profile_names())"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(["celeba40", "celeba80", "fashion", "fashion_ci", "smoke"])
    with pytest.raises(InputError, match="unknown profile 'nope'"):
        get_profile("nope")


def test_equal_n_comparison_needs_the_random_grid():
    smoke = get_profile("smoke")
    grids = tuple(dataclasses.replace(g, n_grid=(10, 2000)) if g.name == "identity" else g for g in smoke.protocols)
    with pytest.raises(InputError, match="largest N 2000 of protocol identity is not in the random grid"):
        register_profile(dataclasses.replace(smoke, name="badgrid", protocols=grids))


def test_model_too_deep_for_the_resolution_is_refused():
    smoke = get_profile("smoke")
    with pytest.raises(InputError, match="divisible by 32"):
        register_profile(dataclasses.replace(smoke, name="deep", model=dataclasses.replace(smoke.model, blocks=5)))


def test_duplicate_name_is_refused():
    with pytest.raises(InputError, match="already registered"):
        register_profile(get_profile("smoke"))


def test_configs_round_trip_and_hash_stably():
    smoke = get_profile("smoke")
    for cfg in (smoke.data, smoke.model, smoke.train, smoke.sample):
        back = from_dict(type(cfg), to_dict(cfg))
        assert back == cfg and config_hash(back) == config_hash(cfg)
    assert config_hash(smoke.train) != config_hash(dataclasses.replace(smoke.train, seed=1))
    with pytest.raises(InputError, match="unknown field"):
        from_dict(type(smoke.model), {**to_dict(smoke.model), "depth": 3})
    with pytest.raises(InputError, match="strictly increasing"):
        ProtocolGrid(name="random", split=smoke.protocols[0].split, n_grid=(100, 10))


def test_paper_profiles_deduplicate_only_the_random_split():
    """SPEC §3: T25 de-duplicated the random split's set only; attribute and identity splits use all
    images (Eyeglasses 13,193 per side needs every image: after dedup fewer would be left)."""
    from studies.profiles import get_profile

    for name in ("celeba40", "celeba80"):
        prof = get_profile(name)
        assert prof.data_for("random").dedup == "exact"
        for protocol in ("identity", "eyeglasses", "male"):
            data = prof.data_for(protocol)
            assert data.dedup is None and data.resolution == prof.data.resolution
    smoke = get_profile("smoke")
    assert all(smoke.data_for(p.name) == smoke.data for p in smoke.protocols)


def test_zoo_uses_each_protocols_dataset(tmp_path, monkeypatch):
    """A profile that de-duplicates only its random protocol: the zoo builds two datasets, and the
    un-deduplicated one keeps the planted near-duplicates that dedup removes."""
    import dataclasses

    from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
    from studies.profiles import _protocols
    from studies.zoo import Zoo

    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    prof = Profile(
        name="dedup-per-protocol", description="test",
        data=DataConfig(source="synthetic", resolution=20, dedup="exact", synth=SynthConfig(identities=12, seed=0, duplicate_rate=0.1)),
        model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=1, batch_size=16, eval_images=4),
        sample=SampleConfig(n_seeds=2), protocols=_protocols(40, {"random": (10,), "male": (10,)}, dedup=("random",)),
    )
    zoo = Zoo(tmp_path / "zoo")
    deduped, full = zoo.dataset(prof, "random"), zoo.dataset(prof, "male")
    assert deduped.path != full.path
    assert len(full.names) > len(deduped.names)
    assert set(deduped.names) <= set(full.names)
    assert zoo.dataset(prof) is deduped  # the profile's own config
    assert dataclasses.replace(prof.data, dedup=None) == prof.data_for("male")
    split = zoo.split(prof, "male", 10)  # drawn from the un-deduplicated images
    assert set(split.names_a) | set(split.names_b) <= set(full.names)


def test_replicates_change_only_seeds(tmp_path):
    from studies.errors import InputError
    from studies.profiles import get_profile

    smoke = get_profile("smoke")
    assert smoke.replica(0) is smoke and smoke.replicate == 0 and smoke.label == "smoke"
    r2 = smoke.replica(2)
    assert r2.name == "smoke" and r2.replicate == 2 and r2.label == "smoke/r2"
    assert r2.train.seed == smoke.train.seed + 4 and r2.sample.seed0 == smoke.sample.seed0 + 2000
    assert r2.model == smoke.model and r2.data == smoke.data and r2.protocols == smoke.protocols
    assert r2.replica(1) == smoke.replica(1) and r2.replica(0) == smoke  # replica counts from the registered seeds
    with pytest.raises(InputError, match="replicate 3 outside 0..2"):
        smoke.replica(3)
    with pytest.raises(InputError, match="unknown profile 'smoke~r1'"):
        get_profile("smoke~r1")  # a replicate is a field, never a name
    # replicated: each non-random protocol's largest N and the random pair at that N
    assert smoke.replicated_pairs() == (("identity", 4000), ("random", 4000), ("eyeglasses", 300), ("random", 300), ("male", 1000), ("random", 1000))
    assert smoke.replicated("male", 1000) and not smoke.replicated("male", 10) and not smoke.replicated("random", 10)
    from studies.zoo import Zoo

    zoo = Zoo(tmp_path / "zoo")
    zoo_specs = zoo.specs(smoke, ["identity"])  # a protocol's own replicated pairs only
    assert {s.profile for s in zoo_specs} == {"smoke"}
    assert sorted(s.replicate for s in zoo_specs if s.replicate) == [1, 1, 2, 2]
    assert {(s.protocol, s.n) for s in zoo_specs if s.replicate} == {("identity", 4000)}
    assert {s.label() for s in zoo_specs if s.replicate == 1} == {"smoke/identity/A/N4000/r1", "smoke/identity/B/N4000/r1"}
    assert zoo_specs[0].resolve() is smoke and [s for s in zoo_specs if s.replicate == 2][0].resolve() == smoke.replica(2)
    rand = [s for s in zoo.specs(smoke, ["random"]) if s.replicate]
    assert {(s.protocol, s.n) for s in rand} == {("random", 4000), ("random", 300), ("random", 1000)} and len(rand) == 12
    assert len(zoo.specs(smoke)) == 20 + 24
    assert get_profile("celeba40").replicated_pairs() == ()
