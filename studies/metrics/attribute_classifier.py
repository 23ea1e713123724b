"""A simple attribute classifier (claim ``attribute-respected``, T25 §5.2).

T25 judged by eye that the "glasses" model draws glasses. Here an L2-regularised logistic
regression on the pixels, trained on the dataset's own labelled images, decides it for every
sample. It is deliberately simple: its held-out accuracy is measured and reported beside the
verdict, so a weak classifier shows up as a weak classifier, not as a refuted claim.

It sees every image standardised (``studies.metrics.intensity.standardise``): the samples of a
bias-free denoiser have an arbitrary overall brightness and contrast, and a classifier on raw
pixels would read that drift as an attribute (on the smoke zoo it called 84% of the samples of the
Male model "not male" while their brightness had drifted to a quarter of the data's)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .intensity import standardise


@dataclass(frozen=True)
class AttributeClassifier:
    name: str
    weight: torch.Tensor  # (D,)
    bias: float
    mean: torch.Tensor  # (D,) pixel standardisation
    scale: torch.Tensor
    heldout_accuracy: float  # balanced accuracy on held-out images
    n_train: int
    n_heldout: int

    def prob(self, images) -> np.ndarray:
        """P(attribute = 1) per image."""
        x = standardise(np.asarray(images, dtype=np.float32)).reshape(len(images), -1)
        if x.shape[1] != self.weight.shape[0]:
            raise InputError(f"attribute classifier {self.name}: images have {x.shape[1]} pixels, classifier expects {self.weight.shape[0]}")
        z = ((x - self.mean) / self.scale) @ self.weight + self.bias
        return torch.sigmoid(z).numpy().astype(np.float64)

    def predict(self, images) -> np.ndarray:
        """Predicted value in {-1, 1} per image (CelebA's coding)."""
        return np.where(self.prob(images) >= 0.5, 1, -1)


def _balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    accs = [float(np.mean(pred[y == v] == v)) for v in (-1, 1) if np.any(y == v)]
    return float(np.mean(accs))


def fit_attribute_classifier(images, labels, *, name: str, seed: int = 0, heldout: float = 0.2,
                             l2: float = 1e-2, max_iter: int = 200) -> AttributeClassifier:
    """Fit on a seeded (1 - heldout) share of ``images`` (N, C, H, W) with ``labels`` in {-1, 1};
    classes are weighted to balance them (attributes such as Eyeglasses are rare)."""
    x = standardise(np.asarray(images, dtype=np.float32)).reshape(len(images), -1)
    y = np.asarray(labels)
    if len(x) != len(y):
        raise InputError(f"attribute classifier {name}: {len(x)} images but {len(y)} labels")
    if not set(np.unique(y).tolist()) <= {-1, 1}:
        raise InputError(f"attribute classifier {name}: labels must be -1 or 1, got {sorted(set(np.unique(y).tolist()))}")
    if min(np.sum(y == 1), np.sum(y == -1)) < 5:
        raise InputError(f"attribute classifier {name}: needs at least 5 images of each value, got {int(np.sum(y == 1))} / {int(np.sum(y == -1))}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_hold = max(2, int(round(heldout * len(y))))
    hold, fit = perm[:n_hold], perm[n_hold:]
    xf = x[torch.from_numpy(fit)]
    mean = xf.mean(0)
    scale = xf.std(0).clamp_min(1e-3)
    xs = (xf - mean) / scale
    t = torch.from_numpy((y[fit] > 0).astype(np.float32))
    pos = float(t.mean())
    w_sample = torch.where(t > 0, 0.5 / pos, 0.5 / (1 - pos))
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(xs.shape[1], generator=g) * 1e-3).requires_grad_(True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = xs @ w + b
        loss = (w_sample * torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")).mean() + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    clf = AttributeClassifier(name=name, weight=w.detach(), bias=float(b.detach()), mean=mean, scale=scale,
                              heldout_accuracy=0.0, n_train=len(fit), n_heldout=len(hold))
    acc = _balanced_accuracy(clf.predict(x[torch.from_numpy(hold)].numpy()), y[hold])
    return AttributeClassifier(**{**clf.__dict__, "heldout_accuracy": acc})
