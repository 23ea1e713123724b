"""The paper-scale code path end to end on a CelebA-layout folder: celeba40's data config
(source "celeba", 40x40, exact dedup of the random split only), every protocol's split drawn from
its own dataset, models trained, one pair evaluated with T25's own-mean start. The model, the
training and the N grid are shrunk to seconds; everything else is celeba40's."""

import dataclasses

import numpy as np
import pytest

from studies.config import ModelConfig, ProtocolGrid, SampleConfig, SplitConfig, SynthConfig, TrainConfig
from studies.errors import InputError
from studies.evaluation import evaluate_pair
from studies.profiles import get_profile
from studies.zoo import Zoo


@pytest.fixture(scope="module")
def celeba_dir(tmp_path_factory):
    from studies.data.synth import generate

    return generate(tmp_path_factory.mktemp("celeba") / "faces", SynthConfig(identities=40, seed=3, duplicate_rate=0.05))


def _mini(prof):
    def grid(name, n, **split):
        return ProtocolGrid(name=name, split=SplitConfig(n_total=40, **split), n_grid=(n,), dedup=name == "random")

    return dataclasses.replace(
        prof, name="celeba40-mini", model=ModelConfig(blocks=1, width=4),
        train=TrainConfig(epochs=1, batch_size=20, eval_images=4, lr_decay_every=1),
        sample=dataclasses.replace(prof.sample, n_seeds=2, max_T=30),
        protocols=(grid("random", 10), grid("identity", 10, protocol="identity", identity_tolerance=0.5),
                   grid("eyeglasses", 5, protocol="attribute", attribute="Eyeglasses"),
                   grid("male", 10, protocol="attribute", attribute="Male")),
        psnr_images=4, psnr_noise_draws=1,
    )


def test_celeba40_path_on_a_celeba_folder(tmp_path, monkeypatch, celeba_dir):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    real = get_profile("celeba40")
    prof = _mini(real)
    assert prof.data == real.data and prof.data.source == "celeba" and prof.data.dedup == "exact"
    with pytest.raises(InputError, match="--celeba DIR"):
        Zoo(tmp_path / "nozoo").dataset(prof, "random")
    zoo = Zoo(tmp_path / "zoo", celeba_dir=celeba_dir, progress=False)
    deduped, full = zoo.dataset(prof, "random"), zoo.dataset(prof, "male")
    assert deduped.images.shape[1:] == (1, 40, 40)
    assert len(full.names) > len(deduped.names)  # the planted near-duplicates are removed for random only
    for protocol in ("random", "identity", "eyeglasses", "male"):
        n = prof.protocol(protocol).n_grid[0]
        a, b = zoo.get(prof, protocol, "A", n), zoo.get(prof, protocol, "B", n)
        assert a.dataset.path == (deduped if protocol == "random" else full).path
        assert not set(a.train_indices.tolist()) & set(b.train_indices.tolist())
    ev = evaluate_pair(zoo.get(prof, "male", "A", 10), zoo.get(prof, "male", "B", 10), prof, k=2, root=tmp_path / "ev")
    assert ev.summary["start"] == "own" and ev.samples_a.shape == (2, 1, 40, 40)
    assert np.isfinite(ev.ab).all() and ev.ref_a.shape == (2,)
