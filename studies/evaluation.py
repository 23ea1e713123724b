"""Evaluation of one A/B model pair: what every core claim reads (SPEC §6, §7), through the
``evaluation`` fixture (fixtures/evaluation.py). The sampler it runs is ``studies.sample``.

For a protocol and a training-set size N, the pair of denoisers trained on groups A and B is
measured once and the result cached: PSNR curves of each model on its own training images and on
its held-out images (the other group's images, or the data's own held-out set: Fashion-MNIST's test
images), and the same-noise samples of both models from the same seeds with the
similarities the claims compare (same-seed A/B correlation, its different-seed null, and each
sample's nearest image of its model's own training set). Claims then only read numbers, so a
claim run twice, or five claims on one pair, cost one evaluation.

The cache entry is keyed by the two models' zoo addresses, the sampling config, the PSNR settings
and ``EVAL_VERSION``; its arrays are checked by SHA-256 on load (a corrupt entry is recomputed)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .cache import atomic_dir, cache_root, sha256_file, verify_checksums, verify_files, write_checksums
from .config import Profile, config_hash, to_dict
from .errors import ArtifactError, InputError
from .metrics.criteria import nearest_distance_ratio
from .metrics.neighbours import topk
from .metrics.psnr import curves_to_gap, train_test_curves
from .metrics.similarity import ab_similarity, cross_seed_similarity
from .sample import same_noise_pair, sampler_options

# bump when what an evaluation computes changes: it is part of every cache key
# 2: held-out reference (ref_a, ref_b); models sampled in channels_last (rounding differs from 1)
EVAL_VERSION = 2
ARRAYS_FILE = "arrays.npz"
SUMMARY_FILE = "evaluation.json"


@dataclass
class PairEvaluation:
    """Measured numbers of one A/B pair at one N (arrays are per seed unless said otherwise)."""

    protocol: str
    n: int
    n_requested: int
    summary: dict  # JSON: configs, model addresses, PSNR curves and gaps, sampler statuses
    samples_a: np.ndarray  # (S, C, H, W) final denoised samples of A
    samples_b: np.ndarray
    ab: np.ndarray  # (S,) correlation of A's and B's sample of the same seed
    null: np.ndarray  # (S·(S-1),) correlation of A's and B's samples of different seeds
    nn_a: np.ndarray  # (S,) correlation of A's sample with its nearest image of A's training set
    nn_b: np.ndarray
    nn_index_a: np.ndarray  # (S, k) indices (into A's training images) of the top-k by correlation
    nn_index_b: np.ndarray
    ratio_a: np.ndarray  # (S,) nearest / second-nearest L2 distance (Gu et al.)
    ratio_b: np.ndarray
    test_psnr_a: np.ndarray  # (images,) per held-out image, averaged over sigma: for equivalence tests
    test_psnr_b: np.ndarray
    train_psnr_a: np.ndarray
    train_psnr_b: np.ndarray
    # (S,) nearest-training correlation of S images the model never saw (its held-out set, a seeded
    # choice): what an image that is not a copy scores against this training set. On homogeneous
    # data (faces alike, small images) it is high, and a sample's nearest-training correlation means
    # "copy" only where it exceeds this reference.
    ref_a: np.ndarray
    ref_b: np.ndarray
    path: Optional[Path] = field(default=None, repr=False)

    @property
    def seeds(self) -> list[int]:
        return list(self.summary["seeds"])

    def gap(self, group: str = "A") -> dict:
        """PSNR gap record of one model: ``mean_gap``, ``mean_gap_ci``, per-sigma ``gap``..."""
        return self.summary["psnr"][group]["gap"]

    def mean_gap(self) -> float:
        """Train-minus-test PSNR averaged over sigma and over the two models (K24 Fig. 15)."""
        return float(np.mean([self.gap(g)["mean_gap"] for g in ("A", "B")]))

    def status_counts(self) -> dict:
        return {g: self.summary["sampling"][g]["counts"] for g in ("A", "B")}


_ARRAY_FIELDS = (
    "samples_a", "samples_b", "ab", "null", "nn_a", "nn_b", "nn_index_a", "nn_index_b",
    "ratio_a", "ratio_b", "test_psnr_a", "test_psnr_b", "train_psnr_a", "train_psnr_b", "ref_a", "ref_b",
)


def evaluation_key(model_a: Any, model_b: Any, profile: Profile, *, k: int) -> str:
    what = {
        "models": [model_a.key, model_b.key],
        "sample": profile.sample,
        "psnr": {"images": profile.psnr_images, "draws": profile.psnr_noise_draws},
        "k": k,
        "version": EVAL_VERSION,
    }
    # a data set's own held-out images (Fashion-MNIST's test images) are part of what is measured;
    # the other group's images need no entry: the model addresses already decide them
    held = [getattr(getattr(m, "dataset", None), "manifest", {}).get("heldout") for m in (model_a, model_b)]
    if any(h is not None for h in held):
        what["heldout"] = [None if h is None else h.get("sha256") for h in held]
    return config_hash(what, length=24)


def common_start(dataset_images: torch.Tensor) -> torch.Tensor:
    """The common start m of the same-noise protocol: the mean image of the whole dataset, so A
    and B begin at the same point (SPEC §6; T25 used each group's own mean instead)."""
    return dataset_images.mean(dim=0)


def evaluate_pair(model_a: Any, model_b: Any, profile: Profile, *, k: int = 10, root: Optional[Path] = None,
                  recompute: bool = False) -> PairEvaluation:
    """Measure the pair (A, B) of one protocol and N, or load the cached measurement."""
    if model_a.protocol != model_b.protocol or model_a.n != model_b.n:
        raise InputError(f"evaluate_pair needs A and B of one protocol and N, got {model_a.protocol}/N{model_a.n} and {model_b.protocol}/N{model_b.n}")
    if model_a.config.get("model_config") != model_b.config.get("model_config"):
        raise InputError("evaluate_pair: A and B have different model configs")
    key = evaluation_key(model_a, model_b, profile, k=k)
    folder = Path(root) if root is not None else cache_root() / "evaluations"
    folder = folder / key
    if not recompute and (folder / SUMMARY_FILE).is_file():
        try:
            return load_evaluation(folder)
        except ArtifactError as exc:  # a corrupt entry is recomputed, never used, and the reason said
            logging.getLogger("memgen.evaluation").warning("evaluation %s failed verification (%s); recomputing", folder, exc)
    ev = _compute(model_a, model_b, profile, k=k)
    with atomic_dir(folder) as tmp:
        np.savez(tmp / ARRAYS_FILE, **{name: getattr(ev, name) for name in _ARRAY_FIELDS})
        summary = dict(ev.summary, key=key, files={ARRAYS_FILE: sha256_file(tmp / ARRAYS_FILE)})
        (tmp / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, sort_keys=True), encoding="utf-8")
        write_checksums(tmp)  # the summary (the measured numbers) is hashed too, not only the arrays
    return load_evaluation(folder)


