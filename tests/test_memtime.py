"""Snapshotted zoo entries (``Zoo.get_snapshotted``) and the memorisation curve read from them
(``studies.memtime``), on a tiny synthetic profile: separate addresses from the profile's models,
snapshots hash-listed, curves cached and the same on a second read; configs refuse bad values."""

import json

import pytest

from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.errors import ArtifactError, InputError
from studies.profiles import _protocols, get_profile, register_profile
from studies.zoo import SnapshotRun, Zoo

from test_progress import Recorder
from test_zoo_build import isolated

NAME = "memtimetest"
RUN = SnapshotRun(epochs=2, lr=1e-3, snapshot_steps=(1, 2, 4))


def _tiny() -> Profile:
    try:
        return get_profile(NAME)
    except InputError:
        return register_profile(Profile(
            name=NAME, description="tiny snapshot test profile",
            data=DataConfig(source="synthetic", resolution=8, synth=SynthConfig(identities=10, seed=0)),
            model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=2, batch_size=32, eval_images=8),
            sample=SampleConfig(max_T=50, sigma_L=0.1), protocols=_protocols(60, {"random": (3, 20)}),
        ))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with isolated(tmp_path_factory):
        yield _tiny()


def test_snapshotted_entry_and_curve(tiny, tmp_path):
    from studies.memtime import memorisation_curve

    zoo = Zoo(tmp_path / "zoo")
    with pytest.raises(ArtifactError, match="not built"):
        zoo.get_snapshotted(tiny, "random", "A", 3, RUN, build=False)
    m = zoo.get_snapshotted(tiny, "random", "A", 3, RUN)
    plain = zoo.get(tiny, "random", "A", 3)
    assert m.key != plain.key  # its own entry; the profile's model keeps its address
    assert [s["step"] for s in m.config["snapshots"]] == [1, 2, 4]
    assert json.loads((m.path / "entry.json").read_text())["snapshot_run"]["snapshot_steps"] == [1, 2, 4]
    assert m.config["train_config"]["lr_decay_every"] > m.config["train_config"]["epochs"]  # constant lr
    curve = memorisation_curve(m, tiny.sample, 4, root=tmp_path / "memtime")
    assert [r["step"] for r in curve["rows"]] == [1, 2, 4]
    assert all(len(r["raw"]) == 4 and len(r["standardised"]) == 4 and r["loss_test_random"] > 0 for r in curve["rows"])
    again = memorisation_curve(zoo.get_snapshotted(tiny, "random", "A", 3, RUN, build=False), tiny.sample, 4, root=tmp_path / "memtime")
    assert again == curve
    with pytest.raises(InputError, match="keeps no snapshots"):
        memorisation_curve(plain, tiny.sample, 4, root=tmp_path / "memtime")


def test_configs_refuse_bad_values():
    from studies.memtime import MemTimeConfig

    with pytest.raises(InputError):
        SnapshotRun(epochs=2, lr=1e-3, snapshot_steps=(4, 2))
    with pytest.raises(InputError):
        SnapshotRun(epochs=0, lr=1e-3, snapshot_steps=(1,))
    with pytest.raises(InputError):
        MemTimeConfig(protocol="random", ns=(10, 20), groups=("A",), run=RUN, seeds=8)


@pytest.mark.parametrize("workers", [1, 2])
def test_build_models_reports_each_snapshotted_model_and_then_has_none_missing(tiny, tmp_path, workers):
    from studies.memtime import MemTimeConfig, build_models, missing_models, model_label

    cfg = MemTimeConfig(protocol="random", ns=(3, 5, 20), groups=("A",), run=RUN, seeds=2)
    zoo = Zoo(tmp_path / "zoo", progress=False)
    assert missing_models(zoo, tiny, cfg) == [(3, "A"), (5, "A"), (20, "A")]
    heard = Recorder()
    build_models(zoo, tiny, cfg, workers=workers, progress=heard)
    labels = [model_label(tiny, cfg, n, "A") for n in cfg.ns]
    assert sorted(l for e, l in heard.events if e == "finish") == sorted(labels)
    for label in labels:  # each model starts before it finishes
        assert heard.events.index(("start", label)) < heard.events.index(("finish", label))
    assert missing_models(zoo, tiny, cfg) == []
    heard.events.clear()
    build_models(zoo, tiny, cfg, workers=workers, progress=heard)  # nothing left to build: nothing heard
    assert heard.events == []
