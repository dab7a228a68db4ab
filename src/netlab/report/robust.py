"""Robust summaries over seeds, for a reader who does not take a mean on trust (Agarwal et al.
2021, "Deep RL at the edge of the statistical precipice"), all from scipy.stats:

iqm(): the interquartile mean, the mean of the middle half of the seeds: one seed that failed to
train moves it less than the mean, and it wastes less of the data than the median.
bootstrap(): a 95 % bootstrap interval of any statistic (BCa, which corrects the percentile
interval's bias and skew, where it applies; the percentile interval where BCa cannot be computed;
none when the data do not vary). Several samples are resampled each within itself: with one sample
per dataset, that is the stratified bootstrap.
improvement(): the probability that one configuration beats another on a seed both ran (a tie
counts half), with its interval. profile(): a performance profile over several datasets, the
fraction of runs above each threshold, with its stratified bootstrap band. wilcoxon(): the exact
signed-rank test of paired scores, and whether it can reach p < 0.05 at all with that few pairs.

Every resampling draws from a fixed seed, so a report is the same page each time it is made.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .stats import ALPHA, CONFIDENCE, differences, shared

RESAMPLES = 9999
RNG_SEED = 0  # the bootstrap's own seed: the same runs give the same interval

BCA = "BCa bootstrap"
PERCENTILE = "percentile bootstrap"
EXACT = "exact Clopper–Pearson"


@dataclass(frozen=True)
class Estimate:
    """A statistic with its 95 % interval and how the interval was made ('' when there is none)."""

    value: float
    low: float = math.nan
    high: float = math.nan
    method: str = ""


def iqm(x, axis=-1):
    """The interquartile mean, the lowest and highest quarter cut: (…, n) -> (…)."""
    return stats.trim_mean(x, 0.25, axis=axis)


def _finite(values):
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def bootstrap(samples, statistic):
    """(low, high, method): the 95 % bootstrap interval of statistic(*samples, axis=-1), each
    sample resampled within itself; BCa, else the percentile interval, else none (NaN, '')."""
    samples = tuple(np.asarray(s, dtype=float) for s in samples)
    if any(len(s) < 2 for s in samples) or all(np.ptp(s) == 0 for s in samples):
        return math.nan, math.nan, ""
    for method, name in (("BCa", BCA), ("percentile", PERCENTILE)):
        with warnings.catch_warnings():  # a degenerate resampling is answered by the next method
            warnings.simplefilter("ignore")
            found = stats.bootstrap(samples, statistic, n_resamples=RESAMPLES, vectorized=True,
                                    confidence_level=CONFIDENCE, method=method,
                                    rng=np.random.default_rng(RNG_SEED)).confidence_interval
        if np.isfinite(found.low) and np.isfinite(found.high):
            return float(found.low), float(found.high), name
    return math.nan, math.nan, ""


def iqm_estimate(values):
    """The IQM of the finite values with its bootstrap interval (the value alone when there is no
    spread or only one value)."""
    x = _finite(values)
    if len(x) == 0:
        return Estimate(math.nan)
    value = float(iqm(x))
    if len(x) >= 2 and np.ptp(x) == 0:
        return Estimate(value, value, value, "no spread")
    return Estimate(value, *bootstrap((x,), iqm))


def _pooled_iqm(*samples, axis=-1):
    return iqm(np.concatenate(samples, axis=axis), axis=axis)


def stratified_iqm(strata):
    """The IQM of every finite value of several strata (e.g. datasets) together, with the
    stratified bootstrap interval: each stratum resampled within itself, as many runs each time."""
    strata = [x for x in (_finite(s) for s in strata) if len(x)]
    if not strata:
        return Estimate(math.nan)
    value = float(_pooled_iqm(*strata))
    if all(np.ptp(s) == 0 for s in strata) and len({float(s[0]) for s in strata}) == 1:
        return Estimate(value, value, value, "no spread")
    return Estimate(value, *bootstrap(strata, _pooled_iqm))


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def improvement(a, b):
    """P(a beats b on a seed both ran), a tie counting half, with its 95 % interval: bootstrap over
    the seeds; when every seed gives the same outcome the bootstrap cannot vary, so the exact
    Clopper–Pearson interval of that many wins in that many seeds."""
    x, y = shared(a, b)
    n = len(x)
    if n == 0:
        return Estimate(math.nan)
    wins = (x > y) + 0.5 * (x == y)
    value = float(wins.mean())
    if n < 2:
        return Estimate(value)
    if np.ptp(wins) == 0:
        if value == 0.5:  # every seed a tie: the two score the same
            return Estimate(value, value, value, "identical on every seed")
        won = stats.binomtest(int(wins.sum()), n).proportion_ci(CONFIDENCE, method="exact")
        return Estimate(value, float(won.low), float(won.high), EXACT)
    return Estimate(value, *bootstrap((wins,), _mean))


@dataclass(frozen=True)
class SignedRank:
    """The Wilcoxon signed-rank test of paired scores: its p-value, the number of pairs that differ,
    and the smallest p-value the test could give with that many (2 / 2ⁿ, exact test)."""

    p: float
    n: int
    floor: float
    method: str

    @property
    def can_reach(self):
        """Whether p < 0.05 is within the test's reach with this few differing pairs."""
        return self.floor < ALPHA


