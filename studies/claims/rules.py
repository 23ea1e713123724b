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
ORIGINALITY_HELDOUT = "pair-level-originality-vs-heldout"


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
    if math.isnan(rho):  # fewer than three pairs or one N: no rank test can be run, say so rather than print nan
        trend = f"no trend test ({len(ys)} pair{'s' if len(ys) != 1 else ''} over {len(set(ns))} N: a rank test needs >= 3 pairs over >= 2 N)"
    else:
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


def originality_vs_heldout(diffs: Sequence[float], nearest: Sequence[float], excess: Sequence[float], *, copy: float, margin: float,
                           alpha: float = ALPHA) -> Decision:
    """originality judged against held-out images (a claim about samples is supported only by their
    contrast with images no model made, never by the samples' statistic alone). Per trained pair:
    ``diffs`` and ``nearest`` as in ``originality``, and ``excess``, the median nearest-training
    correlation of its samples minus that of as many held-out images against the same training sets.

    "Far from their nearest training image" is then "no nearer their training images than new images
    are", a non-inferiority statement: the pairs' (1 - 2 alpha) t CI of the mean excess below
    ``margin`` (one-sided at alpha). SUPPORTED: that and ``originality``'s A/B part SUPPORTED
    (intersection-union: each at alpha keeps the whole at alpha). REFUTED: as copies (``originality``),
    or nearer their training images than held-out images by more than ``margin`` (the excess CI above
    it), or the A/B part REFUTED. Else INCONCLUSIVE; one pair has no between-pair CI of the excess and
    is never SUPPORTED."""
    e = np.asarray(excess, dtype=np.float64)
    if e.size != len(diffs) or e.size != len(nearest) or e.size == 0:
        raise ValueError(f"originality_vs_heldout: one diff, nearest and excess per pair, got {len(diffs)}, {len(nearest)}, {e.size}")
    if not np.isfinite(e).all():
        raise ValueError(f"originality_vs_heldout: excess must be finite, got {e.tolist()}")
    base = originality(diffs, nearest, copy=copy, alpha=alpha)
    m, (lo, hi) = pair_mean_ci(e, alpha=2 * alpha)
    each = ", ".join(f"{v:+.3f}" for v in e)
    vs = (f"samples minus held-out images, median nearest-training correlation per pair: {each}"
          + (f"; mean {m:+.3f}, {100 * (1 - 2 * alpha):.0f}% t CI {lo:+.3f}..{hi:+.3f} vs margin {margin}" if e.size > 1 else " (one pair: no between-pair CI)"))
    details = {**base.details, "excess_mean": m, "excess_ci": (lo, hi), "excess_pairs": int(e.size), "originality": base.verdict.value}
    if base.verdict == REFUTED and base.reason.startswith("samples are copies"):
        return Decision(REFUTED, f"{base.reason}; {vs}", ORIGINALITY_HELDOUT, details)
    if e.size >= 2 and lo > margin:
        return Decision(REFUTED, f"samples are nearer their training images than held-out images are, by more than {margin}: {vs}; "
                                 f"A/B part: {base.reason}", ORIGINALITY_HELDOUT, details)
    if base.verdict == REFUTED:
        return Decision(REFUTED, f"{base.reason}; {vs}", ORIGINALITY_HELDOUT, details)
    if base.verdict == SUPPORTED:
        if e.size >= 2 and hi < margin:
            return Decision(SUPPORTED, f"{base.reason}; and no nearer their training images than held-out images are: {vs}", ORIGINALITY_HELDOUT, details)
        return Decision(INCONCLUSIVE, f"A/B closer than nearest training ({base.reason}), but not shown to be as far from the training "
                                      f"images as held-out images are: {vs}", ORIGINALITY_HELDOUT, details)
    return Decision(INCONCLUSIVE, f"{base.reason}; {vs}", ORIGINALITY_HELDOUT, details)


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


# --- field measures: memorised fraction and memorisation time ---
#
# memorised-fraction-falls (Gu et al. 2023; Bonnaire et al. 2025): F_mem, the share of samples whose
# nearest / second-nearest training distance ratio is below 1/3, is near 1 at the smallest N and near
# 0 at the largest. memorisation-time-grows (Bonnaire et al. 2025; Favero, Sclocchi, Wyart 2025): the
# training step tau_mem at which F_mem first exceeds a level grows with N (log-log slope ~1), the step
# tau_gen at which the test loss reaches its minimum does not.
#
# The trained pair (or model), not the sampling seed, is the unit: every rule below takes one summary
# per pair or model; sampling-seed CIs only say how well each summary is known.

