"""Statistics behind the verdicts, on scipy: seeded bootstrap CIs, one-sided monotone-trend tests,
TOST equivalence, paired tests across seeds. Every result names its test and alpha (``.test``,
``.alpha``, ``.p``) and says it in one line (``describe()``), for ``claim.method``.

Power note: with k points on an N grid and no ties, a rank trend test cannot reach p below 1/k!
(k = 4 gives 0.042), so a four-point grid can support a trend at alpha 0.05 only if it is perfect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats as _st

from .errors import InputError

_EXACT_SPEARMAN_MAX_N = 9  # 9! = 362,880 permutations: exact below this, asymptotic above


def _vector(x, name: str, *, min_n: int = 2) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size < min_n:
        raise InputError(f"{name} needs at least {min_n} values, got {a.size}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} holds non-finite values: {a[~np.isfinite(a)][:5].tolist()}")
    return a


def _alpha(alpha: float) -> float:
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must lie in (0, 0.5), got {alpha}")
    return float(alpha)


class BootstrapCI(tuple):
    """``(lo, hi)`` that also knows how it was made (unpacks as a pair)."""

    def __new__(cls, lo: float, hi: float, *, alpha: float, n_boot: int, seed: int, method: str, estimate: float):
        self = super().__new__(cls, (float(lo), float(hi)))
        self.alpha, self.n_boot, self.seed, self.method, self.estimate = alpha, n_boot, seed, method, float(estimate)
        self.test = f"{method} bootstrap ({n_boot} resamples, seed {seed})"
        return self

    @property
    def lo(self) -> float:
        return self[0]

    @property
    def hi(self) -> float:
        return self[1]

    def describe(self) -> str:
        return f"{self.estimate:.4g}, {100 * (1 - self.alpha):.0f}% CI [{self.lo:.4g}, {self.hi:.4g}] ({self.test})"


def bootstrap_ci(
    x, stat: Callable = np.mean, *, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0, method: str = "percentile"
) -> BootstrapCI:
    """Two-sided (1 - alpha) bootstrap CI of ``stat(x)``; the same seed gives the same interval.
    ``stat`` must accept ``axis=`` (numpy reductions do). ``method``: percentile, basic or BCa."""
    a = _vector(x, "bootstrap_ci: x")
    alpha = _alpha(alpha)
    if method not in ("percentile", "basic", "BCa"):
        raise InputError(f"bootstrap_ci: method must be percentile, basic or BCa, got {method!r}")
    estimate = float(stat(a, axis=-1))
    if np.all(a == a[0]):  # every resample equals the sample: the interval is the point
        return BootstrapCI(estimate, estimate, alpha=alpha, n_boot=n_boot, seed=seed, method=method, estimate=estimate)
    res = _st.bootstrap(
        (a,), stat, n_resamples=n_boot, confidence_level=1 - alpha, method=method, rng=np.random.default_rng(seed), vectorized=True
    )
    return BootstrapCI(res.confidence_interval.low, res.confidence_interval.high, alpha=alpha, n_boot=n_boot, seed=seed, method=method, estimate=estimate)


@dataclass(frozen=True)
class TrendResult:
    test: str
    alpha: float
    statistic: float  # Spearman rho or Kendall tau
    p: float  # one-sided in the direction of ``alternative``
    n: int
    alternative: str

    @property
    def significant(self) -> bool:
        return self.p < self.alpha

    def describe(self) -> str:
        return f"{self.test}: statistic {self.statistic:+.3f}, p = {self.p:.3g} (n = {self.n}, alpha {self.alpha})"


def trend_test(xs, ys, *, method: str = "spearman", alternative: str = "decreasing", alpha: float = 0.05) -> TrendResult:
    """One-sided test that ``ys`` falls (or rises) with ``xs``: Spearman rho (exact permutation
    p-value for n <= 9, else the t approximation) or Kendall tau (scipy's exact or asymptotic)."""
    x, y = _vector(xs, "trend_test: xs", min_n=3), _vector(ys, "trend_test: ys", min_n=3)
    if x.size != y.size:
        raise InputError(f"trend_test: xs and ys differ in length ({x.size} vs {y.size})")
    alpha = _alpha(alpha)
    sides = {"decreasing": "less", "increasing": "greater", "two-sided": "two-sided"}
    if alternative not in sides:
        raise InputError(f"trend_test: alternative must be one of {list(sides)}, got {alternative!r}")
    side = sides[alternative]
    if np.all(x == x[0]) or np.all(y == y[0]):
        raise InputError("trend_test: xs or ys are all equal; no trend can be tested")
    if method == "spearman":
        if x.size <= _EXACT_SPEARMAN_MAX_N:
            ry = _st.rankdata(y)
            ry = ry - ry.mean()

            def rho(a, axis=-1):  # Spearman rho of every permutation of x against the fixed y, vectorised
                ra = _st.rankdata(a, axis=axis)
                ra = ra - ra.mean(axis=axis, keepdims=True)
                return (ra * ry).sum(axis=axis) / np.sqrt((ra**2).sum(axis=axis) * (ry**2).sum())

            res = _st.permutation_test((x,), rho, permutation_type="pairings", n_resamples=np.inf, alternative=side, vectorized=True)
            statistic, p, how = float(res.statistic), float(res.pvalue), "exact permutation"
        else:
            res = _st.spearmanr(x, y, alternative=side)
            statistic, p, how = float(res.statistic), float(res.pvalue), "t approximation"
        name = f"Spearman rank correlation, {alternative} ({how})"
    elif method == "kendall":
        res = _st.kendalltau(x, y, alternative=side)
        statistic, p = float(res.statistic), float(res.pvalue)
        name = f"Kendall tau-b, {alternative}"
    else:
        raise InputError(f"trend_test: method must be 'spearman' or 'kendall', got {method!r}")
    return TrendResult(test=name, alpha=alpha, statistic=statistic, p=p, n=int(x.size), alternative=alternative)


@dataclass(frozen=True)
class TostResult:
    test: str
    alpha: float
    p: float  # max of the two one-sided p-values: equivalent iff p < alpha
    p_lower: float  # H0: difference <= -margin
    p_upper: float  # H0: difference >= +margin
    difference: float  # mean(a - b) (paired) or mean(a) - mean(b)
    ci: tuple[float, float]  # (1 - 2 alpha) CI of the difference; inside (-margin, margin) iff equivalent
    margin: float
    n: tuple[int, int]

    @property
    def equivalent(self) -> bool:
        return self.p < self.alpha

    @property
    def significant(self) -> bool:
        return self.equivalent

    def describe(self) -> str:
        return (
            f"{self.test}: difference {self.difference:+.4g}, {100 * (1 - 2 * self.alpha):.0f}% CI [{self.ci[0]:.4g}, {self.ci[1]:.4g}] "
            f"vs margin ±{self.margin:.4g}, p = {self.p:.3g} (alpha {self.alpha})"
        )


def tost(a, b, *, margin: float, alpha: float = 0.05, paired: bool = False) -> TostResult:
    """Two one-sided t-tests (Schuirmann): is the mean difference inside (-margin, +margin)?
    Paired: one-sample t on a - b; unpaired: Welch's t (no equal-variance assumption)."""
    x, y = _vector(a, "tost: a"), _vector(b, "tost: b")
    alpha = _alpha(alpha)
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin > 0):
        raise InputError(f"tost: margin must be a positive number, got {margin!r}")
    if paired:
        if x.size != y.size:
            raise InputError(f"tost: paired samples differ in length ({x.size} vs {y.size})")
        d = x - y
        lower = _st.ttest_1samp(d, -margin, alternative="greater")
        upper = _st.ttest_1samp(d, margin, alternative="less")
        diff = float(d.mean())
        se = float(d.std(ddof=1) / math.sqrt(d.size))
        dof = d.size - 1
        name = "TOST, paired t"
    else:
        lower = _st.ttest_ind(x + margin, y, equal_var=False, alternative="greater")
        upper = _st.ttest_ind(x - margin, y, equal_var=False, alternative="less")
        diff = float(x.mean() - y.mean())
        va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
        se = float(math.sqrt(va + vb))
        dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1)) if va + vb > 0 else x.size + y.size - 2
        name = "TOST, Welch t"
    if se == 0:
        # no spread: the difference is known exactly, equivalent iff it lies inside the margin
        inside = abs(diff) < margin
        p_l = p_u = 0.0 if inside else 1.0
        ci = (diff, diff)
    else:
        p_l, p_u = float(lower.pvalue), float(upper.pvalue)
        t = float(_st.t.ppf(1 - alpha, dof))
        ci = (diff - t * se, diff + t * se)
    return TostResult(test=name, alpha=alpha, p=max(p_l, p_u), p_lower=p_l, p_upper=p_u, difference=diff, ci=ci, margin=float(margin), n=(int(x.size), int(y.size)))


