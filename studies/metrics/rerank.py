"""Correlation top-k re-ranked by LPIPS, with statistics over samples (T25 §5.4 made measurable).

T25 takes each sample's top-10 training images by pixel correlation, annotates them with LPIPS and
shows two examples. Here, per sample: whether LPIPS picks a different top-1 (``top1_changed``), the
Kendall tau between the correlation order and the LPIPS order of the k candidates, and the LPIPS
gain of the new top-1 over correlation's top-1; bootstrap CIs over samples. Against the exact LPIPS
nearest neighbour over the whole training set (``lpips_nn.exact_nearest``): recall@k of the
correlation pre-selection and the LPIPS gap between correlation's top-1 and the true perceptual
nearest neighbour (how far correlation overstates originality)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from scipy import stats as st

from ..claims.rules import ci_vs_threshold
from ..claims.verdict import INCONCLUSIVE
from ..errors import InputError
from ..stats import bootstrap_ci
from .lpips_nn import NearestResult, exact_nearest, exact_nearest_sets
from .intensity import intensity_stats, match_intensity
from .perceptual import LPIPS
from .neighbours import topk
from .similarity import CORRELATION



@dataclass(frozen=True)
class Rerank:
    corr_indices: np.ndarray   # (S, k) training indices, highest correlation first
    corr_scores: np.ndarray    # (S, k) their correlations
    lpips: np.ndarray          # (S, k) LPIPS of the same candidates, same order
    lpips_order: np.ndarray    # (S, k) training indices, smallest LPIPS first
    top1_changed: np.ndarray   # (S,) bool
    kendall_tau: np.ndarray    # (S,) tau between correlation order and LPIPS order (1 = same order)
    lpips_gain: np.ndarray     # (S,) LPIPS(correlation top-1) - LPIPS(LPIPS top-1) >= 0


def correlation_topk(samples, train, *, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores), each (S, k), highest mean-removed correlation first (T25's pre-selection)."""
    found = topk(samples, train, k=k, metric=CORRELATION)
    return found.indices, found.scores


def _as_tensor(x):
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x, copy=True))
    return t.unsqueeze(0) if t.ndim == 3 else t


def rerank(metric: LPIPS, samples, train, *, k: int = 10) -> Rerank:
    """Correlation's top-k of each sample, re-ordered by LPIPS, with per-sample change statistics."""
    samples_t, train_t = _as_tensor(samples), _as_tensor(train)
    idx, scores = correlation_topk(samples_t, train_t, k=k)
    cand = train_t[torch.as_tensor(idx.reshape(-1))]
    d = metric(samples_t.repeat_interleave(k, dim=0), cand).double().numpy().reshape(idx.shape)
    order = np.argsort(d, axis=1, kind="stable")
    tau = np.array([st.kendalltau(scores[s], -d[s]).statistic if k > 1 else 1.0 for s in range(len(idx))])
    return Rerank(
        corr_indices=idx, corr_scores=scores, lpips=d,
        lpips_order=np.take_along_axis(idx, order, axis=1),
        top1_changed=order[:, 0] != 0,
        kendall_tau=tau,
        lpips_gain=d[:, 0] - d.min(axis=1),
    )


