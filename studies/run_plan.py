"""The plan a claims run prints before it starts: the models to train and those already in the
zoo, the A/B pairs to evaluate and those cached, and how long that should take on this machine.

The training estimate is the FLOPs of the missing models (``studies.zoo.training_flops``) at the
rate measured on this machine: the median FLOP/s of the models already in the zoo with the same
model config (each ``model.json`` records its seconds), else the per-core constant of
``studies.zoo``. The evaluation estimate is the median seconds per pair this machine recorded in
``<cache>/timings.json``, when it has evaluated a pair of the profile before."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional, Sequence

from .cache import atomic_write_json, cache_root
from .config import ModelConfig, to_dict
from .progress import fmt_duration

TIMINGS_FILE = "timings.json"


@dataclass
class RunPlan:
    profile: str
    models_total: int
    to_train: list = field(default_factory=list)  # ModelSpec
    estimates: dict = field(default_factory=dict)  # label -> estimated seconds (one worker)
    pairs: list = field(default_factory=list)  # (protocol, n, replicate)
    pairs_cached: int = 0
    workers: int = 1
    rate_flops: float = 0.0
    rate_source: str = ""
    eval_seconds: Optional[float] = None  # per pair, measured before on this machine
    # models a claim trains inside its test (memorisation-time-grows' snapshotted runs): label -> seconds on one worker
    in_claims: dict = field(default_factory=dict)
    in_claims_what: str = ""

    @property
    def training_seconds(self) -> float:
        return sum(self.estimates.values()) / max(1, min(self.workers, len(self.to_train) or 1))

    @property
    def in_claims_seconds(self) -> float:
        return sum(self.in_claims.values()) / max(1, min(self.workers_available, len(self.in_claims) or 1))

    @property
    def workers_available(self) -> int:
        return int(os.environ.get("MEMGEN_ZOO_WORKERS", os.cpu_count() or 1))

    @property
    def pairs_to_evaluate(self) -> int:
        return len(self.pairs) - self.pairs_cached

    def describe(self) -> str:
        lines = [f"memgen plan (profile {self.profile}):"]
        cached = self.models_total - len(self.to_train)
        if self.to_train:
            lines.append(f"  models: {self.models_total} needed, {cached} in the zoo, {len(self.to_train)} to train "
                         f"({self.workers} at a time): about {fmt_duration(self.training_seconds)} at {self.rate_flops:.2g} FLOP/s per worker ({self.rate_source})")
        else:
            lines.append(f"  models: all {self.models_total} needed are in the zoo")
        if self.pairs_to_evaluate:
            est = (f"about {fmt_duration(self.eval_seconds * self.pairs_to_evaluate)} at {fmt_duration(self.eval_seconds)} a pair (measured here before)"
                   if self.eval_seconds else "time shown once the first pair is done")
            lines.append(f"  evaluations: {len(self.pairs)} A/B pairs, {self.pairs_cached} cached, {self.pairs_to_evaluate} to evaluate: {est}")
        else:
            lines.append(f"  evaluations: all {len(self.pairs)} A/B pairs cached")
        if self.in_claims:
            lines.append(f"  {self.in_claims_what}: {len(self.in_claims)} to train when the tests that use them run "
                         f"({min(self.workers_available, len(self.in_claims))} at a time): about {fmt_duration(self.in_claims_seconds)}")
        total = self.training_seconds + (self.eval_seconds or 0.0) * self.pairs_to_evaluate + self.in_claims_seconds
        if total > 0:
            lines.append(f"  estimated training and evaluation: {fmt_duration(total)}" + ("" if self.eval_seconds or not self.pairs_to_evaluate else " plus the evaluations")
                         + (", the models trained inside the claims included" if self.in_claims else ""))
        return "\n".join(lines) + "\n"


def measured_rate(zoo_root: Path, model: ModelConfig, resolution: int, *, recent: int = 24) -> tuple[Optional[float], str]:
    """Median training FLOP/s of the zoo's models with this model config (the most recent ``recent``)."""
    from .zoo import training_flops

    want = to_dict(model)
    found = []
    for path in Path(zoo_root).glob("*/model.json"):
        try:
            info = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("model_config") != want or not info.get("seconds"):
            continue
        # the same model config trains at another resolution in another profile (smoke 16x16 and
        # fashion 28x28 share it): a model counts only at the resolution asked for, else its FLOPs
        # would be reckoned at the wrong image size (fashion_ci's plan once read smoke's models
        # and promised half its training time)
        if _entry_resolution(path.parent) != resolution:
            continue
        samples = int(info.get("epochs", 0)) * int(info.get("samples_per_epoch", 0))
        if samples > 0:
            found.append((path.stat().st_mtime, training_flops(model, resolution, samples) / float(info["seconds"])))
    if not found:
        return None, ""
    rates = [r for _, r in sorted(found)[-recent:]]
    return statistics.median(rates), f"median of {len(rates)} models trained on this machine"


