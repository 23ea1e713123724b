"""LPIPS wrapper input checks, the exact feature map, exact nearest neighbours against brute-force
``lpips`` calls (property tests), and the re-ranking statistics."""

from __future__ import annotations

import lpips as lpips_pkg
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy import stats as st

from studies.errors import InputError
from studies.metrics.lpips_nn import brute_force_nearest, exact_nearest, exact_nearest_sets, lpips_matrix
from studies.metrics.perceptual import LPIPS
from studies.metrics.rerank import (INCONCLUSIVE, correlation_topk, overstated_originality_evidence, overstated_originality_pair,
                                    rank_inversion_evidence, recall_at_k, rerank, side_by_side_figure)

torch.set_num_threads(2)
# property tests re-use one network; the distance algebra holds for any backbone, genuine or random
SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def vgg():
    return LPIPS("vgg", allow_random=True, batch_size=32)


def _images(seed, n, size=16, channels=1):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def test_values_outside_unit_range_are_refused_with_the_reason(vgg):
    x = _images(0, 2)
    with pytest.raises(InputError, match=r"most common LPIPS mistake") as info:
        vgg(x * 2 - 1, x)
    assert "x0" in str(info.value) and "[0, 1]" in str(info.value)
    with pytest.raises(InputError, match="uint8"):
        vgg((x * 255).to(torch.uint8), x)
    with pytest.raises(InputError, match="NaN"):
        vgg(x.masked_fill(x > 0.5, float("nan")), x)
    with pytest.raises(InputError, match="C in"):
        vgg(torch.rand(2, 2, 16, 16), torch.rand(2, 2, 16, 16))
    with pytest.raises(InputError, match="shapes differ"):
        vgg(x, _images(1, 2, size=20))


def test_matches_lpips_package_on_mapped_grayscale(vgg):
    a, b = _images(1, 3), _images(2, 3)
    ours = vgg(a, b)
    direct = vgg.module(a.repeat(1, 3, 1, 1), b.repeat(1, 3, 1, 1), normalize=True).reshape(-1)
    assert torch.allclose(ours, direct, atol=1e-6)
    # a single image broadcasts; a (C, H, W) image is one image
    assert torch.allclose(vgg(a[0], b), vgg(a[:1].expand(3, -1, -1, -1), b), atol=1e-6)
    assert isinstance(vgg.module, lpips_pkg.LPIPS) and vgg.module.version == "0.1"


@SETTINGS
@given(seed=hs.integers(0, 10_000), size=hs.sampled_from([16, 24]), channels=hs.sampled_from([1, 3]))
def test_feature_map_reproduces_lpips(vgg, seed, size, channels):
    a, b = _images(seed, 3, size, channels), _images(seed + 1, 3, size, channels)
    expanded = ((vgg.features(a).double() - vgg.features(b).double()) ** 2).sum(1)
    assert torch.allclose(expanded, vgg(a, b).double(), rtol=1e-4, atol=1e-7)


@SETTINGS
@given(seed=hs.integers(0, 10_000), n=hs.integers(5, 30), k=hs.integers(1, 4), block=hs.integers(1, 16))
def test_exact_nearest_equals_brute_force(vgg, seed, n, k, block):
    train, queries = _images(seed, n), _images(seed + 7, 3)
    # some queries sit close to a training image, as memorised samples do
    queries[0] = (train[seed % n] + 0.05 * queries[0]).clamp(0, 1)
    k = min(k, n)
    fast = exact_nearest(vgg, queries, train, k=k, margin=3, block=block)
    slow = brute_force_nearest(vgg, queries, train, k=k)
    assert np.array_equal(fast.indices, slow.indices)
    np.testing.assert_allclose(fast.distances, slow.distances, rtol=1e-5, atol=1e-7)
    assert fast.certified.all()
    assert fast.indices[0, 0] == seed % n


def test_exact_nearest_streams_numpy_memmaps(vgg, tmp_path):
    train = _images(3, 20).numpy()
    path = tmp_path / "train.npy"
    np.save(path, train)
    mm = np.load(path, mmap_mode="r")
    queries = _images(4, 2)
    a = exact_nearest(vgg, queries, mm, k=2, block=6)
    b = exact_nearest(vgg, queries, torch.from_numpy(train), k=2, block=20)
    assert np.array_equal(a.indices, b.indices)