EXACT_UP_TO = 16  # pairs: the exact test weighs every sign flip (2ⁿ of them, 65,536 at 16)


def wilcoxon(a, b):
    """The two-sided Wilcoxon signed-rank test of a − b over the seeds both ran: exact (every
    sign flip weighed, so tied differences are handled) up to EXACT_UP_TO differing pairs, else
    scipy's normal approximation; pairs with no difference are dropped, as Wilcoxon did."""
    d = differences(*shared(a, b))  # equal differences in points rank as ties
    d = d[d != 0]
    n = len(d)
    floor = 2.0 / 2**n if n else 1.0
    if n == 0:
        return SignedRank(math.nan, 0, floor, "")
    if n == 1:  # both signs of one difference are as extreme: p = 1 (scipy wants two)
        return SignedRank(1.0, 1, floor, "exact")
    if n > EXACT_UP_TO:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.wilcoxon(d, alternative="two-sided", method="approx")
        return SignedRank(float(result.pvalue), n, floor, "normal approximation")
    # every sign flip of the differences, their midranks kept: scipy's permutation test with the
    # signed-rank statistic (the sum of the ranks of positive differences), as
    # stats.wilcoxon(d, method=PermutationMethod()) computes it, but vectorised (~20× faster)
    ranks = stats.rankdata(np.abs(d))
    result = stats.permutation_test(
        (d,), lambda flipped, axis: np.sum(np.where(flipped > 0, ranks, 0.0), axis=axis),
        permutation_type="samples", vectorized=True, n_resamples=np.inf,
        alternative="two-sided")
    return SignedRank(float(result.pvalue), n, floor, "exact")


def profile(strata, thresholds):
    """A performance profile: at each threshold τ, the fraction of runs whose score exceeds τ,
    each stratum (a dataset) weighing the same, (n_thresholds,); with its 95 % band by the
    stratified bootstrap (each stratum's runs resampled within it; percentile, as BCa is
    degenerate for a fraction that steps). Returns (fraction, low, high)."""
    strata = [x for x in (_finite(s) for s in strata) if len(x)]
    thresholds = np.asarray(thresholds, dtype=float)

    def fraction(*samples, axis=-1):
        above = np.mean([np.mean(s[..., None] > thresholds, axis=-2) for s in samples], axis=0)
        return np.moveaxis(above, -1, 0)  # scipy wants the statistic's outputs first

    value = fraction(*strata)
    if any(len(s) < 2 for s in strata) or all(np.ptp(s) == 0 for s in strata):
        return value, np.full(value.shape, math.nan), np.full(value.shape, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        band = stats.bootstrap(strata, fraction, n_resamples=RESAMPLES, vectorized=True,
                               confidence_level=CONFIDENCE, method="percentile",
                               rng=np.random.default_rng(RNG_SEED)).confidence_interval
    return value, np.asarray(band.low, dtype=float), np.asarray(band.high, dtype=float)
