"""Every decision rule of the trained-model claims, as pure functions: measured numbers in, a
``Decision`` (verdict, reason, rule name) out. Alpha is registered here, once (``ALPHA``).

The unit of inference is the trained pair, never the sampling seed: sampling seeds of one pair share
its two trained models, so they are nested within it and are summarised first (one number per pair:
a median or mean over seeds), and a rule sees only those pair-level summaries. Where a cell (a
protocol at one N) has training-seed replicates (``Profile.replicates``), a comparison is a t test on
the per-replicate summaries (df = replicates - 1); where one pair per cell is all a profile has, a
trend over the N grid is an exact rank test over the cells (with k cells and no ties Spearman cannot
go below 1/k!: four cells reach 0.042, two cells nothing, which the reason then says), and a
statement about one pair is a CI over that pair's seeds, which the reason calls a statement about
that pair.

Each rule has a simulator in ``studies.claims.operating`` that measures its false-positive rate and
power with the observed between-pair spread; the name in ``Decision.rule`` keys it.

Multiple decisions per claim: each parametrisation (protocol) of a claim is its own verdict about its
own protocol, reported one by one, not a family searched for one success, so no correction across
protocols is applied. Within one verdict, a rule that needs two conditions for SUPPORTED (a trend and
a level) is an intersection-union test: each condition at ``ALPHA`` keeps the whole at ``ALPHA``."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import stats as st

from .verdict import INCONCLUSIVE, REFUTED, SUPPORTED, Verdict

ALPHA = 0.05  # the one significance level of every rule (two-sided CIs at 1 - ALPHA)

# rule names (keys of studies.claims.operating.SIMULATORS)
CI_THRESHOLD = "seed-ci-vs-threshold"
PAIR_T = "pair-level-t"
PAIR_TOST = "pair-level-tost"
TREND_LEVEL = "pair-level-trend-and-level"
ORIGINALITY = "pair-level-originality"
CONTRAST = "contrast-vs-control"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    rule: str = ""
    details: dict = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------------------------------------
# pair-level building blocks


def pair_mean_ci(values: Sequence[float], *, alpha: float = ALPHA) -> tuple[float, tuple[float, float]]:
    """Mean of pair-level summaries with a two-sided Student t CI (df = pairs - 1); one pair has no
    between-pair spread to estimate: its CI is (nan, nan)."""
    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    if v.size < 2:
        return m, (math.nan, math.nan)
    half = float(st.t.ppf(1 - alpha / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, (m - half, m + half)


def one_sample_t_p(values: np.ndarray, *, alternative: str) -> np.ndarray:
    """One-sided p-values of H0 mean = 0 for each row of ``values`` (pairs along the last axis),
    vectorised for the simulations; a row without spread gets p 0 or 1 by its sign."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[-1]
    m = v.mean(axis=-1)
    s = v.std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(s > 0, m / (s / math.sqrt(n)), np.sign(m) * np.inf)
    if alternative == "greater":
        return np.where(np.isnan(t), 1.0, st.t.sf(t, n - 1))
    if alternative == "less":
        return np.where(np.isnan(t), 1.0, st.t.cdf(t, n - 1))
    raise ValueError(f"alternative must be greater or less, got {alternative!r}")


@lru_cache(maxsize=64)
def _exact_spearman_null(x_ranks: tuple) -> np.ndarray:
    """Spearman rho of every permutation of y's ranks 0..n-1 against fixed x ranks (with ties)."""
    rx = np.asarray(x_ranks, dtype=np.float64)
    rx = rx - rx.mean()
    n = rx.size
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.float64)
    ry = perms - perms.mean(axis=1, keepdims=True)
    return (ry @ rx) / np.sqrt((ry**2).sum(axis=1) * (rx**2).sum())


_EXACT_MAX = 8  # 8! = 40,320 permutations: exact up to here, t approximation above


