"""The Gaussian control's trained UNet pair (studies.gaussian_unet): content-addressed in the zoo,
trained once and loaded after, on the disjoint halves of the fitted control's draw; and the MSE
comparison with the closed-form MMSE on known denoisers (the MMSE itself, the blind oracle, the
identity, a denoiser fitted on 10 images)."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from studies.config import DataConfig, ModelConfig, Profile, SampleConfig, SynthConfig, TrainConfig
from studies.errors import ArtifactError, InputError
from studies.gaussian import MEAN, GaussianDenoiser, draw_images, gaussian_pair, spectrum_covariance
from studies.gaussian_unet import address, excess_summary, mmse_rows, unet_pair
from studies.metrics.psnr import default_sigmas
from studies.profiles import _protocols
from studies.zoo import Zoo
from tests.test_zoo_build import isolated

RES = 8


def _tiny() -> Profile:
    return Profile(name="gaussunet", description="tiny Gaussian-UNet test profile",
                   data=DataConfig(source="synthetic", resolution=RES, synth=SynthConfig(identities=10, seed=0)),
                   model=ModelConfig(blocks=1, width=4), train=TrainConfig(epochs=1, batch_size=32, eval_images=8),
                   sample=SampleConfig(), protocols=_protocols(60, {"random": (3, 20)}))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with isolated(tmp_path_factory):
        yield _tiny()


def test_pair_is_trained_once_on_the_disjoint_halves_then_loaded(env, tmp_path):
    prof = env
    with pytest.raises(ArtifactError, match="not built"):
        unet_pair(Zoo(tmp_path), prof, 20, build=False)
    seconds = []
    zoo = Zoo(tmp_path, progress=False)
    a, b = unet_pair(zoo, prof, 20, on_train=lambda wall, cpu: seconds.append((wall, cpu)))
    assert zoo.trained == 2 and len(seconds) == 2 and all(w > 0 and c > 0 for w, c in seconds)
    assert a.key != b.key and a.key.startswith("gaussian-unet-") and (tmp_path / a.key / "entry.json").is_file()
    fa, fb = gaussian_pair(RES, 20, 0)  # the same images as the fitted control's pair at N=20
    assert torch.equal(a.train_images, fa.train_images) and torch.equal(b.train_images, fb.train_images)
    assert torch.equal(a.test_images[:20], b.train_images) and a.test_images.shape[0] == 20 + 256
    assert a.config["exposure"]["copies"] == 3 and not a.net.training  # exposure of the profile's random protocol: 60 // 20
    again = Zoo(tmp_path, progress=False)
    a2, b2 = unet_pair(again, prof, 20)
    assert again.trained == 0 and a2.key == a.key
    assert all(torch.equal(p, q) for p, q in zip(a.net.state_dict().values(), a2.net.state_dict().values()))


def test_address_names_what_decides_the_weights(env):
    prof = env
    base = address(prof, 20, "A", 0, "x" * 64)
    assert base == address(prof, 20, "A", 0, "x" * 64)
    other_train = dataclasses.replace(prof, train=dataclasses.replace(prof.train, epochs=2))
    changed = [address(prof, 21, "A", 0, "x" * 64), address(prof, 20, "B", 0, "x" * 64), address(prof, 20, "A", 1, "x" * 64),
               address(prof, 20, "A", 0, "y" * 64), address(other_train, 20, "A", 0, "x" * 64)]
    assert base not in changed and len(set(changed)) == len(changed)
    # the profile's name is not part of it: two profiles with the same settings share the models
    assert address(dataclasses.replace(prof, name="renamed"), 20, "A", 0, "x" * 64) == base


def _model(net, n_train=4000, seed=3):
    x = draw_images(RES, n_train + 512, seed=seed)
    return SimpleNamespace(net=net, train_images=x[:n_train], test_images=x[n_train:], group="A", n=n_train)


class _KnownSigmaMMSE(torch.nn.Module):
    """The MMSE denoiser told sigma: its residual, for one fixed sigma."""

    def __init__(self, sigma):
        super().__init__()
        self.oracle, self.sigma = GaussianDenoiser(np.full(RES**2, MEAN), spectrum_covariance(RES)), sigma

    def forward(self, y):
        return y - self.oracle.denoise(y, torch.full((y.shape[0],), self.sigma**2, dtype=torch.float64))


def test_the_mmse_has_no_excess_and_other_denoisers_have_a_positive_one():
    sig = [0.01, 0.05, 0.2]
    # the MMSE itself: excess 0 up to float64 rounding (same noisy images). The bound is relative 1e-8: the
    # model's MSE and the MMSE come by different float64 matrix products, whose rounding depends on the
    # CPU's kernels (1.1e-9 on a 2-core Intel Xeon box, 2026-12-03; under 1e-9 on the AMD EPYC box of
    # 2026-12-02); the real excesses checked below are orders of magnitude larger
    for s in sig:
        (row,) = mmse_rows(_model(_KnownSigmaMMSE(s)), RES, [s])
        tol = 1e-8 * row["mmse"]
        assert abs(row["excess"]) < tol and row["excess_ci"][0] <= tol and -tol <= row["excess_ci"][1]
    blind = mmse_rows(_model(GaussianDenoiser(np.full(RES**2, MEAN), spectrum_covariance(RES))), RES, sig)
    # the true covariance with sigma estimated from 64 pixels: above the bound, most at small sigma, where the estimate matters most
    assert all(r["excess_ci"][0] > 0 for r in blind) and blind[0]["excess_db"] > blind[-1]["excess_db"]
    identity = mmse_rows(_model(lambda y: torch.zeros_like(y)), RES, sig)  # denoised = y: MSE = sigma^2
    assert all(abs(r["mse"] / r["sigma"] ** 2 - 1) < 0.05 and r["excess_ci"][0] > 0 for r in identity)
    few = _model(None, n_train=10)
    few.net = GaussianDenoiser.fitted(few.train_images)
    rows = mmse_rows(few, RES, sig)
    assert all(r["excess_ci"][0] > 0 and r["excess_db"] > 1 for r in rows)
    assert all(abs(r["fitted_excess_db"] - r["excess_db"]) < 1e-6 for r in rows)  # the fitted reference is that same denoiser
    s = excess_summary(rows)
    assert s["sigmas"] == 3 and s["sigmas_above_mmse"] == 3 and s["sigmas_below_mmse"] == 0 and s["min_excess_db"] <= s["mean_excess_db"] <= s["max_excess_db"]


def test_default_grid_and_bad_input():
    rows = mmse_rows(_model(lambda y: torch.zeros_like(y), n_train=10), RES, images=64)
    assert np.allclose([r["sigma"] for r in rows], default_sigmas())
    with pytest.raises(InputError, match="sigmas"):
        mmse_rows(_model(lambda y: torch.zeros_like(y), n_train=10), RES, [0.1, -0.1])
    with pytest.raises(InputError, match="shape"):
        mmse_rows(_model(lambda y: torch.zeros_like(y), n_train=10), RES * 2, [0.1])
