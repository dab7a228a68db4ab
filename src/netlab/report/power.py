"""How many seeds: what a study's own spread lets it detect (Colas et al. 2018, "How many random
seeds?"), from the power of the paired t-test the report uses (statsmodels' TTestPower, whose
t-test of one sample is the paired test of the differences).

detectable(): the smallest true difference a paired comparison over n seeds detects with 80 %
power at α = 0.05 (two-sided), given the standard deviation of the per-seed differences.
seeds_needed(): how many seeds detect a named difference with that power.
"""

import math
from dataclasses import dataclass

import numpy as np

# the levels every interval, test and power figure of a report uses (here, not in stats.py, so
# the command line reads them without loading scipy)
CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE

POWER = 0.8
DEFAULT_EFFECT = 0.01  # one point of accuracy: the difference asked about when none is named
MAX_SEEDS = 100_000  # beyond this, "more seeds than anyone runs"


def _power():
    from statsmodels.stats.power import TTestPower

    return TTestPower()


def detectable(sd, n, alpha=ALPHA, power=POWER):
    """The smallest true mean difference a two-sided paired t-test over n seeds detects with the
    given power, differences of standard deviation sd (NaN with fewer than two seeds or no sd)."""
    if n < 2 or not math.isfinite(sd) or sd <= 0:
        return math.nan
    d = _power().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power,
                             alternative="two-sided")
    return float(np.ravel(d)[0]) * sd


def seeds_needed(effect, sd, alpha=ALPHA, power=POWER):
    """The fewest seeds with which a two-sided paired t-test detects a true difference `effect`
    with the given power, differences of standard deviation sd (NaN without a usable sd)."""
    if not math.isfinite(sd) or sd <= 0 or not effect > 0:
        return math.nan
    size = effect / sd

    def reached(n):
        found = _power().power(effect_size=size, nobs=n, alpha=alpha, alternative="two-sided")
        return not found < power  # NaN: statsmodels' answer for a vast effect size, reached

    if reached(2):
        return 2
    low, high = 2, 4  # power grows with n: double until reached, then bisect
    while not reached(high):
        if high >= MAX_SEEDS:
            return math.inf
        low, high = high, min(2 * high, MAX_SEEDS)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return high


@dataclass(frozen=True)
class Sensitivity:
    """What a paired comparison over n seeds can detect: the differences' sd, the smallest
    difference detectable with 80 % power, and the seeds needed for `effect`."""

    n: int
    sd: float
    detectable: float
    effect: float
    needed: float


def sensitivity(a, b, effect=DEFAULT_EFFECT):
    """The Sensitivity of comparing scores a and b ({seed: score}) over the seeds both ran."""
    from .stats import differences, shared

    x, y = shared(a, b)
    n = len(x)
    sd = float(np.std(differences(x, y), ddof=1)) if n >= 2 else math.nan
    return Sensitivity(n, sd, detectable(sd, n), effect, seeds_needed(effect, sd))