def spearman_p(x: Sequence[float], y: np.ndarray, *, alternative: str) -> tuple[np.ndarray, np.ndarray]:
    """(rho, one-sided p) of Spearman's rank correlation of each row of ``y`` with ``x`` (vectorised).
    Exact permutation p for up to 8 pairs (ties in x allowed: x's midranks are fixed, y's ranks
    permuted; y is continuous), Student t approximation above. ``alternative``: increasing or decreasing."""
    x = np.asarray(x, dtype=np.float64)
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    rx = st.rankdata(x)
    rxc = rx - rx.mean()
    ry = st.rankdata(y, axis=1)
    ryc = ry - ry.mean(axis=1, keepdims=True)
    rho = (ryc @ rxc) / np.sqrt((ryc**2).sum(axis=1) * (rxc**2).sum())
    sign = 1.0 if alternative == "increasing" else -1.0
    n = x.size
    if n <= _EXACT_MAX:
        null = np.sort(sign * _exact_spearman_null(tuple(rx)))
        # share of permutations at least as extreme (>= observed, with a rounding guard)
        p = 1.0 - np.searchsorted(null, sign * rho - 1e-12, side="left") / null.size
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = sign * rho * np.sqrt((n - 2) / np.clip(1 - rho**2, 1e-300, None))
        p = st.t.sf(t, n - 2)
    return rho, p


def min_trend_p(x: Sequence[float]) -> float:
    """The smallest one-sided p a rank trend test over these cells can reach (a perfect order)."""
    x = np.asarray(x, dtype=np.float64)
    _, p = spearman_p(x, x[None, :] + 1e-9 * np.arange(x.size)[None, :], alternative="increasing")
    return float(p[0])


# ---------------------------------------------------------------------------------------------
# the rules


def ci_vs_threshold(name: str, ci: tuple[float, float], threshold: float, *, what: str, unit_note: str = "") -> Decision:
    """SUPPORTED when the CI (over one pair's seeds or samples) lies above ``threshold``, REFUTED when
    it lies below, else INCONCLUSIVE. A statement about one trained pair: ``unit_note`` says so."""
    lo, hi = ci
    note = f" ({unit_note})" if unit_note else ""
    if lo > threshold:
        return Decision(SUPPORTED, f"{name} CI {lo:.3f}..{hi:.3f} lies above {threshold}: {what}{note}", CI_THRESHOLD)
    if hi < threshold:
        return Decision(REFUTED, f"{name} CI {lo:.3f}..{hi:.3f} lies below {threshold}: not {what}{note}", CI_THRESHOLD)
    return Decision(INCONCLUSIVE, f"{name} CI {lo:.3f}..{hi:.3f} contains {threshold}: too little power to say whether {what}{note}", CI_THRESHOLD)


def pair_difference(diffs: Sequence[float], *, what: str, alpha: float = ALPHA) -> Decision:
    """One summary per trained pair (replicate) of a signed difference; one-sided one-sample t tests
    of the mean difference: SUPPORTED when > 0 (p < alpha), REFUTED when < 0, else INCONCLUSIVE.
    One pair cannot be tested (no between-pair spread): INCONCLUSIVE saying so."""
    d = np.asarray(diffs, dtype=np.float64)
    each = ", ".join(f"{v:+.3f}" for v in d)
    if d.size < 2:
        return Decision(INCONCLUSIVE, f"one trained pair ({each}): a pair-level test needs replicates; {what} cannot be decided", PAIR_T)
    p_gt = float(one_sample_t_p(d[None], alternative="greater")[0])
    p_lt = float(one_sample_t_p(d[None], alternative="less")[0])
    m, (lo, hi) = pair_mean_ci(d, alpha=alpha)
    tail = f"{d.size} pairs: {each}; mean {m:+.3f}, {100 * (1 - alpha):.0f}% t CI {lo:+.3f}..{hi:+.3f}"
    details = {"p_greater": p_gt, "p_less": p_lt, "mean": m, "ci": (lo, hi), "pairs": d.size, "sd": float(d.std(ddof=1))}
    if p_gt < alpha:
        return Decision(SUPPORTED, f"{what} (one-sided t on pair-level differences, p={p_gt:.2g}; {tail})", PAIR_T, details)
    if p_lt < alpha:
        return Decision(REFUTED, f"the opposite of '{what}' (one-sided t on pair-level differences, p={p_lt:.2g}; {tail})", PAIR_T, details)
    return Decision(INCONCLUSIVE, f"no significant pair-level difference (p={min(p_gt, p_lt):.2g} in the likelier direction; {tail})", PAIR_T, details)


