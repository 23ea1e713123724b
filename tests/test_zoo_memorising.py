"""The memorising control of the zoo (``Zoo.memorising``): the empirical optimal denoiser of a
group's training images, at no training cost, addressed by those images."""

import numpy as np
import pytest
import torch

from studies.claims.core import CONTROLS, GAUSSIAN_CONTROL, GAUSSIAN_UNET_CONTROL, HELDOUT_CONTROL, MEMORISING_CONTROL, memorising_control, parse_case
from studies.sample import EmpiricalDenoiser
from studies.zoo import Zoo


def test_memorising_control_needs_no_training(tmp_path):
    zoo = Zoo(tmp_path / "zoo")
    a = zoo.memorising("smoke", "random", "A", 10)
    b = zoo.memorising("smoke", "random", "B", 10)
    assert zoo.trained == 0 and not any((tmp_path / "zoo").iterdir())
    assert isinstance(a.net, EmpiricalDenoiser) and a.n == 10 and a.train_images.shape[0] == 10
    assert a.key != b.key and a.key == zoo.memorising("smoke", "random", "A", 10).key
    assert set(a.train_indices.tolist()).isdisjoint(b.train_indices.tolist())
    # the posterior mean of a training image at tiny noise is that image: the model memorises
    x = a.train_images[:3]
    with torch.no_grad():
        assert torch.allclose(x + 1e-4 - a.net(x + 1e-4), x, atol=1e-3)


def test_control_cases_parse():
    assert parse_case(MEMORISING_CONTROL) == ("random", "memorising")
    assert parse_case(HELDOUT_CONTROL) == ("random", "held-out")
    assert parse_case("identity") == ("identity", None)
    assert parse_case(GAUSSIAN_CONTROL) == ("gaussian", "gaussian")
    assert parse_case(GAUSSIAN_UNET_CONTROL) == ("gaussian-unet", "gaussian-unet")
    assert memorising_control("random") == MEMORISING_CONTROL
    for p in ("identity", "eyeglasses", "male", "footwear"):  # the splits the comparative claims run the control on
        assert parse_case(memorising_control(p)) == (p, "memorising")
    assert set(CONTROLS) == {MEMORISING_CONTROL, HELDOUT_CONTROL, GAUSSIAN_CONTROL, GAUSSIAN_UNET_CONTROL} | {memorising_control(p) for p in ("identity", "eyeglasses", "male", "footwear")}


def test_heldout_pair_is_disjoint_from_the_reference():
    """The originality claim's negative control: held-out images in the samples' place, other images
    than the pair's held-out reference, each draw its own; measured like a pair evaluation."""
    from types import SimpleNamespace

    from studies.errors import InputError
    from studies.evaluation import heldout_images, heldout_pair, heldout_reference

    g = torch.Generator().manual_seed(0)
    images = torch.rand(40, 1, 4, 4, generator=g)

    def model(train, test):
        return SimpleNamespace(protocol="random", n=len(train), key=f"m{len(train)}", train_images=images[train], test_images=images[test])

    a, b = model(list(range(20)), list(range(20, 40))), model(list(range(20, 40)), list(range(20)))
    p0, p1 = heldout_pair(a, b, 4, draw=0), heldout_pair(a, b, 4, draw=1)
    ref = heldout_images(a, 4)
    rows = lambda x: {tuple(np.asarray(r).ravel().round(6)) for r in x}  # noqa: E731
    assert not rows(p0.samples_a) & rows(ref) and not rows(p0.samples_a) & rows(p1.samples_a)
    assert rows(p0.samples_a) <= rows(a.test_images) and rows(p0.samples_b) <= rows(b.test_images)
    assert np.allclose(p0.ref_a, heldout_reference(a, 4)) and p0.ab.shape == (4,) and p0.null.shape == (12,)
    assert (p0.nn_a < 1 - 1e-6).all()  # never trained on: no image is its own nearest training image
    with pytest.raises(InputError, match="held-out images"):
        heldout_pair(a, b, 8, draw=1)
