"""Region-restricted originality comparison (studies.metrics.regions) on images whose answer is known."""

import numpy as np
import pytest
import torch

from studies.errors import InputError
from studies.metrics.regions import central_ellipse, compare_region


def test_central_ellipse_is_centred_and_scales():
    m = central_ellipse(16)
    assert m.shape == (16, 16) and m[7, 8] and not m[0, 0] and not m[15, 15]
    assert 0.25 < m.mean() < 0.4  # pi * 0.28 * 0.375 = 0.33 of the image
    assert abs(central_ellipse(80).mean() - np.pi * 0.28 * 0.375) < 0.01
    with pytest.raises(InputError, match="side"):
        central_ellipse(2)


def test_region_separates_a_shared_face_from_a_copied_background():
    """A and B share the face and differ outside it; each sample's background is copied from a
    training image whose face differs: the face region shows A/B agreement above nearest-training
    closeness, the background the reverse."""
    g = torch.Generator().manual_seed(0)
    mask = torch.as_tensor(central_ellipse(16))
    s, n = 8, 50
    face = torch.rand(s, 1, 16, 16, generator=g)
    train_a, train_b = torch.rand(n, 1, 16, 16, generator=g), torch.rand(n, 1, 16, 16, generator=g)
    sa = torch.where(mask, face, train_a[:s])
    sb = torch.where(mask, face, train_b[:s])
    c_face = compare_region(sa, sb, train_a, train_b, torch.rand(5, 1, 16, 16, generator=g), mask.numpy())
    c_back = compare_region(sa, sb, train_a, train_b, torch.rand(5, 1, 16, 16, generator=g), ~mask.numpy())
    assert np.allclose(c_face.ab, 1.0) and (c_face.nearest < 0.5).all()
    assert np.allclose(c_back.nearest, 1.0) and (c_back.ab < 0.5).all()
    assert c_face.reference.shape == (5,) and (c_face.reference < 0.5).all()


def test_region_refuses_mismatched_shapes():
    x = torch.rand(4, 1, 16, 16)
    with pytest.raises(InputError, match="expected"):
        compare_region(x, x, x, x, x, central_ellipse(8))
    with pytest.raises(InputError, match="samples"):
        compare_region(x, x[:3], x, x, x, central_ellipse(16))