def _entry_resolution(folder: Path) -> Optional[int]:
    """Image size a zoo entry trained at, from its profile (``entry.json``); None when unknown."""
    from .errors import MemgenError
    from .profiles import get_profile

    try:
        name = str(json.loads((folder / "entry.json").read_text("utf-8"))["profile"]).split("/")[0]
        return int(get_profile(name).data.resolution)
    except (OSError, ValueError, KeyError, TypeError, MemgenError):  # unreadable entry, or a profile not registered here
        return None


def _timings_path() -> Path:
    return cache_root() / TIMINGS_FILE


def recorded_eval_seconds(profile: str) -> Optional[float]:
    try:
        data = json.loads(_timings_path().read_text("utf-8"))
        values = data["evaluation_seconds"][profile]
        return statistics.median(values) if values else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_eval_seconds(profile: str, seconds: float, *, keep: int = 20) -> None:
    """Remember how long one pair's evaluation took here (the next plan's estimate); best effort."""
    path = _timings_path()
    try:
        data = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        values = list(data.setdefault("evaluation_seconds", {}).get(profile, []))[-(keep - 1):] + [round(float(seconds), 3)]
        data["evaluation_seconds"][profile] = values
        atomic_write_json(path, data)
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # a timing hint is never worth failing a run for


def evaluation_pairs(profile, protocols: Optional[Sequence[str]] = None, *, replicates: bool = True) -> list[tuple[str, int, int]]:
    """The (protocol, N, replicate) pairs the core claims evaluate: every N of each protocol's grid,
    and the replicated pairs (Profile.replicated_pairs) for each further training-seed replicate."""
    names = [p.name for p in profile.protocols if protocols is None or p.name in protocols]
    out = [(name, n, 0) for name in names for n in profile.protocol(name).n_grid]
    if replicates:
        out += [(p, n, r) for r in range(1, profile.replicates) for p, n in profile.replicated_pairs() if p in names]
    return out


def make_plan(zoo, profile, specs_needed: Sequence, missing: Sequence, *, workers: int,
              protocols: Optional[Sequence[str]] = None, replicates: bool = True, memtime: bool = False,
              gaussian_unet: bool = False) -> RunPlan:
    """The plan of a run that needs ``specs_needed`` (ModelSpec) of which ``missing`` are not built;
    ``memtime``: the run includes memorisation-time-grows, whose snapshotted models (``studies.memtime``)
    train when its test runs; ``gaussian_unet``: it includes the gaussian-control-unet cases, whose
    UNet pair (``studies.gaussian_unet``) trains when the first of them runs."""
    from .evaluation import SUMMARY_FILE, evaluation_key
    from .memtime import memtime_config, missing_models, training_estimates
    from .zoo import CPU_FLOPS_PER_CORE, training_flops

    rate, source = measured_rate(zoo.root, profile.model, profile.data.resolution)
    if rate is None:
        rate, source = CPU_FLOPS_PER_CORE, "the per-core constant of studies.zoo: no model of this config trained here yet"
    estimates = {}
    rows = {r["model"]: r for r in zoo.plan(profile, protocols)} if missing else {}
    for spec in missing:
        row = rows.get(spec.label())
        flops = row["flops"] if row else training_flops(profile.model, profile.data.resolution, 0)
        estimates[spec.label()] = flops / rate
    pairs = evaluation_pairs(profile, protocols, replicates=replicates)
    cached = 0
    root = cache_root() / "evaluations"
    for protocol, n, r in pairs:
        prof = profile.replica(r)
        try:
            # the dataset too: a data set's own held-out images (Fashion-MNIST's test set) are part of
            # the evaluation key (studies.evaluation.evaluation_key); without it the plan called every
            # cached fashion pair "to evaluate"
            ds = zoo.dataset(prof, protocol)
            a = SimpleNamespace(key=zoo.address(prof, protocol, "A", n), dataset=ds)
            b = SimpleNamespace(key=zoo.address(prof, protocol, "B", n), dataset=ds)
        except Exception:  # a split this data cannot give: the claim says so when it runs
            continue
        if (root / evaluation_key(a, b, prof, k=10) / SUMMARY_FILE).is_file():
            cached += 1
    in_claims, whats = {}, []
    cfg = memtime_config(profile) if memtime else None
    if cfg is not None:
        in_claims = training_estimates(profile, cfg, missing_models(zoo, profile, cfg), rate)
        whats.append("memorisation-time-grows' snapshotted models")
    if gaussian_unet:
        from . import gaussian_unet as gu
        from .claims.core import GAUSSIAN_UNET_GRID, GAUSSIAN_UNET_REPLICATES

        unets = gu.training_estimates(profile, gu.missing_models(zoo, profile, GAUSSIAN_UNET_GRID, GAUSSIAN_UNET_REPLICATES), rate)
        if unets:
            in_claims.update(unets)
            whats.append("the Gaussian control's UNet pair")
    what = " and ".join(whats)
    return RunPlan(profile=profile.name, models_total=len(specs_needed), to_train=list(missing), estimates=estimates,
                   pairs=pairs, pairs_cached=cached, workers=workers, rate_flops=rate, rate_source=source,
                   eval_seconds=recorded_eval_seconds(profile.name), in_claims=in_claims, in_claims_what=what)