def load_evaluation(folder: Path) -> PairEvaluation:
    folder = Path(folder)
    verify_checksums(folder)
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"evaluation {folder}: unreadable {SUMMARY_FILE}: {exc}") from exc
    if not isinstance(summary, dict):
        raise ArtifactError(f"evaluation {folder}: {SUMMARY_FILE} is not a JSON object")
    verify_files(folder, summary.get("files", {}))
    with np.load(folder / ARRAYS_FILE) as z:
        arrays = {name: z[name] for name in _ARRAY_FIELDS}
    return PairEvaluation(protocol=summary["protocol"], n=summary["n"], n_requested=summary["n_requested"],
                          summary=summary, path=folder, **arrays)


def _psnr(model: Any, profile: Profile) -> tuple[dict, np.ndarray, np.ndarray]:
    train, test = train_test_curves(model.net, model.train_images, model.test_images,
                                    n_images=profile.psnr_images, n_draws=profile.psnr_noise_draws, seed=0)
    gap = curves_to_gap(train, test, n_boot=1000, seed=0)
    record = {"train": train.to_dict(), "test": test.to_dict(), "gap": gap.to_dict()}
    for side in ("train", "test"):
        record[side].pop("per_image", None)  # kept as arrays beside the summary
    return record, train.per_image.mean(axis=1), test.per_image.mean(axis=1)


