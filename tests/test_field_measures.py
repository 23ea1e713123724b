"""studies.field on samples whose answer is known: copies of training images are memorised (F_mem 1
in raw space; in standardised space also when their brightness drifted), unrelated noise is not."""

import numpy as np
import pytest
import torch

from studies.errors import InputError
from studies.field import RAW, STANDARDISED, fmem, model_measures, pair_fmem, pair_fmem_from_ratios, share_ci


@pytest.fixture
def train():
    g = torch.Generator().manual_seed(0)
    return torch.rand(50, 1, 8, 8, generator=g)


def test_copies_are_memorised_and_noise_is_not(train):
    copies = train[:20] + 0.001 * torch.randn(20, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert fmem(copies, train).value == 1.0
    assert fmem(copies, train).ci == (1.0, 1.0)
    noise = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    est = fmem(noise, train)
    assert est.value == 0.0 and est.n == 40 and est.n_boot == 1000


def test_brightness_drift_hides_copies_from_raw_l2_but_not_from_standardised(train):
    drifted = 0.3 * train[:20] - 0.2  # a copy up to brightness and contrast: what K24's sampler can give
    assert fmem(drifted, train, space=RAW).value < 0.5
    assert fmem(drifted, train, space=STANDARDISED).value == 1.0


def test_pair_fraction_pools_both_models(train):
    a, b = train[:25], train[25:]
    est = pair_fmem(a[:10], a, torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(3)), b)
    assert est.value == pytest.approx(0.5) and est.n == 20
    assert 0.2 < est.ci[0] < 0.5 < est.ci[1] < 0.8
    assert pair_fmem_from_ratios([0.1, 0.2], [0.9, 0.5]).value == pytest.approx(0.5)
    with pytest.raises(InputError):
        pair_fmem_from_ratios([np.nan], [0.1])


def test_model_row_and_reproducibility(train):
    m = model_measures(train[:10], train, nearest_corr=np.ones(10), ab=[0.95] * 8 + [0.1] * 2, reproducible_corr=0.9)
    assert m.fmem_raw.value == 1.0 and m.fmem_standardised.value == 1.0
    assert m.reproducibility.value == pytest.approx(0.8)
    assert m.lpips_nearest is None
    assert share_ci([0.95, 0.1], above=0.9).value == 0.5
    with pytest.raises(InputError):
        share_ci([], above=0.9)


def test_judge_fraction_falls_on_known_answer_sources(train):
    """The hook the known-answer controls use: copies at every N (a memorising denoiser) are
    REFUTED as 'persists', noise at every N (a Gaussian) as 'no memorisation at the smallest size',
    copies at small N and noise at large N SUPPORTED."""
    from studies.claims.verdict import REFUTED, SUPPORTED
    from studies.field import judge_fraction_falls

    g = torch.Generator().manual_seed(5)
    copies = [fmem(train[:40] + 0.001 * torch.randn(40, 1, 8, 8, generator=g), train) for _ in range(3)]
    noise = [fmem(torch.rand(40, 1, 8, 8, generator=g), train) for _ in range(3)]
    kw = {"memorising": 0.8, "generalising": 0.1}
    assert judge_fraction_falls([(10, copies[:1]), (1000, copies)], **kw)[0].verdict == REFUTED
    d, _ = judge_fraction_falls([(10, noise[:1]), (1000, noise)], **kw)
    assert d.verdict == REFUTED and "smallest" in d.reason
    assert judge_fraction_falls([(10, copies[:1]), (1000, noise)], **kw)[0].verdict == SUPPORTED
    m = model_measures(train[:10], train)  # nearest correlation measured here
    assert m.nearest_corr[0] == pytest.approx(1.0)
