"""Measured operating characteristics of the decision rules of ``studies.claims.rules``.

For each rule, a Monte-Carlo simulation of the design a verdict was reached on (how many trained
pairs at which N, how many seeds per pair) with the observed between-pair spread: the false-positive
rate is the share of simulated studies the rule calls SUPPORTED when the claim is false (at the
boundary of the null that is hardest for the rule), the power the share it calls SUPPORTED at the
effect size the claim is about (stated per verdict in ``effect``). The simulations call the very
functions the rules use (``rules.one_sample_t_p``, ``rules.spearman_p``), vectorised: a few
milliseconds each. Seeded: the same inputs give the same rates.

Monte-Carlo error: with S simulations a rate near alpha = 0.05 has standard error
sqrt(0.05 * 0.95 / S) (0.0022 at S = 10,000); ``within_alpha`` allows three of them. A design on
which a rule can never call SUPPORTED (one pair, or one N) has both rates exactly 0 and records 0
simulations."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats as st

from . import rules

SIMULATIONS = 10_000


@dataclass(frozen=True)
class Operating:
    name: str
    alpha: float
    false_positive_rate: float
    power: float
    simulations: int
    spread: float  # the between-pair (or, for one-pair rules, within-pair) sd the simulation kept
    effect: str  # the effect size power is measured at, in words
    null: str  # the null the false-positive rate is measured under, in words

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def mc_error(self) -> float:
        # simulations 0: rates known exactly (a design whose rule can never call SUPPORTED)
        return math.sqrt(self.alpha * (1 - self.alpha) / self.simulations) if self.simulations else 0.0

    def within_alpha(self) -> bool:
        return self.false_positive_rate <= self.alpha + 3 * self.mc_error


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def pair_t(pairs: int, spread: float, effect: float, *, alpha: float = rules.ALPHA, sims: int = SIMULATIONS, seed: int = 0) -> Operating:
    """``rules.pair_difference`` / ``rules.originality``: ``pairs`` pair-level differences with sd
    ``spread``; null mean 0, power at mean ``effect``."""
    if pairs < 2:  # one pair: no between-pair spread, the rule never calls SUPPORTED (rules.pair_difference)
        return Operating(rules.PAIR_T, alpha, 0.0, 0.0, 0, float(spread), f"mean pair-level difference {effect:+.3g} (one pair: never SUPPORTED)",
                         "mean pair-level difference 0")
    rng = _rng(seed)
    sd = max(float(spread), 1e-12)
    if pairs < 2:  # rules.pair_difference never decides on one pair (no between-pair spread)
        fpr = power = 0.0
    else:
        null = rng.normal(0.0, sd, size=(sims, pairs))
        alt = rng.normal(effect, sd, size=(sims, pairs))
        fpr = float(np.mean(rules.one_sample_t_p(null, alternative="greater") < alpha))
        power = float(np.mean(rules.one_sample_t_p(alt, alternative="greater") < alpha))
    return Operating(rules.PAIR_T, alpha, fpr, power, sims, float(spread), f"mean pair-level difference {effect:+.3g}", "mean pair-level difference 0")


def originality_vs_heldout(pairs: int, spread_diff: float, spread_excess: float, effect: float, margin: float, *,
                           alpha: float = rules.ALPHA, sims: int = SIMULATIONS, seed: int = 0) -> Operating:
    """``rules.originality_vs_heldout``: ``pairs`` pair-level (A/B minus nearest, excess over held-out)
    summaries with sds ``spread_diff`` and ``spread_excess``, drawn independently. SUPPORTED needs the
    one-sided t test of the difference at alpha and the excess's (1 - 2 alpha) t CI below ``margin``.
    The false-positive rate is the larger of the two boundaries of the null (intersection-union): A/B
    part at 0 with the excess far inside the margin, and excess at the margin with a large A/B
    difference; power at difference ``effect`` and excess 0 (samples as far from training as new images)."""
    rng = _rng(seed)
    sd, se = max(float(spread_diff), 1e-12), max(float(spread_excess), 1e-12)
    t2 = st.t.ppf(1 - alpha, max(pairs - 1, 1))

    def supported(mean_diff, mean_excess):
        d = rng.normal(mean_diff, sd, size=(sims, pairs))
        e = rng.normal(mean_excess, se, size=(sims, pairs))
        hi = e.mean(axis=1) + t2 * e.std(axis=1, ddof=1) / math.sqrt(pairs)
        return (rules.one_sample_t_p(d, alternative="greater") < alpha) & (hi < margin)

    if pairs < 2:
        fpr = power = 0.0  # one pair is never SUPPORTED
    else:
        fpr = float(max(np.mean(supported(0.0, margin - 10 * se)), np.mean(supported(10 * sd, margin))))
        power = float(np.mean(supported(effect, 0.0)))
    return Operating(rules.ORIGINALITY_HELDOUT, alpha, fpr, power, sims, float(spread_diff),
                     f"mean pair-level difference {effect:+.3g} and samples as near their training images as held-out images (excess 0, "
                     f"sd {spread_excess:.3g}, margin {margin})",
                     "the harder of: A/B part at 0 (excess far inside the margin), or excess at the margin (A/B part far beyond 0)")


def pair_tost(pairs: int, spread: float, margin: float, *, alpha: float = rules.ALPHA, sims: int = SIMULATIONS, seed: int = 0) -> Operating:
    """``rules.pair_equivalence``: null at the margin (the hardest non-equivalent case), power at 0."""
    rng = _rng(seed)
    sd = max(float(spread), 1e-12)

    def equivalent(d):
        return np.maximum(rules.one_sample_t_p(d + margin, alternative="greater"), rules.one_sample_t_p(d - margin, alternative="less")) < alpha

    if pairs < 2:  # rules.pair_equivalence never decides on one pair
        fpr = power = 0.0
    else:
        fpr = float(np.mean(equivalent(rng.normal(margin, sd, size=(sims, pairs)))))
        power = float(np.mean(equivalent(rng.normal(0.0, sd, size=(sims, pairs)))))
    return Operating(rules.PAIR_TOST, alpha, fpr, power, sims, float(spread), "pair-level difference 0", f"pair-level difference at the margin {margin}")


def trend_and_level(ns: Sequence[int], pairs_per_n: Sequence[int], spread: float, *, direction: str, level: float, effect: float,
                    alpha: float = rules.ALPHA, sims: int = SIMULATIONS, seed: int = 0) -> Operating:
    """``rules.trend_and_level`` on its design (pairs per N). Null: no change with N, every cell
    already beyond ``level`` by three spreads (so only the trend test guards, the hardest null).
    Power: the summary moves linearly in log N by ``effect`` across the grid, ending ``effect``/2
    beyond ``level``."""
    if len(set(ns)) < 2 or pairs_per_n[-1] < 2:
        # one N (no trend to rank) or one pair at the largest N (no between-pair CI): the rule never
        # calls SUPPORTED, whatever the data (rules.trend_and_level); nothing to simulate
        return Operating(rules.TREND_LEVEL, alpha, 0.0, 0.0, 0, float(spread),
                         f"none reachable: {len(set(ns))} N and {pairs_per_n[-1]} pair(s) at the largest N never give SUPPORTED",
                         f"no change with N, every pair beyond {level}")
    rng = _rng(seed)
    sd = max(float(spread), 1e-12)
    sign = 1.0 if direction == "increasing" else -1.0
    xs = np.array([math.log10(n) for n, k in zip(ns, pairs_per_n) for _ in range(k)])
    last = np.arange(xs.size) >= xs.size - pairs_per_n[-1]
    span = (xs - xs.min()) / (xs.max() - xs.min()) if xs.max() > xs.min() else np.zeros_like(xs)

    def supported(means):
        y = means[None, :] + rng.normal(0.0, sd, size=(sims, xs.size))
        _, p = rules.spearman_p(xs, y, alternative=direction)
        z = y[:, last]
        k = z.shape[1]
        if k < 2:
            return np.zeros(sims, dtype=bool)
        half = st.t.ppf(1 - alpha / 2, k - 1) * z.std(axis=1, ddof=1) / math.sqrt(k)
        beyond = (z.mean(axis=1) - half > level) if sign > 0 else (z.mean(axis=1) + half < level)
        return (p < alpha) & beyond

    null_means = np.full(xs.size, level + sign * 3 * sd)
    alt_means = level + sign * effect * (span - 0.5)
    fpr = float(np.mean(supported(null_means)))
    power = float(np.mean(supported(alt_means)))
    return Operating(rules.TREND_LEVEL, alpha, fpr, power, sims, float(spread),
                     f"linear in log N by {effect:g} across N={ns[0]}..{ns[-1]}, ending {effect / 2:g} beyond {level}",
                     f"no change with N, every pair {3:g} spreads beyond {level}")


def ci_threshold(n: int, spread: float, threshold: float, effect: float, *, alpha: float = rules.ALPHA, sims: int = SIMULATIONS,
                 seed: int = 0, between: float = 0.0) -> Operating:
    """``rules.ci_vs_threshold`` on one pair's ``n`` per-seed values of sd ``spread`` (the
    bootstrap CI approximated by the normal one): null at the threshold, power at threshold +
    ``effect``. ``between``: sd of a pair's offset, where the design knows it (0: conditional on the pair)."""
    rng = _rng(seed)
    sd = max(float(spread), 1e-12)
    z = st.norm.ppf(1 - alpha / 2)

    def supported(mu):
        offset = rng.normal(0.0, between, size=(sims, 1)) if between > 0 else 0.0
        x = mu + offset + rng.normal(0.0, sd, size=(sims, n))
        return x.mean(axis=1) - z * x.std(axis=1, ddof=1) / math.sqrt(n) > threshold

    fpr = float(np.mean(supported(threshold)))
    power = float(np.mean(supported(threshold + effect)))
    return Operating(rules.CI_THRESHOLD, alpha, fpr, power, sims, float(spread), f"true value {effect:+.3g} beyond {threshold}",
                     f"true value at {threshold}" + ("" if between > 0 else " (conditional on the trained pair: no replicate at this cell)"))


