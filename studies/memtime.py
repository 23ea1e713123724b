"""Memorisation along training (Bonnaire et al. NeurIPS 2025; Favero, Sclocchi, Wyart 2025): F_mem
of a fixed seed set at log-spaced training steps, for a few N, from models that keep snapshots.

``MemTimeConfig`` (one per profile that runs the claim) says which models: protocol, sizes N, groups,
the training run (``studies.zoo.SnapshotRun``: length, constant learning rate, snapshot steps) and the
sampling seeds. ``memorisation_curve`` samples every snapshot of one model with those seeds and
records, per snapshot, Gu et al.'s decision per sample in raw and per-image standardised space
(``studies.field``), the sampler's stops and the logged train/test loss; it is cached under
``$MEMGEN_CACHE/memtime/<key>.json``, keyed by the model's address, its snapshot hashes, the seeds,
the sampler config and ``CURVE_VERSION``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .cache import atomic_write_json, cache_root
from .config import Profile, SampleConfig, config_hash, to_dict
from .errors import ArtifactError, InputError
from .zoo import SnapshotRun

CURVE_VERSION = 1


@dataclass(frozen=True)
class MemTimeConfig:
    protocol: str
    ns: tuple[int, ...]
    groups: tuple[str, ...]
    run: SnapshotRun
    seeds: int  # sampling seeds 0..seeds-1 at every snapshot: the fixed seed set

    def __post_init__(self) -> None:
        if len(self.ns) < 3 or list(self.ns) != sorted(set(self.ns)):
            raise InputError(f"MemTimeConfig: at least 3 distinct ascending N, got {self.ns}")
        if self.seeds < 2:
            raise InputError(f"MemTimeConfig: at least 2 seeds, got {self.seeds}")


# smoke: 4 sizes on a factor-2 grid, model A only (one model per size: the unit), 8 epochs of 200 steps
# (1,600 steps, twice the smoke models' 800) at a constant lr of 1e-3 (the smoke schedule's rate after
# its first halving), snapshots on a factor-2 grid of steps. Chosen on 2026-12-02 before any
# snapshotted model was trained, to fit the CI budget: 4 x 1,600 steps ~ 6.4 core-minutes of training
# at the measured ~0.06 s a step (about 3 minutes on 2 cores) plus 28 samplings of 32 seeds.
MEMTIME: dict[str, MemTimeConfig] = {
    "smoke": MemTimeConfig(
        protocol="random", ns=(10, 20, 40, 80), groups=("A",),
        run=SnapshotRun(epochs=8, lr=1e-3, snapshot_steps=(25, 50, 100, 200, 400, 800, 1600)),
        seeds=32,
    ),
    # fashion (the full profile; fashion_ci has none): under the fashion rule (studies/profiles.py:
    # nothing changes but the data) smoke's sizes, group, rate, snapshot steps and seeds. Fashion's
    # epoch is 30,000 samples (235 steps of 128), so 7 epochs (1,645 steps) is the fewest whole
    # epochs that reach smoke's last snapshot at step 1,600. Fixed 2026-12-02 before any snapshotted
    # fashion model was trained. Cost (*estimate*): 4 x 1,645 steps at ~0.175 s (an idle 28x28 step,
    # benchmarks/RESULTS.md) ~ 19 core-minutes, ~10 minutes on 2 cores, plus 28 samplings of 32 seeds
    "fashion": MemTimeConfig(
        protocol="random", ns=(10, 20, 40, 80), groups=("A",),
        run=SnapshotRun(epochs=7, lr=1e-3, snapshot_steps=(25, 50, 100, 200, 400, 800, 1600)),
        seeds=32,
    ),
}


def memtime_config(profile: Profile) -> Optional[MemTimeConfig]:
    return MEMTIME.get(profile.name)


def curve_key(model: Any, sample: SampleConfig, seeds: int) -> str:
    return config_hash({"model": model.key, "snapshots": [(r["step"], r["sha256"]) for r in model.config["snapshots"]],
                        "sample": to_dict(sample), "seeds": seeds, "version": CURVE_VERSION}, length=24)


def memorisation_curve(model: Any, sample: SampleConfig, seeds: int, *, root: Optional[Path] = None, recompute: bool = False) -> dict:
    """Per snapshot of ``model`` (a snapshotted ``TrainedModel``): step, flags of Gu et al.'s
    criterion per seed in raw and standardised space, sampler stops, logged train/test loss."""
    from .evaluation import common_start
    from .field import RAW, STANDARDISED, memorised_flags
    from .metrics.neighbours import topk
    from .sample import sample as run_sampler, sampler_options
    from .train import load_snapshot

    snaps = model.config.get("snapshots")
    if not snaps:
        raise InputError(f"model {model.key} keeps no snapshots; train it with studies.zoo.Zoo.get_snapshotted")
    folder = Path(root) if root is not None else cache_root() / "memtime"
    path = folder / f"{curve_key(model, sample, seeds)}.json"
    if not recompute and path.is_file():
        try:
            return json.loads(path.read_text("utf-8"))
        except ValueError:
            pass  # an unreadable entry is recomputed
    images = model.dataset.images
    mean = common_start(images) if sample.start == "common" else model.train_images.mean(0)
    rows = []
    for snap in snaps:
        net = load_snapshot(model.path, snap["step"], model.net.cfg)
        with torch.no_grad():
            res = run_sampler(net, list(range(seeds)), shape=tuple(images.shape[1:]), mean=mean, **sampler_options(sample))
        nn = topk(res.images, model.train_images, k=1, metric="correlation").scores[:, 0]
        rows.append({
            "step": int(snap["step"]),
            "raw": [bool(v) for v in memorised_flags(res.images, model.train_images, space=RAW)],
            "standardised": [bool(v) for v in memorised_flags(res.images, model.train_images, space=STANDARDISED)],
            "nearest_corr": [float(v) for v in nn],
            "status": res.counts(),
            "loss_train_random": float(snap["loss_train_random"]),
            "loss_test_random": float(snap["loss_test_random"]),
        })
    out = {"model": model.key, "n": int(model.n), "group": model.group, "seeds": seeds, "sample": to_dict(sample), "rows": rows}
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, out)
    return out


def missing_models(zoo: Any, profile: Profile, cfg: MemTimeConfig) -> list[tuple[int, str]]:
    """(N, group) of the snapshotted models of ``cfg`` not yet in ``zoo``."""
    return [(n, g) for n in cfg.ns for g in cfg.groups if not _built(zoo, profile, cfg, n, g)]


def model_label(profile: Profile, cfg: MemTimeConfig, n: int, group: str) -> str:
    """For people: ``smoke/random/A/N10/snapshots``."""
    return f"{profile.name}/{cfg.protocol}/{group}/N{n}/snapshots"


def training_estimates(profile: Profile, cfg: MemTimeConfig, missing: list[tuple[int, str]], rate_flops: float) -> dict[str, float]:
    """Seconds per missing snapshotted model on one worker at ``rate_flops`` (the run plan's rate)."""
    from .data.splits import exposure
    from .zoo import training_flops

    split = profile.protocol(cfg.protocol).split
    out = {}
    for n, g in missing:
        samples = cfg.run.epochs * exposure(n, split.n_total, split.exposure).samples
        out[model_label(profile, cfg, n, g)] = training_flops(profile.model, profile.data.resolution, samples) / rate_flops
    return out


def build_models(zoo: Any, profile: Profile, cfg: MemTimeConfig, *, workers: Optional[int] = None, progress: Any = None) -> None:
    """Train the missing snapshotted models of ``cfg``, ``workers`` at a time (one thread each);
    ``progress`` (``studies.progress.Progress``) hears of each as it starts and finishes."""
    import time

    missing = missing_models(zoo, profile, cfg)
    if not missing:
        return
    workers = max(1, min(len(missing), workers or int(os.environ.get("MEMGEN_ZOO_WORKERS", os.cpu_count() or 1))))
    from .zoo import build_snapshotted, run_pool

    labels = [model_label(profile, cfg, n, g) for n, g in missing]
    if workers == 1:
        for (n, g), label in zip(missing, labels):
            if progress is not None:
                progress.start(label)
            t0 = time.monotonic()
            zoo.get_snapshotted(profile, cfg.protocol, g, n, cfg.run)
            if progress is not None:
                progress.finish(label, time.monotonic() - t0)
        return
    run_pool(build_snapshotted, [(str(zoo.root), profile, cfg.protocol, g, n, cfg.run, 1) for n, g in missing], labels,
             workers=workers, progress=progress)


def _built(zoo: Any, profile: Profile, cfg: MemTimeConfig, n: int, group: str) -> bool:
    try:
        zoo.get_snapshotted(profile, cfg.protocol, group, n, cfg.run, build=False)
        return True
    except ArtifactError:
        return False


def fractions(rows: list[dict], space: str) -> np.ndarray:
    return np.array([float(np.mean(r[space])) for r in rows])
