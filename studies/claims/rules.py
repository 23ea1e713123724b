"""Decision rules of the claims as pure functions: measured numbers in, a verdict and its reason out.
The significance level is registered once, here. Each section below belongs to one family of claims
and is unit-tested on inputs whose answer is known."""

from __future__ import annotations

# the one significance level of the decision rules (the same 0.05 as studies.claims.core.ALPHA)
ALPHA = 0.05


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