def test_one_pass_over_several_query_sets_is_bit_identical_to_separate_searches(vgg):
    train, q1, q2 = _images(11, 40), _images(12, 5), _images(13, 3)
    q1[1] = (train[7] + 0.02 * q1[1]).clamp(0, 1)
    both = exact_nearest_sets(vgg, [q1, q2], train, k=2, margin=3, block=9)
    for q, got in zip((q1, q2), both):
        alone = exact_nearest(vgg, q, train, k=2, margin=3, block=9)
        assert np.array_equal(got.indices, alone.indices) and np.array_equal(got.distances, alone.distances)
        assert np.array_equal(got.certified, alone.certified) and got.max_rounding == alone.max_rounding
    with pytest.raises(InputError, match="no query set"):
        exact_nearest_sets(vgg, [], train)
    # the claim's pair of evidences equals the two evidences computed apart
    ev, ref = overstated_originality_pair(vgg, q1, q2, train, k=3, threshold=0.05, seed=0)
    for images, got in ((q1, ev), (q2, ref)):
        alone = overstated_originality_evidence(vgg, images, train, k=3, threshold=0.05, seed=0)
        assert np.array_equal(got["rel_gap"], alone["rel_gap"]) and got["verdict"] == alone["verdict"]
    with pytest.raises(InputError, match="results for"):
        overstated_originality_evidence(vgg, q1, train, k=3, threshold=0.05, nearest=both[1])


def test_exact_nearest_refuses_bad_k(vgg):
    with pytest.raises(InputError, match="k must be"):
        exact_nearest(vgg, _images(0, 1), _images(1, 3), k=4)


def test_lpips_matrix_matches_pairwise_calls(vgg):
    a, b = _images(5, 2), _images(6, 4)
    m = lpips_matrix(vgg, a, b)
    direct = np.stack([vgg(a[i:i + 1], b).numpy() for i in range(2)])
    np.testing.assert_allclose(m, direct, rtol=1e-4, atol=1e-7)


def test_rerank_statistics_agree_with_their_definitions(vgg):
    train = _images(10, 40)
    samples = (train[:6] + 0.4 * _images(11, 6)).clamp(0, 1)
    r = rerank(vgg, samples, train, k=8)
    idx, scores = correlation_topk(samples, train, k=8)
    assert np.array_equal(r.corr_indices, idx) and np.all(np.diff(scores, axis=1) <= 0)
    for s in range(6):
        d = vgg(samples[s], train[torch.as_tensor(idx[s])]).double().numpy()
        np.testing.assert_allclose(r.lpips[s], d, rtol=1e-6)
        assert r.top1_changed[s] == (np.argmin(d) != 0)
        assert r.lpips_gain[s] == pytest.approx(d[0] - d.min())
        assert r.kendall_tau[s] == pytest.approx(st.kendalltau(scores[s], -d).statistic)
        assert r.lpips_order[s, 0] == idx[s, np.argmin(d)]
    assert (r.lpips_gain >= 0).all()


def test_recall_at_k():
    cand = np.array([[3, 1, 2], [0, 4, 5]])
    assert recall_at_k(cand, np.array([2, 9])).tolist() == [True, False]
    with pytest.raises(InputError, match="samples"):
        recall_at_k(cand, np.array([1]))


def test_random_backbone_gives_inconclusive_verdict(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MEMGEN_LPIPS_WEIGHTS", raising=False)
    metric = LPIPS("alex", allow_random=True)
    train = _images(20, 30, size=64)
    out = rank_inversion_evidence(metric, train[:5], train, k=5, threshold=0.1, n_boot=200)
    assert out["verdict"] == INCONCLUSIVE and "not genuine" in out["reason"]


def test_side_by_side_figure_has_both_orders(vgg):
    train = _images(30, 20)
    r = rerank(vgg, train[:2], train, k=4)
    fig = side_by_side_figure(train[:2], train, r, rows=2)
    assert len(fig.axes) == 2 * 2 * 5
    titles = [ax.get_title() for ax in fig.axes]
    assert any("LPIPS order" in t for t in titles) and any("d=" in t for t in titles)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_model_samples_feed_the_claims(vgg):
    from types import SimpleNamespace

    from studies.metrics.rerank import model_samples, overstated_originality_evidence
    from studies.sample import EmpiricalDenoiser

    images = _images(40, 12)
    model = SimpleNamespace(net=EmpiricalDenoiser(images[:8]), dataset=SimpleNamespace(images=images), train_indices=list(range(8)))
    cfg = SimpleNamespace(h0=0.05, beta=0.5, sigma_0=1.0, sigma_L=0.05, max_T=200)
    samples, train, notes = model_samples(model, cfg, seeds=range(3))
    assert samples.shape == (3, 1, 16, 16) and train.shape == (8, 1, 16, 16)
    assert 0 <= float(samples.min()) and float(samples.max()) <= 1 and 0 <= notes["clipped_fraction"] <= 1
    ev = overstated_originality_evidence(vgg, samples, train, k=3, threshold=0.05, n_boot=200)
    assert ev["nearest"].indices.shape == (3, 1) and ev["certified"] == 1.0
    assert (ev["lpips_nn"] <= ev["lpips_corr_top1"] + 1e-6).all()
