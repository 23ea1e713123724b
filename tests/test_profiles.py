"""The profile registry refuses profiles that cannot run, at registration."""

import dataclasses

import pytest

from studies.config import ProtocolGrid, config_hash, from_dict, to_dict
from studies.errors import InputError
from studies.profiles import get_profile, profile_names, register_profile


def test_known_profiles():
    assert profile_names() == ["celeba40", "celeba80", "smoke"]
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