def pair_equivalence(diffs: Sequence[float], *, margin: float, alpha: float = ALPHA) -> Decision:
    """TOST on pair-level differences (one per trained pair): SUPPORTED (equivalent) when both
    one-sided t tests reject at alpha, i.e. the (1 - 2 alpha) t CI lies inside (-margin, margin);
    REFUTED when that CI lies wholly outside; else INCONCLUSIVE."""
    d = np.asarray(diffs, dtype=np.float64)
    each = ", ".join(f"{v:+.3f}" for v in d)
    if d.size < 2:
        return Decision(INCONCLUSIVE, f"one trained pair ({each} dB): equivalence across pairs needs replicates", PAIR_TOST)
    m, (lo, hi) = pair_mean_ci(d, alpha=2 * alpha)
    p = float(max(one_sample_t_p(d[None] + margin, alternative="greater")[0], one_sample_t_p(d[None] - margin, alternative="less")[0]))
    tail = f"{d.size} pairs: {each} dB; mean {m:+.3f}, {100 * (1 - 2 * alpha):.0f}% t CI {lo:+.3f}..{hi:+.3f} vs ±{margin}"
    details = {"p": p, "mean": m, "ci": (lo, hi), "pairs": d.size, "sd": float(d.std(ddof=1))}
    if p < alpha:
        return Decision(SUPPORTED, f"equivalent within ±{margin} (TOST p={p:.2g}; {tail})", PAIR_TOST, details)
    if lo > margin or hi < -margin:
        return Decision(REFUTED, f"difference outside ±{margin} ({tail})", PAIR_TOST, details)
    return Decision(INCONCLUSIVE, f"neither equivalent nor outside ±{margin} (TOST p={p:.2g}; {tail})", PAIR_TOST, details)


def trend_and_level(cells: Sequence[tuple[int, Sequence[float]]], *, direction: str, level: float, what: str,
                    unit: str = "", alpha: float = ALPHA) -> Decision:
    """A pair-level summary moves with N in ``direction`` (increasing / decreasing) and, at the largest
    N, lies beyond ``level`` (above for increasing, below for decreasing).

    ``cells``: (N, [one summary per trained pair at that N]). Trend: Spearman over every pair's
    summary against log N (exact permutation up to 8 pairs; the p-floor of the design is in the
    reason). Level: the largest-N pairs' mean with its t CI (df = pairs - 1). SUPPORTED: trend p <
    alpha and the CI beyond ``level`` (intersection-union); REFUTED: the largest-N CI wholly on the
    wrong side of ``level``, or the summaries move significantly the wrong way; else INCONCLUSIVE.
    One pair at the largest N: its level cannot be given a between-pair CI: never SUPPORTED."""
    if direction not in ("increasing", "decreasing"):
        raise ValueError(f"direction must be increasing or decreasing, got {direction!r}")
    xs = np.array([math.log10(n) for n, vs in cells for _ in vs])
    ys = np.array([v for _, vs in cells for v in vs], dtype=np.float64)
    ns = [n for n, _ in cells]
    last = np.asarray(cells[-1][1], dtype=np.float64)
    floor = min_trend_p(xs) if len(set(ns)) >= 2 else 1.0
    if len(set(ns)) >= 2 and len(ys) >= 3:
        rho, p = spearman_p(xs, ys[None], alternative=direction)
        rho, p = float(rho[0]), float(p[0])
        _, p_wrong = spearman_p(xs, ys[None], alternative="decreasing" if direction == "increasing" else "increasing")
        p_wrong = float(p_wrong[0])
    else:
        rho, p, p_wrong = math.nan, 1.0, 1.0
    m, (lo, hi) = pair_mean_ci(last, alpha=alpha)
    above = direction == "increasing"
    beyond = (lo > level) if above else (hi < level)
    wrong_side = (hi < level) if above else (lo > level)
    cmp = ">" if above else "<"
    pairs = f"{len(ys)} pairs over N={'/'.join(str(n) for n in ns)} ({'/'.join(str(len(v)) for _, v in cells)} per N)"
    trend = f"Spearman rho {rho:+.2f}, one-sided p={p:.2g} (the least this design can reach: {floor:.2g})"
    lvl = f"N={ns[-1]}: {m:.3f}{unit}" + (f" ({100 * (1 - alpha):.0f}% t CI over {last.size} pairs {lo:.3f}..{hi:.3f})" if last.size > 1 else " (one pair: no between-pair CI)")
    details = {"p": p, "rho": rho, "p_floor": floor, "mean_last": m, "ci_last": (lo, hi), "pairs_last": int(last.size)}
    if last.size >= 2 and not math.isnan(lo) and p < alpha and beyond:
        return Decision(SUPPORTED, f"{what}: {trend}; {lvl} {cmp} {level}{unit}; {pairs}", TREND_LEVEL, details)
    if last.size >= 2 and not math.isnan(lo) and wrong_side:
        return Decision(REFUTED, f"at the largest N the level is on the wrong side of {level}{unit}: {lvl}; {trend}; {pairs}", TREND_LEVEL, details)
    if p_wrong < alpha:
        return Decision(REFUTED, f"the summaries move the other way with N (p={p_wrong:.2g}); {lvl}; {pairs}", TREND_LEVEL, details)
    why = "the design cannot reach alpha" if floor >= alpha else ("trend not significant" if p >= alpha else f"level not beyond {level}{unit}")
    return Decision(INCONCLUSIVE, f"{why}: {trend}; {lvl}; {pairs}", TREND_LEVEL, details)


