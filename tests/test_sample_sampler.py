"""The K24 sampler: batch == one seed, per-sample stopping, stop statuses, convergence of an exact
memorising denoiser to its training points, bad input."""

import numpy as np
import pytest
import torch

from studies.errors import InputError
from studies.sample import (
    CONVERGED,
    DIVERGED,
    MAX_T,
    EmpiricalDenoiser,
    noise_scale,
    sample,
    step_size,
)

torch.set_num_threads(1)

SHAPE = (1, 8, 8)
FAST = dict(h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=500)


def _train(n=3, seed=1):
    return torch.rand((n, *SHAPE), generator=torch.Generator().manual_seed(seed))


class Counting(torch.nn.Module):
    """Wraps a denoiser and records the batch size of every call."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.batches = inner, []
        self.eval()

    def forward(self, y):
        self.batches.append(y.shape[0])
        return self.inner(y)


class SmallConvNet(torch.nn.Module):
    """A conv net with batch norm (eval mode) added on top of an exact denoiser, so the chains
    run long and go through batch-size-dependent conv kernels."""

    def __init__(self, inner):
        super().__init__()
        torch.manual_seed(0)
        self.inner = inner
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1, bias=False),
            torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, 1, 3, padding=1, bias=False),
        )
        with torch.no_grad():
            self.net[3].weight.mul_(0.01)
            self.net[1].running_var.fill_(4.0)
        self.eval()

    def forward(self, y):
        return self.inner(y) + self.net(y)


def test_schedule_matches_k24():
    assert step_size(0.01, 1) == pytest.approx(0.01)
    assert step_size(0.01, 2) == pytest.approx(0.02 / 1.01)
    # h_t -> 1 as t grows
    assert step_size(0.01, 10**6) == pytest.approx(1.0, abs=1e-3)
    g = noise_scale(torch.tensor([2.0]), 0.5, 0.1)
    assert g.item() == pytest.approx(2.0 * np.sqrt(0.95**2 - 0.5**2))


def test_batch_gives_each_seed_exactly_its_one_seed_run():
    train = _train()
    den = EmpiricalDenoiser(train)
    seeds = [5, 0, 17, 3, 11, 2]
    opts = dict(shape=SHAPE, mean=train.mean(0), h0=0.01, beta=0.1, sigma_0=1.0, sigma_L=0.05, max_T=2000)
    batch = sample(den, seeds, **opts)
    assert len(set(batch.steps.tolist())) > 1, "the chains should stop at different t"
    for i, s in enumerate(seeds):
        one = sample(den, [s], **opts)
        # the empirical denoiser works sample by sample in float64: bit-identical
        assert torch.equal(one.images[0], batch.images[i])
        assert one.steps[0] == batch.steps[i] and one.status[0] == batch.status[i]
        assert one.noise.hashes[0] == batch.noise.hashes[i]
        np.testing.assert_array_equal(one.sigma_trace[0], batch.sigma_trace[i])


def test_batch_equals_one_seed_with_a_conv_net_within_float_tolerance():
    # conv kernels may sum in a batch-size-dependent order: equal to float32 rounding, same steps
    train = _train()
    net = SmallConvNet(EmpiricalDenoiser(train))
    seeds = [4, 9, 1, 7]
    opts = dict(shape=SHAPE, mean=train.mean(0), **FAST)
    batch = sample(net, seeds, **opts)
    assert batch.steps.min() > 5
    for i, s in enumerate(seeds):
        one = sample(net, [s], **opts)
        assert one.steps[0] == batch.steps[i]
        assert one.status[0] == batch.status[i]
        assert one.noise.hashes[0] == batch.noise.hashes[i]
        torch.testing.assert_close(one.images[0], batch.images[i], rtol=0, atol=1e-5)


def test_noise_hashes_identify_the_seed():
    train = _train()
    den = EmpiricalDenoiser(train)
    opts = dict(shape=SHAPE, mean=train.mean(0), **FAST)
    a = sample(den, [1, 2, 3], **opts)
    b = sample(den, [3, 1, 2], **opts)
    by_seed_a = dict(zip(a.seeds, a.noise.hashes))
    by_seed_b = dict(zip(b.seeds, b.noise.hashes))
    assert by_seed_a == by_seed_b
    initials = {h.initial for h in a.noise.hashes}
    assert len(initials) == 3
    assert len({h.stream for h in a.noise.hashes}) == 3
    # the hash is of the noise actually drawn: recompute z_0 of seed 2
    z0 = torch.randn(SHAPE, generator=torch.Generator().manual_seed(2))
    import hashlib

    assert by_seed_a[2].initial == hashlib.sha256(z0.numpy().tobytes()).hexdigest()


def test_per_sample_stopping_shrinks_the_batch_and_freezes_stopped_chains():
    train = _train()
    den = Counting(EmpiricalDenoiser(train))
    seeds = list(range(8))
    res = sample(den, seeds, shape=SHAPE, mean=train.mean(0), h0=0.01, beta=0.1, sigma_0=1.0, sigma_L=0.05, max_T=2000)
    assert res.status == (CONVERGED,) * 8
    ascent = den.batches[:-1]  # the last call is the final y - net(y) of every chain
    assert ascent == sorted(ascent, reverse=True) and ascent[0] == 8 and ascent[-1] >= 1
    # network calls of the ascent = sum of the per-seed step counts: stopped chains cost nothing
    assert sum(ascent) == int(res.steps.sum())
    assert den.batches[-1] == 8
    for tr, t in zip(res.sigma_trace, res.steps):
        assert len(tr) == t and tr[-1] <= 0.05 and (tr[:-1] > 0.05).all()


def test_exact_memorising_denoiser_samples_its_training_points():
    # K24 §2: the optimal denoiser of an empirical distribution of 3 points can only reproduce them
    train = _train(3, seed=4)
    den = EmpiricalDenoiser(train)
    res = sample(den, range(12), shape=SHAPE, mean=train.mean(0), h0=0.01, beta=0.1, sigma_0=1.0, sigma_L=0.01, max_T=3000)
    assert set(res.status) == {CONVERGED}
    d = torch.cdist(res.images.reshape(12, -1).double(), train.reshape(3, -1).double())
    nearest = d.min(dim=1)
    assert (nearest.values < 1e-3).all(), nearest.values
    # and the samples are spread over the training points, not collapsed on one
    assert len(set(nearest.indices.tolist())) >= 2


class Expanding(torch.nn.Module):
    """A deliberately bad denoiser: its residual points away from the data, y grows until sigma > 2."""

    def forward(self, y):
        return -0.5 * y


class ConstantResidual(torch.nn.Module):
    """Its sigma_t stays 0.5 forever: neither converges nor diverges."""

    def forward(self, y):
        return torch.full_like(y, 0.5)


def test_divergence_is_reported_per_sample():
    res = sample(Expanding().eval(), [0, 1, 2], shape=SHAPE, mean=0.5, h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=1000)
    assert res.status == (DIVERGED,) * 3
    for tr, t in zip(res.sigma_trace, res.steps):
        assert tr[-1] > 2 and (tr[:-1] <= 2).all() and len(tr) == t and t > 1
    assert res.counts() == {CONVERGED: 0, DIVERGED: 3, MAX_T: 0}
    # a diverged chain drew no noise at its last step
    assert all(h.steps == t - 1 for h, t in zip(res.noise.hashes, res.steps))


def test_mixed_statuses_in_one_batch():
    class Mixed(torch.nn.Module):
        # chains whose mean pixel is high diverge, the others stay at sigma 0.5
        def forward(self, y):
            high = (y.reshape(y.shape[0], -1).mean(1) > 0.5).view(-1, 1, 1, 1)
            return torch.where(high, -0.5 * y, torch.full_like(y, 0.5))

    res = sample(Mixed().eval(), range(6), shape=SHAPE, mean=torch.tensor([[[0.5]]]).expand(SHAPE), **{**FAST, "max_T": 50})
    assert set(res.status) == {DIVERGED, MAX_T}, res.status
    for st, t in zip(res.status, res.steps):
        assert (t == 50) if st == MAX_T else (t < 50)


def test_max_T_is_reported():
    res = sample(ConstantResidual().eval(), [0, 1], shape=SHAPE, mean=0.5, h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=7)
    assert res.status == (MAX_T, MAX_T)
    assert res.steps.tolist() == [7, 7]
    assert [h.steps for h in res.noise.hashes] == [7, 7]


def test_callback_sees_every_step():
    seen = []
    train = _train()
    res = sample(EmpiricalDenoiser(train), [0, 1], shape=SHAPE, mean=train.mean(0), callback=lambda info: seen.append((info["t"], len(info["active"]))), **FAST)
    assert [t for t, _ in seen] == list(range(1, int(res.steps.max()) + 1))
    assert sum(n for _, n in seen) == int(res.steps.sum())


def test_training_mode_network_is_refused():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, padding=1), torch.nn.BatchNorm2d(1))
    with pytest.raises(InputError, match="training mode"):
        sample(net, [0], shape=SHAPE, mean=0.5, **FAST)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(seeds=[1, 2, 1]), "seeds given twice"),
        (dict(seeds=[]), "empty"),
        (dict(seeds=[-1]), r"\[0, 2\*\*63\)"),
        (dict(shape=(8, 8)), "shape"),
        (dict(mean=torch.zeros(1, 4, 4)), "mean has shape"),
        (dict(mean=torch.full(SHAPE, float("nan"))), "NaN"),
        (dict(h0=0.0), "h0"),
        (dict(beta=1.5), "beta"),
        (dict(sigma_L=-1), "sigma_L"),
        (dict(max_T=0), "max_T"),
    ],
)
def test_bad_input_is_refused(change, match):
    args = dict(seeds=[0, 1], shape=SHAPE, mean=0.5, **FAST)
    args.update(change)
    seeds = args.pop("seeds")
    with pytest.raises(InputError, match=match):
        sample(EmpiricalDenoiser(_train()), seeds, **args)


def test_same_seed_same_samples_on_cpu():
    train = _train()
    opts = dict(shape=SHAPE, mean=train.mean(0), **FAST)
    a = sample(SmallConvNet(EmpiricalDenoiser(train)), [3, 4], **opts)
    b = sample(SmallConvNet(EmpiricalDenoiser(train)), [3, 4], **opts)
    assert torch.equal(a.images, b.images) and a.noise.hashes == b.noise.hashes


def test_seed_noise_gives_each_seed_its_own_stream_whatever_the_batch():
    from studies.sample import SeedNoise

    batch, alone = SeedNoise([3, 8, 5], SHAPE), SeedNoise([8], SHAPE)
    z0 = batch.initial()
    assert z0.shape == (3, *SHAPE) and torch.equal(z0[1], alone.initial()[0])
    # seed 8 draws with different batch mates at each step (and seed 5 stops drawing after step 1)
    first, second = batch.draw([0, 1, 2]), batch.draw([1])
    assert torch.equal(first[1], alone.draw([0])[0]) and torch.equal(second[0], alone.draw([0])[0])
    rec, rec_alone = batch.digests, alone.digests
    assert [h.steps for h in rec.hashes] == [1, 2, 1] and rec.hashes[1] == rec_alone.hashes[0]
    assert rec.digest(1, 2) == rec_alone.digest(0, 2) and rec.digest(1, 1) != rec.digest(1, 2)
    assert batch.draw([]).shape == (0, *SHAPE)


def test_seed_noise_draws_z0_once_and_first():
    from studies.sample import SeedNoise

    with pytest.raises(InputError, match="before initial"):
        SeedNoise([0], SHAPE).draw([0])
    with pytest.raises(InputError, match="before initial"):
        SeedNoise([0], SHAPE).digests
    noise = SeedNoise([0], SHAPE)
    noise.initial()
    with pytest.raises(InputError, match="already drawn"):
        noise.initial()