import math as _field_math
from dataclasses import dataclass as _field_dataclass
from typing import Optional as _FieldOptional, Sequence as _FieldSequence

from ..errors import InputError as _FieldInputError
from .verdict import INCONCLUSIVE as _F_INCONCLUSIVE, REFUTED as _F_REFUTED, SUPPORTED as _F_SUPPORTED, Verdict as _FieldVerdict


@_field_dataclass(frozen=True)
class FieldDecision:
    verdict: _FieldVerdict
    reason: str


def exact_rank_min_p(ys: _FieldSequence[float]) -> float:
    """The smallest one-sided p-value the exact permutation Spearman test can give for k distinct x
    against ``ys``: the share of the k! pairings as extreme as a perfectly monotone one. Ties in ys
    leave that many pairings equally extreme (the product of the tie groups' factorials), so a grid
    of 4 sizes reaches 1/24 = 0.042 without ties and 2/24 = 0.083 with one tie (e.g. two F_mem of 0);
    2 sizes reach only 1/2."""
    vals = [float(y) for y in ys]
    if len(vals) < 1:
        raise _FieldInputError("exact_rank_min_p: no values")
    groups: dict[float, int] = {}
    for v in vals:
        groups[v] = groups.get(v, 0) + 1
    ways = 1
    for c in groups.values():
        ways *= _field_math.factorial(c)
    return ways / _field_math.factorial(len(vals))


def _check_ci(ci, what: str) -> tuple[float, float]:
    lo, hi = float(ci[0]), float(ci[1])
    if not (_field_math.isfinite(lo) and _field_math.isfinite(hi)) or lo > hi:
        raise _FieldInputError(f"{what}: CI must be two finite numbers lo <= hi, got {ci!r}")
    return lo, hi


def decide_fraction_falls(ns: _FieldSequence[int], fmem: _FieldSequence[float], ci_smallest: tuple[float, float],
                          cis_largest: _FieldSequence[tuple[float, float]], *, memorising: float, generalising: float,
                          alpha: float = ALPHA) -> tuple[FieldDecision, dict]:
    """memorised-fraction-falls on one protocol's grid.

    ``ns`` the sizes (ascending), ``fmem`` one F_mem per pair (samples of A and B pooled), one pair
    per size; ``ci_smallest`` the bootstrap CI of the smallest size's pair; ``cis_largest`` the CIs of
    every training-seed replicate of the largest size's pair (one or more).

    SUPPORTED when the smallest-N CI lies above ``memorising``, every largest-N CI lies below
    ``generalising``, and the pairs fall along the grid: the exact one-sided Spearman test of the
    pair summaries against log N is significant where the grid (and its ties) let it reach
    ``alpha``; where it cannot (2 sizes, or ties), the pair summaries must not rise anywhere along
    the grid. REFUTED when the smallest-N CI lies below ``memorising`` (no memorisation to lose), or
    every largest-N CI lies above ``generalising`` (memorisation persists), or F_mem rises
    significantly with N. Otherwise INCONCLUSIVE. Returns the decision and the trend numbers."""
    ns = [int(n) for n in ns]
    ys = [float(v) for v in fmem]
    if len(ns) != len(ys) or len(ns) < 2:
        raise _FieldInputError(f"decide_fraction_falls: one F_mem per size and at least 2 sizes, got {len(ns)} sizes and {len(ys)} values")
    if sorted(set(ns)) != ns:
        raise _FieldInputError(f"decide_fraction_falls: sizes must be distinct and ascending, got {ns}")
    if any(not (0.0 <= y <= 1.0) for y in ys):
        raise _FieldInputError(f"decide_fraction_falls: F_mem values must lie in [0, 1], got {ys}")
    if not 0.0 <= generalising < memorising <= 1.0:
        raise _FieldInputError(f"decide_fraction_falls: need 0 <= generalising < memorising <= 1, got {generalising}, {memorising}")
    if not cis_largest:
        raise _FieldInputError("decide_fraction_falls: no CI for the largest size")
    lo0, hi0 = _check_ci(ci_smallest, "smallest-N F_mem")
    last = [_check_ci(c, "largest-N F_mem") for c in cis_largest]
    min_p = exact_rank_min_p(ys)
    info: dict = {"min_reachable_p": min_p, "p_decreasing": None, "p_increasing": None, "rho": None, "test": None}
    if len(ns) >= 3 and len(set(ys)) > 1:
        from ..stats import trend_test

        logn = [_field_math.log10(n) for n in ns]
        down = trend_test(logn, ys, method="spearman", alternative="decreasing", alpha=alpha)
        up = trend_test(logn, ys, method="spearman", alternative="increasing", alpha=alpha)
        info.update(p_decreasing=down.p, p_increasing=up.p, rho=down.statistic, test=down.test)
    reachable = min_p < alpha and info["p_decreasing"] is not None
    non_increasing = all(b <= a for a, b in zip(ys, ys[1:]))
    if reachable:
        falls = info["p_decreasing"] < alpha
        how = f"exact Spearman over {len(ns)} pairs, p = {info['p_decreasing']:.3g} (smallest reachable {min_p:.3g})"
    else:
        falls = non_increasing
        how = (f"the exact rank test over {len(ns)} pair{'s' if len(ns) > 1 else ''} cannot reach p < {alpha} "
               f"(smallest reachable p {min_p:.3g}), so the pairs must not rise along the grid: "
               f"{'they do not' if non_increasing else 'they do'}")
    rises = info["p_increasing"] is not None and info["p_increasing"] < alpha
    start = f"N={ns[0]}: F_mem {ys[0]:.3f} (CI {lo0:.3f}..{hi0:.3f})"
    end = f"N={ns[-1]}: F_mem {ys[-1]:.3f} (CI " + ", ".join(f"{lo:.3f}..{hi:.3f}" for lo, hi in last) + ")"
    if hi0 < memorising:
        return FieldDecision(_F_REFUTED, f"no memorisation at the smallest size: {start} lies below {memorising}"), info
    if all(lo > generalising for lo, _ in last):
        return FieldDecision(_F_REFUTED, f"memorisation persists at the largest size: {end} lies above {generalising}"), info
    if rises:
        return FieldDecision(_F_REFUTED, f"F_mem rises with N (exact Spearman p = {info['p_increasing']:.3g})"), info
    if lo0 > memorising and all(hi < generalising for _, hi in last) and falls:
        return FieldDecision(_F_SUPPORTED, f"{start} above {memorising}; {end} below {generalising}; trend: {how}"), info
    return FieldDecision(_F_INCONCLUSIVE, f"{start} vs {memorising}; {end} vs {generalising}; trend: {how}"), info