def contrast(n_samples: int, n_control: int, spread_samples: float, spread_control: float, effect: float, *, margin: float = 0.0,
             alpha: float = rules.ALPHA, sims: int = SIMULATIONS, seed: int = 0) -> Operating:
    """``rules.contrast``: samples vs held-out control, difference of means (normal CI in the
    simulation); null difference ``margin``, power at ``margin + effect``."""
    rng = _rng(seed)
    z = st.norm.ppf(1 - alpha / 2)
    sa, sb = max(spread_samples, 1e-12), max(spread_control, 1e-12)

    def supported(delta):
        a = rng.normal(delta, sa, size=(sims, n_samples))
        b = rng.normal(0.0, sb, size=(sims, n_control))
        se = np.sqrt(a.var(axis=1, ddof=1) / n_samples + b.var(axis=1, ddof=1) / n_control)
        return a.mean(axis=1) - b.mean(axis=1) - z * se > margin

    fpr = float(np.mean(supported(margin)))
    power = float(np.mean(supported(margin + effect)))
    return Operating(rules.CONTRAST, alpha, fpr, power, sims, float(spread_samples), f"samples {effect:+.3g} beyond the control",
                     "samples equal to the held-out control (conditional on the trained pair)")


def pooled_sd(groups: Sequence[Sequence[float]]) -> float:
    """Pooled within-group sd of the groups with two or more members (the between-pair spread of
    replicated cells); nan when none has two."""
    num = sum(float(np.var(g, ddof=1)) * (len(g) - 1) for g in groups if len(g) >= 2)
    den = sum(len(g) - 1 for g in groups if len(g) >= 2)
    return math.sqrt(num / den) if den else math.nan
