"""memorisation-time-grows (Bonnaire et al. NeurIPS 2025; Favero, Sclocchi, Wyart 2025): the training
time at which memorisation sets in grows with N, the time at which the test loss is best does not.

Models: the profile's ``studies.memtime.MemTimeConfig`` (smoke: random split, N = 10, 20, 40, 80,
model A, 1,600 steps at a constant learning rate, snapshots at 25, 50, ..., 1,600 steps), separate
zoo entries that keep their snapshots (``Zoo.get_snapshotted``); the profile's own models are not
touched. Per snapshot, the fixed seed set is sampled and F_mem measured (``studies.memtime``).
tau_mem = the first snapshot where F_mem exceeds ``fmem_level``; tau_gen = the first snapshot whose
logged test loss is within ``gen_rel_tol`` of the run's minimum. Decision:
``studies.claims.rules.decide_memorisation_time`` (log-log slopes with CIs over the models, one model
per N as the unit). Parametrised by the space of Gu et al.'s ratio: ``raw`` (the published
criterion) and ``standardised`` (per-image standardised images; see studies/field.py).

The known-answer controls are cases of this claim too and end not applicable, saying why: neither has
a training time. The memorising control is the empirical optimal denoiser, the exact minimiser of
the training loss (the end point of training, never its path); the Gaussian control's denoisers are
fitted in closed form (empirical mean and covariance)."""

import numpy as np
import os

import pytest

from studies.claims.rules import crossing_interval, decide_memorisation_time, first_crossing, generalisation_step
from studies.claims.core import GAUSSIAN_CONTROL, MEMORISING_CONTROL, parse_case
from studies.field import SPACES


@pytest.fixture(scope="module")
def memtime_curves(request, zoo, profile, dataset):
    """(config, [(model, curve)]) of the profile's snapshotted models, trained and sampled once;
    the training shows one progress line per model, outside pytest's capture, and counts in the
    run's training phase (the run plan lists these models beside the zoo's)."""
    from studies.memtime import build_models, memorisation_curve, missing_models, memtime_config
    from studies.progress import TIMER, Progress, terminal_is_live, terminal_writer

    cfg = memtime_config(profile)
    if cfg is None:
        pytest.skip(f"profile {profile.name} has no snapshotted models for this claim (studies.memtime.MEMTIME)")
    missing = missing_models(zoo, profile, cfg)
    if missing:
        progress = Progress("snapshotted models trained", len(missing), write=terminal_writer(request.config),
                            live=terminal_is_live(request.config),
                            parallel=min(len(missing), int(os.environ.get("MEMGEN_ZOO_WORKERS", os.cpu_count() or 1))))
        with TIMER.measure("training", note=f"{len(missing)} snapshotted models of memorisation-time-grows"), progress.ticking():
            build_models(zoo, profile, cfg, progress=progress)
    out = []
    for n in cfg.ns:
        for g in cfg.groups:
            model = zoo.get_snapshotted(profile, cfg.protocol, g, n, cfg.run)
            out.append((model, memorisation_curve(model, profile.sample, cfg.seeds)))
    return cfg, out


# why each control has no tau_mem or tau_gen to measure (the claim is about a training trajectory)
NO_TRAINING_TIME = {
    "memorising": "the memorising control has no training time: it is the empirical optimal denoiser (Zoo.memorising), the "
                  "exact posterior mean of its training images and so the minimiser of the training loss itself, reached "
                  "without training steps; its F_mem is ~1 from the start at every N (memorised-fraction-falls "
                  "[random-control-memorising]), so there is no tau_mem or tau_gen to compare across N",
    "gaussian": "the Gaussian control has no training time: its denoisers are fitted in closed form (empirical mean and "
                "covariance of N Gaussian images, studies/gaussian.py), with no training steps along which F_mem or the "
                "test loss could be followed",
}