def originality(diffs: Sequence[float], nearest: Sequence[float], *, copy: float, alpha: float = ALPHA) -> Decision:
    """originality on pair-level summaries: per trained pair, the median over seeds of same-seed A/B
    correlation minus the larger nearest-training correlation (``diffs``) and the median nearest-
    training correlation (``nearest``). REFUTED as copies when the pairs' nearest-training t CI lies
    above ``copy``; else the one-sided t tests of ``pair_difference`` (SUPPORTED: A/B closer)."""
    n = np.asarray(nearest, dtype=np.float64)
    m, (lo, hi) = pair_mean_ci(n, alpha=alpha)
    if n.size >= 2 and lo > copy:
        return Decision(REFUTED, f"samples are copies: pair-level median nearest-training correlation {m:.3f} (t CI {lo:.3f}..{hi:.3f}) above {copy}", ORIGINALITY)
    if n.size < 2 and m > copy:
        return Decision(INCONCLUSIVE, f"one pair, median nearest-training correlation {m:.3f} above {copy}; copies cannot be told from one pair", ORIGINALITY)
    d = pair_difference(diffs, what="same-seed A/B samples are closer to each other than to their nearest training image", alpha=alpha)
    return Decision(d.verdict, d.reason, ORIGINALITY, d.details)


def contrast(samples: Sequence[float], control: Sequence[float], *, what: str, margin: float = 0.0, alpha: float = ALPHA,
             n_boot: int = 2000, seed: int = 0) -> Decision:
    """A statistic of samples judged only against the same statistic of held-out images (a negative
    control that no model produced): the difference of means samples - control with a percentile
    bootstrap CI (the two sets resampled independently: they are different images). SUPPORTED when
    the CI lies above ``margin``, REFUTED when below, else INCONCLUSIVE. About one trained pair."""
    a = np.asarray(samples, dtype=np.float64)
    b = np.asarray(control, dtype=np.float64)
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
    db = b[rng.integers(0, b.size, size=(n_boot, b.size))].mean(axis=1)
    diff = da - db
    est = float(a.mean() - b.mean())
    lo, hi = float(np.quantile(diff, alpha / 2)), float(np.quantile(diff, 1 - alpha / 2))
    tail = f"samples {a.mean():.3f} vs held-out control {b.mean():.3f}: difference {est:+.3f}, {100 * (1 - alpha):.0f}% bootstrap CI {lo:+.3f}..{hi:+.3f}"
    details = {"difference": est, "ci": (lo, hi), "samples": float(a.mean()), "control": float(b.mean())}
    if lo > margin:
        return Decision(SUPPORTED, f"{what}: {tail} above {margin}", CONTRAST, details)
    if hi < margin:
        return Decision(REFUTED, f"refuted, the contrast goes the other way ({what} is claimed): {tail} below {margin}", CONTRAST, details)
    return Decision(INCONCLUSIVE, f"samples do not differ from held-out images: {tail} contains {margin}", CONTRAST, details)