def _nearest(samples: torch.Tensor, train: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kk = min(k, train.shape[0])
    top = topk(samples, train, k=kk, metric="correlation")
    if train.shape[0] >= 2:
        ratio = nearest_distance_ratio(samples, train)
    else:
        ratio = np.full(samples.shape[0], np.nan)
    return np.asarray(top.scores[:, 0], dtype=np.float64), np.asarray(top.indices), np.asarray(ratio, dtype=np.float64)


def heldout_images(model: Any, count: int, *, seed: int = 0) -> torch.Tensor:
    """``count`` images of ``model``'s held-out set, chosen with a seeded generator (all of them
    when it holds fewer): the images of ``heldout_reference``."""
    held = model.test_images
    return held[torch.randperm(held.shape[0], generator=torch.Generator().manual_seed(seed))[: min(count, held.shape[0])]]


def heldout_reference(model: Any, count: int, *, seed: int = 0) -> np.ndarray:
    """Nearest-training correlation (over ``model``'s own training set) of ``count`` images of its
    held-out set (``heldout_images``): the novelty reference of the copy measures."""
    top = topk(heldout_images(model, count, seed=seed), model.train_images, k=1, metric="correlation")
    return np.asarray(top.scores[:, 0], dtype=np.float64)


@dataclass(frozen=True)
class HeldoutPair:
    """The negative control of the claims about a pair's samples: held-out images of model A and of
    model B (never trained on by that model) in the place of their samples of one seed each, measured
    like a ``PairEvaluation``: ``ab`` the correlation of the two images of a "seed", ``null`` of other
    seeds' images, ``nn_a``/``nn_b`` against each model's own training set, ``ref_a``/``ref_b`` the
    pair's held-out reference (the very images of ``heldout_reference``)."""

    protocol: str
    n: int
    samples_a: np.ndarray
    samples_b: np.ndarray
    ab: np.ndarray
    null: np.ndarray
    nn_a: np.ndarray
    nn_b: np.ndarray
    ref_a: np.ndarray
    ref_b: np.ndarray


def heldout_pair(model_a: Any, model_b: Any, count: int, *, draw: int = 0) -> HeldoutPair:
    """``count`` held-out images per model in the samples' place, disjoint from the ``count`` images
    of the pair's held-out reference: draw d takes the images (d + 1) * count .. (d + 2) * count of
    the reference's seeded order (so draws are disjoint from each other too)."""
    if count < 2 or draw < 0:
        raise InputError(f"heldout_pair: need count >= 2 and draw >= 0, got count={count}, draw={draw}")
    out = {}
    for g, model in (("a", model_a), ("b", model_b)):
        held = heldout_images(model, (draw + 2) * count)  # the seeded order: its first ``count`` are the reference
        if held.shape[0] < (draw + 2) * count:
            raise InputError(f"heldout_pair: model {model.key} has {held.shape[0]} held-out images, draw {draw} of {count} needs {(draw + 2) * count}")
        images = held[(draw + 1) * count:(draw + 2) * count]
        out[f"samples_{g}"] = images
        out[f"nn_{g}"] = np.asarray(topk(images, model.train_images, k=1, metric="correlation").scores[:, 0], dtype=np.float64)
        out[f"ref_{g}"] = heldout_reference(model, count)
    sa, sb = out["samples_a"], out["samples_b"]
    return HeldoutPair(protocol=model_a.protocol, n=int(model_a.n), samples_a=sa.numpy(), samples_b=sb.numpy(),
                       ab=np.asarray(ab_similarity(sa, sb), dtype=np.float64), null=np.asarray(cross_seed_similarity(sa, sb), dtype=np.float64),
                       nn_a=out["nn_a"], nn_b=out["nn_b"], ref_a=out["ref_a"], ref_b=out["ref_b"])


def _compute(model_a: Any, model_b: Any, profile: Profile, *, k: int) -> PairEvaluation:
    cfg = profile.sample
    seeds = list(range(cfg.seed0, cfg.seed0 + cfg.n_seeds))
    images = model_a.dataset.images
    shape = tuple(images.shape[1:])
    opts = sampler_options(cfg)
    with torch.no_grad():
        if cfg.start == "common":
            pair = same_noise_pair(model_a.net, model_b.net, seeds, shape=shape, start="common",
                                   mean=common_start(images), **opts)
        else:
            pair = same_noise_pair(model_a.net, model_b.net, seeds, shape=shape, start="own",
                                   mean_a=model_a.train_images.mean(0), mean_b=model_b.train_images.mean(0), **opts)
    sa, sb = pair.a.images, pair.b.images
    nn_a, idx_a, ratio_a = _nearest(sa, model_a.train_images, k)
    nn_b, idx_b, ratio_b = _nearest(sb, model_b.train_images, k)
    psnr_a, train_a, test_a = _psnr(model_a, profile)
    psnr_b, train_b, test_b = _psnr(model_b, profile)
    summary = {
        "protocol": model_a.protocol,
        "n": int(model_a.n),
        "n_requested": int(getattr(model_a.split, "n_requested", model_a.n) or model_a.n),
        "profile": profile.label,
        "models": {"A": model_a.key, "B": model_b.key},
        "model_configs": {"A": model_a.config, "B": model_b.config},
        "sample_config": to_dict(cfg),
        "seeds": seeds,
        "start": pair.start,
        "start_detail": pair.start_detail,
        "noise_validated": bool(pair.validated),
        "sampling": {
            g: {"counts": r.counts(), "status": list(r.status), "steps": [int(s) for s in r.steps]}
            for g, r in (("A", pair.a), ("B", pair.b))
        },
        "psnr": {"A": psnr_a, "B": psnr_b},
        "eval_version": EVAL_VERSION,
    }
    return PairEvaluation(
        protocol=model_a.protocol, n=int(model_a.n), n_requested=summary["n_requested"], summary=summary,
        samples_a=sa.numpy(), samples_b=sb.numpy(),
        ab=np.asarray(ab_similarity(sa, sb), dtype=np.float64),
        null=np.asarray(cross_seed_similarity(sa, sb), dtype=np.float64),
        nn_a=nn_a, nn_b=nn_b, nn_index_a=idx_a, nn_index_b=idx_b, ratio_a=ratio_a, ratio_b=ratio_b,
        test_psnr_a=test_a, test_psnr_b=test_b, train_psnr_a=train_a, train_psnr_b=train_b,
        ref_a=heldout_reference(model_a, len(seeds)), ref_b=heldout_reference(model_b, len(seeds)),
    )
