"""The memorising control of the zoo (``Zoo.memorising``): the empirical optimal denoiser of a
group's training images, at no training cost, addressed by those images."""

import torch

from studies.claims.core import CONTROLS, GAUSSIAN_CONTROL, HELDOUT_CONTROL, MEMORISING_CONTROL, memorising_control, parse_case
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
    assert memorising_control("random") == MEMORISING_CONTROL
    for p in ("identity", "eyeglasses", "male", "footwear"):  # the splits the comparative claims run the control on
        assert parse_case(memorising_control(p)) == (p, "memorising")
    assert set(CONTROLS) == {MEMORISING_CONTROL, HELDOUT_CONTROL, GAUSSIAN_CONTROL} | {memorising_control(p) for p in ("identity", "eyeglasses", "male", "footwear")}