@dataclass(frozen=True)
class PairedResult:
    test: str
    alpha: float
    statistic: float
    p: float
    n: int
    alternative: str  # about a - b: "greater" means a tends to exceed b
    mean_difference: float

    @property
    def significant(self) -> bool:
        return self.p < self.alpha

    def describe(self) -> str:
        return f"{self.test}, {self.alternative}: mean difference {self.mean_difference:+.4g}, statistic {self.statistic:.4g}, p = {self.p:.3g} (n = {self.n}, alpha {self.alpha})"


def paired_test(a, b, *, alternative: str = "two-sided", method: str = "wilcoxon", alpha: float = 0.05) -> PairedResult:
    """Paired test across seeds of a against b: Wilcoxon signed-rank (exact for small n without ties)
    or paired t. ``alternative`` is about a - b, as in scipy ("greater": a > b)."""
    x, y = _vector(a, "paired_test: a"), _vector(b, "paired_test: b")
    alpha = _alpha(alpha)
    if x.size != y.size:
        raise InputError(f"paired_test: samples differ in length ({x.size} vs {y.size})")
    if alternative not in ("two-sided", "less", "greater"):
        raise InputError(f"paired_test: alternative must be two-sided, less or greater, got {alternative!r}")
    d = x - y
    if np.all(d == 0):
        raise InputError("paired_test: a and b are identical; there is nothing to test")
    if method == "wilcoxon":
        res = _st.wilcoxon(x, y, alternative=alternative)
        name = "Wilcoxon signed-rank"
    elif method == "t":
        res = _st.ttest_rel(x, y, alternative=alternative)
        name = "paired t"
    else:
        raise InputError(f"paired_test: method must be 'wilcoxon' or 't', got {method!r}")
    return PairedResult(test=name, alpha=alpha, statistic=float(res.statistic), p=float(res.pvalue), n=int(d.size), alternative=alternative, mean_difference=float(d.mean()))