def first_crossing(steps: _FieldSequence[int], values: _FieldSequence[float], level: float) -> _FieldOptional[int]:
    """The first checkpoint step whose value exceeds ``level`` (strictly); None when none does
    (the event lies beyond the last checkpoint: censored)."""
    st = [int(s) for s in steps]
    vs = [float(v) for v in values]
    if len(st) != len(vs) or not st:
        raise _FieldInputError(f"first_crossing: one value per step, got {len(st)} steps and {len(vs)} values")
    if any(b <= a for a, b in zip(st, st[1:])) or st[0] < 1:
        raise _FieldInputError(f"first_crossing: steps must be positive and ascending, got {st}")
    for s, v in zip(st, vs):
        if v > level:
            return s
    return None


def crossing_interval(steps: _FieldSequence[int], tau: _FieldOptional[int]) -> tuple[float, float]:
    """Where the event of ``first_crossing`` happened on the checkpoint grid: in (previous
    checkpoint, tau] (from step 1 when tau is the first), or (last checkpoint, inf) when censored."""
    st = [int(s) for s in steps]
    if tau is None:
        return float(st[-1]), float("inf")
    if tau not in st:
        raise _FieldInputError(f"crossing_interval: {tau} is not a checkpoint step of {st}")
    i = st.index(tau)
    return float(st[i - 1] if i > 0 else 1), float(tau)


def generalisation_step(steps: _FieldSequence[int], test_loss: _FieldSequence[float], *, rel_tol: float) -> int:
    """tau_gen: the first logged step whose test loss is within ``rel_tol`` (relative) of the run's
    minimum: the minimum itself, or the start of the plateau that reaches it."""
    st = [int(s) for s in steps]
    ls = [float(v) for v in test_loss]
    if len(st) != len(ls) or not st:
        raise _FieldInputError(f"generalisation_step: one loss per step, got {len(st)} steps and {len(ls)} losses")
    if any(not _field_math.isfinite(v) or v < 0 for v in ls):
        raise _FieldInputError(f"generalisation_step: losses must be finite and >= 0, got {ls}")
    if rel_tol < 0:
        raise _FieldInputError(f"generalisation_step: rel_tol must be >= 0, got {rel_tol}")
    best = min(ls)
    for s, v in zip(st, ls):
        if v <= best * (1.0 + rel_tol):
            return s
    raise AssertionError("unreachable: the minimum is within any tolerance of itself")