def recall_at_k(corr_indices: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Per sample: is the exact LPIPS nearest neighbour among correlation's top-k?"""
    nearest = np.asarray(nearest).reshape(-1)
    if len(nearest) != len(corr_indices):
        raise InputError(f"{len(corr_indices)} samples of correlation candidates but {len(nearest)} nearest neighbours")
    return (np.asarray(corr_indices) == nearest[:, None]).any(axis=1)


def _ci(x, *, n_boot: int, seed: int):
    x = np.asarray(x, dtype=float)
    return bootstrap_ci(x, np.mean, n_boot=n_boot, seed=seed)


def rank_inversion_evidence(metric: LPIPS, samples, train, *, k: int = 10, threshold: float,
                            n_boot: int = 2000, seed: int = 0) -> dict:
    """Claim lpips-rank-inversion: LPIPS re-ranking changes the nearest neighbour among correlation's
    top-k. SUPPORTED when the CI of the top-1 change rate lies above ``threshold``, REFUTED when it
    lies below, INCONCLUSIVE otherwise or without genuine backbone weights."""
    r = rerank(metric, samples, train, k=k)
    change = _ci(r.top1_changed, n_boot=n_boot, seed=seed)
    tau = _ci(r.kendall_tau, n_boot=n_boot, seed=seed)
    gain = _ci(r.lpips_gain, n_boot=n_boot, seed=seed)
    out = {"rerank": r, "change_rate": change, "kendall_tau": tau, "lpips_gain": gain, "n": len(r.top1_changed)}
    if not metric.genuine:
        out.update(verdict=INCONCLUSIVE.value, reason="LPIPS backbone weights are not genuine (random backbone): " + metric.status["source"])
    else:
        d = ci_vs_threshold(f"top-1 change rate {change.estimate:.2f},", tuple(change), threshold,
                            what="LPIPS re-ranking changes the nearest neighbour", unit_note="over the samples of one trained model")
        out.update(verdict=d.verdict.value, reason=d.reason, rule=d.rule)
    return out


def overstated_originality_evidence(metric: LPIPS, samples, train, *, k: int = 10, threshold: float,
                                    n_boot: int = 2000, seed: int = 0, block: int = 128,
                                    nearest: Optional[NearestResult] = None) -> dict:
    """Claim correlation-overstates-originality: the exact perceptual nearest neighbour is closer
    than correlation's top-1 suggests. Statistic: relative LPIPS gap 1 - LPIPS(exact NN) /
    LPIPS(correlation top-1) per sample. SUPPORTED when its CI lies above ``threshold``, REFUTED below.
    ``nearest``: the exact search of these samples done already (``exact_nearest_sets`` searches
    several image sets in one pass over ``train``)."""
    samples_t, train_t = _as_tensor(samples), _as_tensor(train)
    idx, _ = correlation_topk(samples_t, train_t, k=k)
    nn: NearestResult = nearest if nearest is not None else exact_nearest(metric, samples_t, train_t, k=1, block=block)
    if len(nn.indices) != len(samples_t):
        raise InputError(f"overstated_originality_evidence: the given search has {len(nn.indices)} results for {len(samples_t)} samples")
    d_corr = metric(samples_t, train_t[torch.as_tensor(idx[:, 0])]).double().numpy()
    d_nn = nn.distances[:, 0]
    rel_gap = np.where(d_corr > 0, 1.0 - d_nn / np.where(d_corr > 0, d_corr, 1.0), 0.0)
    hit = recall_at_k(idx, nn.indices[:, 0])
    gap = _ci(rel_gap, n_boot=n_boot, seed=seed)
    recall = _ci(hit, n_boot=n_boot, seed=seed)
    out = {"nearest": nn, "corr_indices": idx, "lpips_corr_top1": d_corr, "lpips_nn": d_nn, "relative_gap": gap, "rel_gap": rel_gap,
           "recall_at_k": recall, "hits": hit, "certified": float(nn.certified.mean()), "n": len(d_nn)}
    if not metric.genuine:
        out.update(verdict=INCONCLUSIVE.value, reason="LPIPS backbone weights are not genuine (random backbone): " + metric.status["source"])
    elif not nn.certified.all():
        out.update(verdict=INCONCLUSIVE.value, reason=f"exact search not certified for {int((~nn.certified).sum())} samples (rounding {nn.max_rounding:.2e})")
    else:
        d = ci_vs_threshold(f"relative LPIPS gap {gap.estimate:.3f},", tuple(gap), threshold,
                            what="the perceptual nearest neighbour is closer than correlation's top-1", unit_note="over the samples of one trained model")
        out.update(verdict=d.verdict.value, reason=f"{d.reason}; recall@{k} {recall.estimate:.2f}", rule=d.rule)
    return out


def overstated_originality_pair(metric: LPIPS, samples, control, train, *, block: int = 128, **kw) -> tuple[dict, dict]:
    """``overstated_originality_evidence`` of the samples and of the control images, their exact
    searches done in one pass over ``train`` (half the backbone work of two separate searches;
    each result bit-identical to its own search)."""
    samples_t, control_t, train_t = _as_tensor(samples), _as_tensor(control), _as_tensor(train)
    nn_s, nn_c = exact_nearest_sets(metric, [samples_t, control_t], train_t, k=1, block=block)
    return (overstated_originality_evidence(metric, samples_t, train_t, block=block, nearest=nn_s, **kw),
            overstated_originality_evidence(metric, control_t, train_t, block=block, nearest=nn_c, **kw))


def side_by_side_figure(samples, train, r: Rerank, *, rows: int = 4):
    """Report figure: per sample, correlation top-k and LPIPS top-k with their scores."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    samples_t, train_t = _as_tensor(samples), _as_tensor(train)
    rows = min(rows, len(r.corr_indices))
    k = r.corr_indices.shape[1]
    fig, axes = plt.subplots(2 * rows, k + 1, figsize=(1.2 * (k + 1), 2.6 * rows), squeeze=False)
    lp = {(s, int(i)): r.lpips[s, j] for s in range(rows) for j, i in enumerate(r.corr_indices[s])}
    cr = {(s, int(i)): r.corr_scores[s, j] for s in range(rows) for j, i in enumerate(r.corr_indices[s])}

    def show(ax, img, title):
        a = img.detach().cpu().numpy()
        ax.imshow(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=6)
        ax.axis("off")

    for s in range(rows):
        for line, order, label in ((2 * s, r.corr_indices[s], "corr"), (2 * s + 1, r.lpips_order[s], "LPIPS")):
            show(axes[line, 0], samples_t[s], f"sample {s}\n{label} order")
            for j, i in enumerate(order):
                show(axes[line, j + 1], train_t[int(i)], f"#{int(i)}\nr={cr[(s, int(i))]:.2f} d={lp[(s, int(i))]:.3f}")
    fig.tight_layout()
    return fig


def _to_data_intensity(raw: torch.Tensor, train: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Samples mapped to the training images' intensity (``studies.metrics.intensity``: LPIPS is not
    blind to the brightness drift of bias-free samples, correlation is), then clipped to [0, 1]."""
    matched = match_intensity(raw, train)
    clipped = matched.clamp(0, 1)
    raw_mean, raw_sd = intensity_stats(raw)
    data_mean, data_sd = intensity_stats(train)
    return clipped, {"clipped_fraction": float((matched != clipped).float().mean()), "raw_mean": raw_mean, "raw_sd": raw_sd,
                     "data_mean": data_mean, "data_sd": data_sd}


def evaluation_samples(ev, model) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(model A's samples of a cached pair evaluation (``studies.evaluation``) at the training
    images' intensity and clipped to [0, 1], A's training images, notes): the perceptual claims
    judge the very samples the core claims judge."""
    train = model.train_images
    samples, notes = _to_data_intensity(torch.as_tensor(ev.samples_a), train)
    notes.update(statuses=ev.status_counts()["A"], start=ev.summary.get("start"))
    return samples, train, notes


def model_samples(model, sample_cfg, *, seeds) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(samples clipped to [0, 1], the model's own training images, notes) for a trained model of
    the zoo (``.net`` predicting the noise residual, ``.dataset.images``, ``.train_indices``).
    The sampler's output can overshoot [0, 1]; LPIPS refuses that, so it is clipped here, explicitly."""
    from ..sample import sample, sampler_options

    train = model.dataset.images[torch.as_tensor(np.asarray(model.train_indices))]
    with torch.no_grad():
        result = sample(model.net, list(seeds), shape=tuple(train.shape[1:]), mean=train.mean(0),
                        **sampler_options(sample_cfg))
    samples, notes = _to_data_intensity(result.images, train)
    notes["statuses"] = result.counts()
    return samples, train, notes
