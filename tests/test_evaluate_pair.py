"""studies.evaluation on a pair of memorising denoisers (the exact empirical posterior mean of their
own training images): samples are copies, the held-out reference is not, the evaluation is cached
and a corrupt cache entry is recomputed."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studies.config import SampleConfig
from studies.errors import InputError
from studies.evaluation import evaluate_pair, heldout_reference
from studies.metrics.similarity import pairwise_correlation
from studies.profiles import get_profile
from studies.sample import EmpiricalDenoiser

SIDE = 8


def _images(n, seed):
    g = torch.Generator().manual_seed(seed)
    # smooth random images: a low-resolution field upsampled, so neighbours are not all alike
    low = torch.rand(n, 1, 3, 3, generator=g)
    return torch.nn.functional.interpolate(low, size=(SIDE, SIDE), mode="bilinear", align_corners=False)


def _model(group, train, test, every):
    return SimpleNamespace(
        protocol="random", n=train.shape[0], key=f"memorising-{group}", group=group,
        config={"model_config": {"empirical": True}}, net=EmpiricalDenoiser(train).eval(),
        train_images=train, test_images=test, dataset=SimpleNamespace(images=every), split=None,
    )


@pytest.fixture
def pair():
    a, b = _images(6, 1), _images(40, 2)
    every = torch.cat([a, b])
    return _model("A", a, b, every), _model("B", b[:6], a, every)


@pytest.fixture
def profile():
    smoke = get_profile("smoke")
    return dataclasses.replace(smoke, sample=SampleConfig(h0=0.05, beta=0.5, sigma_L=0.05, max_T=300, n_seeds=6),
                               psnr_images=6, psnr_noise_draws=1)


def test_heldout_reference_is_brute_force_nearest(pair):
    model_a, _ = pair
    ref = heldout_reference(model_a, 10, seed=3)
    pick = torch.randperm(40, generator=torch.Generator().manual_seed(3))[:10]
    brute = pairwise_correlation(model_a.test_images[pick], model_a.train_images).max(axis=1)
    np.testing.assert_allclose(ref, brute, atol=1e-5)


def test_memorising_pair_copies_and_reference_does_not(tmp_path, pair, profile):
    model_a, model_b = pair
    ev = evaluate_pair(model_a, model_b, profile, k=3, root=tmp_path)
    assert ev.samples_a.shape == (6, 1, SIDE, SIDE) and ev.ref_a.shape == (6,)
    # a memorising model reproduces a training image: its nearest-training correlation is ~1,
    # well above what held-out images of the same kind reach
    assert np.median(ev.nn_a) > 0.99
    assert np.median(ev.ref_a) < 0.9  # measured 0.46 (six held-out images: 0.06..0.59)
    # cached: a second call loads the same arrays; a corrupt entry is recomputed, not used
    again = evaluate_pair(model_a, model_b, profile, k=3, root=tmp_path)
    np.testing.assert_array_equal(again.ref_b, ev.ref_b)
    arrays = next(tmp_path.glob("*/arrays.npz"))
    arrays.write_bytes(b"truncated")
    redone = evaluate_pair(model_a, model_b, profile, k=3, root=tmp_path)
    np.testing.assert_array_equal(redone.samples_a, ev.samples_a)
    # the summary (the measured numbers) is hashed too: a changed number is caught and recomputed
    summary = next(tmp_path.glob("*/evaluation.json"))
    good = summary.read_text()
    import json

    data = json.loads(good)
    data["n"] = data["n"] + 1
    summary.write_text(json.dumps(data, indent=1, sort_keys=True))

    from studies.evaluation import load_evaluation
    from studies.errors import ArtifactError

    with pytest.raises(ArtifactError, match=r"evaluation\.json has sha256"):
        load_evaluation(summary.parent)
    fixed = evaluate_pair(model_a, model_b, profile, k=3, root=tmp_path)
    assert fixed.n == ev.n and json.loads(summary.read_text())["n"] == ev.n


def test_pair_of_different_n_is_refused(tmp_path, pair, profile):
    model_a, model_b = pair
    model_b.n = 7
    with pytest.raises(InputError, match="one protocol and N"):
        evaluate_pair(model_a, model_b, profile, root=tmp_path)