@_field_dataclass(frozen=True)
class SlopeResult:
    slope: float  # OLS slope of log10 tau on log10 N, each tau at its interval's geometric midpoint
    ci: tuple[float, float]  # (1 - alpha) t interval
    dof: int
    alpha: float
    censored: int  # points whose event lies beyond the last checkpoint (taken at that checkpoint: a lower bound)

    def describe(self) -> str:
        return (f"log-log slope {self.slope:.2f}, {100 * (1 - self.alpha):.0f}% CI {self.ci[0]:.2f}..{self.ci[1]:.2f} "
                f"(OLS t interval, {self.dof} dof; {self.censored} censored at the last checkpoint)")


def _ols(x: list[float], y: list[float]) -> tuple[float, float]:
    """(slope, standard error) of y on x."""
    n = len(x)
    xb, yb = sum(x) / n, sum(y) / n
    sxx = sum((a - xb) ** 2 for a in x)
    b = sum((a - xb) * (c - yb) for a, c in zip(x, y)) / sxx
    resid = [c - yb - b * (a - xb) for a, c in zip(x, y)]
    se = _field_math.sqrt(sum(r * r for r in resid) / (n - 2) / sxx) if n > 2 else float("inf")
    return b, se


def loglog_slope(ns: _FieldSequence[int], intervals: _FieldSequence[tuple[float, float]], *, alpha: float = ALPHA) -> SlopeResult:
    """Slope of log tau against log N with a (1 - alpha) t interval, from one (lo, hi] interval of
    tau per model (a checkpoint grid only brackets an event; hi = inf: censored). Each tau is taken
    at its interval's geometric midpoint, so the grid's rounding enters the residuals like any other
    scatter; a censored tau is taken at the last checkpoint, which can only pull the slope of a
    growing tau down (conservative for growth). Needs >= 3 models and >= 2 distinct N.

    An earlier form widened the interval over every value the grid allows; on the smoke design
    (4 sizes, a factor-2 grid) its power against a true slope of 1 was under 10%
    (tests/test_rules_field.py measures both rates)."""
    from scipy import stats as _sst

    x = [_field_math.log10(int(n)) for n in ns]
    iv = [(float(lo), float(hi)) for lo, hi in intervals]
    if len(x) != len(iv) or len(x) < 3:
        raise _FieldInputError(f"loglog_slope: one interval per model and at least 3 models, got {len(x)} sizes and {len(iv)} intervals")
    if len(set(x)) < 2:
        raise _FieldInputError("loglog_slope: needs at least 2 distinct N")
    if any(not (0 < lo <= hi) for lo, hi in iv):
        raise _FieldInputError(f"loglog_slope: intervals must satisfy 0 < lo <= hi, got {iv}")
    censored = sum(1 for _, hi in iv if _field_math.isinf(hi))
    y = [_field_math.log10(lo if _field_math.isinf(hi) else _field_math.sqrt(lo * hi)) for lo, hi in iv]
    b, se = _ols(x, y)
    t = float(_sst.t.ppf(1 - alpha / 2, len(x) - 2))
    return SlopeResult(slope=b, ci=(b - t * se, b + t * se), dof=len(x) - 2, alpha=alpha, censored=censored)