@pytest.mark.claim("memorisation-time-grows")
@pytest.mark.parametrize("space", SPACES + (MEMORISING_CONTROL, GAUSSIAN_CONTROL))
def test_memorisation_time_grows(claim, profile, request, space):
    from studies.memtime import fractions

    _, control = parse_case(space)
    if control:  # ends the test before the snapshotted models (minutes of training) are requested
        claim.control(control)
        claim.not_applicable(NO_TRAINING_TIME[control])
    cfg, curves = request.getfixturevalue("memtime_curves")
    steps = [r["step"] for r in curves[0][1]["rows"]]
    claim.param(space=space, protocol=cfg.protocol, ns=list(cfg.ns), groups=list(cfg.groups), seeds=cfg.seeds,
                epochs=cfg.run.epochs, lr=cfg.run.lr, snapshot_steps=steps)
    level, rel_tol, margin = claim.threshold("fmem_level"), claim.threshold("gen_rel_tol"), claim.threshold("gen_margin")
    ns, intervals, gens, rows, seconds = [], [], [], [], 0.0
    for model, curve in curves:
        fm = fractions(curve["rows"], space)
        test_loss = [r["loss_test_random"] for r in curve["rows"]]
        tau = first_crossing(steps, fm, level)
        gen = generalisation_step(steps, test_loss, rel_tol=rel_tol)
        ns.append(model.n)
        intervals.append(crossing_interval(steps, tau))
        gens.append(gen)
        seconds += float(model.config.get("seconds", 0.0))
        other = fractions(curve["rows"], "raw" if space != "raw" else "standardised")
        nn = [float(np.median(r["nearest_corr"])) for r in curve["rows"]]
        rows.append([f"{cfg.protocol}/{model.group}/N{model.n}", model.n, " ".join(f"{v:.2f}" for v in fm),
                     " ".join(f"{v:.2f}" for v in other), " ".join(f"{v:.3f}" for v in nn),
                     " ".join(f"{v:.2f}" for v in test_loss), tau if tau is not None else f"> {steps[-1]}", gen])
    claim.table(f"F_mem along training (snapshots at steps {steps})",
                ["model", "N", f"F_mem {space} per snapshot", f"F_mem {'raw' if space != 'raw' else 'standardised'} per snapshot (reported)",
                 "median nearest-training corr per snapshot", "test loss per snapshot", f"tau_mem (F_mem > {level})", f"tau_gen (within {rel_tol:.0%} of min)"], rows)
    decision, info = decide_memorisation_time(ns, intervals, gens, gen_margin=margin)
    if info["mem"] is not None:
        claim.measure("log-log slope of tau_mem vs N", info["mem"].slope, ci=info["mem"].ci, threshold=0.0, direction=">", key=True)
        claim.measure("log-log slope of tau_mem / tau_gen vs N (the window)", info["window"].slope, ci=info["window"].ci,
                      threshold=0.0, direction=">", key=True)
        claim.measure("log-log slope of tau_gen vs N", info["gen"].slope, ci=info["gen"].ci, key=True)
        claim.method(f"tau_mem: {info['mem'].describe()}; window: {info['window'].describe()}; tau_gen: {info['gen'].describe()}")
    claim.method(f"one model per N ({', '.join(map(str, ns))}) is the unit; tau_mem bracketed by the snapshot grid (previous snapshot, "
                 f"crossing snapshot], taken at the bracket's geometric midpoint, at the last snapshot when censored; slopes: OLS "
                 f"with a 95% t interval; SUPPORTED needs tau_mem's and the window's CI above 0 and tau_gen's not wholly outside "
                 f"±{margin}; independence of tau_gen (CI inside ±{margin}) is reported: 2 dof cannot resolve it. Power of this "
                 f"design against a slope of 1 (simulated, tests/test_rules_field.py): 0.31 at 0.05 dex scatter, 0.14 at 0.15 dex")
    claim.note(f"cost: {len(curves)} snapshotted models of {cfg.run.epochs} epochs ({steps[-1]} steps each, "
               f"the profile's models train {profile.train.epochs} epochs), {seconds:.0f} s of training in all as logged, "
               f"{len(curves) * len(steps)} samplings of {cfg.seeds} seeds")
    claim.figure("F_mem and test loss along training", _figure(curves, steps, space, level), f"F_mem ({space}) and logged test loss per snapshot, one line per N")
    claim.conclude(decision.verdict, decision.reason)


def _figure(curves, steps, space, level):
    from matplotlib.figure import Figure

    from studies.memtime import fractions

    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    for model, curve in curves:
        ax1.plot(steps, fractions(curve["rows"], space), marker="o", label=f"N={model.n}")
        ax2.plot(steps, [r["loss_test_random"] for r in curve["rows"]], marker="o", label=f"N={model.n}")
    ax1.axhline(level, color="#b3261e", ls="--", lw=0.8)
    for ax, yl in ((ax1, f"F_mem ({space})"), (ax2, "test loss (logged)")):
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel(yl)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