def decide_memorisation_time(ns: _FieldSequence[int], mem_intervals: _FieldSequence[tuple[float, float]],
                             gen_steps: _FieldSequence[int], *, gen_margin: float, expected_slope: float = 1.0,
                             alpha: float = ALPHA) -> tuple[FieldDecision, dict]:
    """memorisation-time-grows from one model per entry: its N, the checkpoint interval of its
    tau_mem (``crossing_interval``) and its tau_gen (``generalisation_step``).

    Three log-log slopes against N, each with a t interval (``loglog_slope``): tau_mem's, tau_gen's
    and the window's, tau_mem / tau_gen (Bonnaire et al.: a generalisation window that widens with
    N). SUPPORTED: tau_mem's and the window's CIs lie above 0 and tau_gen's CI does not lie wholly
    outside ±``gen_margin``. REFUTED: tau_mem's or the window's CI lies below 0, or tau_gen's lies
    wholly outside ±gen_margin (tau_gen depends on N). INCONCLUSIVE otherwise, and when memorisation
    never set in within the budget (every tau_mem censored).

    That tau_gen is *independent* of N (its CI inside ±gen_margin, an equivalence test) is reported,
    not required: with 4 models (2 dof) and a factor-2 snapshot grid its power is near 0 even when
    tau_gen is constant (tests/test_rules_field.py). ``expected_slope`` (Bonnaire's ~1) is reported
    against tau_mem's CI, not decided on."""
    ns = [int(n) for n in ns]
    if not (len(ns) == len(mem_intervals) == len(gen_steps)):
        raise _FieldInputError(f"decide_memorisation_time: {len(ns)} sizes, {len(mem_intervals)} tau_mem intervals, {len(gen_steps)} tau_gen")
    if gen_margin <= 0:
        raise _FieldInputError(f"decide_memorisation_time: gen_margin must be > 0, got {gen_margin}")
    seen = [n for n, (_, hi) in zip(ns, mem_intervals) if not _field_math.isinf(hi)]
    info: dict = {"mem": None, "gen": None, "window": None}
    if not seen:
        return FieldDecision(_F_INCONCLUSIVE, f"memorisation never set in within the training budget at any N ({sorted(set(ns))})"), info
    mem = loglog_slope(ns, mem_intervals, alpha=alpha)
    gen = loglog_slope(ns, [(float(s), float(s)) for s in gen_steps], alpha=alpha)
    window = loglog_slope(ns, [(lo / g, hi / g) for (lo, hi), g in zip(mem_intervals, gen_steps)], alpha=alpha)
    info.update(mem=mem, gen=gen, window=window)
    lo, hi = mem.ci
    g_lo, g_hi = gen.ci
    independent = -gen_margin < g_lo and g_hi < gen_margin
    depends = g_lo > gen_margin or g_hi < -gen_margin
    vs_expected = f"Bonnaire's slope {expected_slope} is {'inside' if lo <= expected_slope <= hi else 'outside'} the CI"
    unseen = sorted(set(ns) - set(seen))
    cens = f"; no memorisation within the budget at N={unseen} (censored: a lower bound)" if unseen else ""
    m = f"tau_mem {mem.describe()} ({vs_expected}){cens}"
    w = f"window tau_mem/tau_gen {window.describe()}"
    g = (f"tau_gen {gen.describe()}: independence within ±{gen_margin} "
         f"{'shown' if independent else 'shown false' if depends else 'not resolved'}")
    if hi < 0:
        return FieldDecision(_F_REFUTED, f"tau_mem falls with N: {m}; {g}"), info
    if window.ci[1] < 0:
        return FieldDecision(_F_REFUTED, f"the generalisation window narrows with N: {w}; {m}; {g}"), info
    if depends:
        return FieldDecision(_F_REFUTED, f"tau_gen depends on N: {g}; {m}"), info
    if lo > 0 and window.ci[0] > 0:
        return FieldDecision(_F_SUPPORTED, f"tau_mem grows with N: {m}; the window widens: {w}; {g}"), info
    return FieldDecision(_F_INCONCLUSIVE, f"{'tau_mem grows' if lo > 0 else 'growth of tau_mem not shown'} ({m}); "
                                          f"{'window widens' if window.ci[0] > 0 else 'widening of the window not shown'} ({w}); {g}"), info


MEMORISES, GENERALISES, UNDECIDED = "memorises", "does not memorise", "undecided"


def memorisation_call(ci: tuple[float, float], *, level: float, high_means_memorising: bool = True,
                      one_sided: bool = False) -> str:
    """One measure's call about one model from its CI against ``level``: above it the measure says
    the model memorises (or, with ``high_means_memorising=False``, that it does not), below it the
    opposite, across it UNDECIDED. ``one_sided``: only the high side makes a call (a low
    reproducibility score means A and B differ, which a memorising pair and an unconverged pair
    share, so it says nothing either way)."""
    lo, hi = _check_ci(ci, "memorisation_call")
    high, low = (MEMORISES, GENERALISES) if high_means_memorising else (GENERALISES, MEMORISES)
    if lo > level:
        return high
    if hi < level and not one_sided:
        return low
    return UNDECIDED


def measures_disagree(calls: dict) -> bool:
    """True when one measure says the model memorises and another that it does not."""
    made = set(calls.values())
    return MEMORISES in made and GENERALISES in made
