"""The statistics of a report, all from scipy.stats (and Holm's correction from statsmodels).

interval(): mean, standard deviation, n and the 95 % confidence interval of the mean (Student's t).
aggregate(): that for every configuration (the runs that differ only in seed).
paired(): two configurations compared over the seeds both ran (paired t-test, scipy.stats.ttest_rel;
the sign test, scipy.stats.binomtest, when every seed gives the same difference). holm(): p-values
corrected for several comparisons. band(): a curve's mean and interval at every epoch.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .power import ALPHA, CONFIDENCE
from .study import SEED


@dataclass(frozen=True)
class Interval:
    """A sample's mean with its spread and the 95 % confidence interval of the mean."""

    mean: float
    std: float
    n: int
    low: float
    high: float

    @property
    def half(self):
        """The interval's half-width (NaN with fewer than two values)."""
        return (self.high - self.low) / 2


def intervals(mean, sem, n):
    """(low, high) arrays: the Student's t 95 % interval of each mean given its standard error and
    n (NaN with fewer than two values; the mean itself when the values do not vary)."""
    mean, sem, n = (np.asarray(a, dtype=float) for a in (mean, sem, n))
    low, high = np.full(mean.shape, math.nan), np.full(mean.shape, math.nan)
    several = n >= 2
    still = several & (sem == 0)
    low[still], high[still] = mean[still], mean[still]
    spread = several & (sem > 0)
    if spread.any():
        low[spread], high[spread] = stats.t.interval(CONFIDENCE, n[spread] - 1, loc=mean[spread],
                                                     scale=sem[spread])
    return low, high


def interval(values):
    """Mean, sample std, n and the Student's t 95 % interval of the finite values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, math.nan)
    mean = float(np.mean(x))
    if n == 1:
        return Interval(mean, math.nan, 1, math.nan, math.nan)
    low, high = intervals([mean], [stats.sem(x)], [n])
    return Interval(mean, float(np.std(x, ddof=1)), n, float(low[0]), float(high[0]))


SUMMARISED = {"val": "val_accuracy", "test": "test_accuracy", "train": "train_accuracy",
              "gap": "gap"}


def aggregate(runs, keys, measures=None):
    """One row per configuration (keys without seed): for val, test, train accuracy and the
    train − validation gap (and measures {name: column}, if given): <name>_mean, _std, _low,
    _high, _half over its finished runs; n (finished runs), n_runs (all runs), epochs_mean,
    time_mean, best_run (its best finished run's id) and seeds. Best mean validation accuracy
    first."""
    finished = runs["state"].eq("finished")
    frame = runs.assign(gap=runs["train_accuracy"] - runs["val_accuracy"], _finished=finished,
                        _best=runs["run_id"].where(finished & runs["val_accuracy"].notna()),
                        _one=0)
    summarised = {**SUMMARISED, **(measures or {})}
    for column in summarised.values():
        frame[column] = pd.to_numeric(frame[column], errors="coerce").where(finished)
    frame = frame.sort_values("val_accuracy", ascending=False, na_position="last", kind="stable")
    grouped = frame.groupby(list(keys) or "_one", dropna=False, sort=False)
    table = grouped.agg(n=("_finished", "sum"), n_runs=("run_id", "size"),
                        epochs_mean=("epochs_run", "mean"), time_mean=("train_time_s", "mean"),
                        best_run=("_best", "first"))
    table["seeds"] = (grouped[SEED].agg(lambda s: tuple(sorted(s.dropna().tolist())))
                      if SEED in frame else [()] * len(table))
    for name, column in summarised.items():
        values = grouped[column]
        mean, count = values.mean(), values.count()
        low, high = intervals(mean, values.sem(), count)
        table[f"{name}_mean"], table[f"{name}_std"] = mean, values.std()
        table[f"{name}_low"], table[f"{name}_high"] = low, high
        table[f"{name}_half"] = (high - low) / 2
    table["n"] = table["n"].astype(int)
    table["best_run"] = table["best_run"].where(table["best_run"].notna(), None)
    table = table.reset_index().drop(columns="_one", errors="ignore")
    return table.sort_values(["val_mean", "test_mean"], ascending=False, na_position="last",
                             kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Paired:
    """A difference a − b over shared seeds: its mean, 95 % interval, p-value and test."""

    n: int
    mean: float
    low: float
    high: float
    p: float
    test: str  # the test's name, '' when there is none (fewer than two shared seeds)

    @property
    def separated(self):
        """Whether the interval excludes 0 at the 5 % level (before any correction)."""
        return self.n >= 2 and self.p < ALPHA


def above(values, level):
    """One-sided p-value that the mean of values exceeds level (one-sample t-test,
    scipy.stats.ttest_1samp); without spread, 0 if every value is above level, else 1."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.nan
    if np.ptp(x) == 0:
        return 0.0 if x[0] > level else 1.0
    return float(stats.ttest_1samp(x, level, alternative="greater").pvalue)


def differences(x, y):
    """x − y rounded to 12 decimals: accuracies are fractions of the validation points, and the
    same difference in points must be the same number, not differ in a float's last bit (which
    would give a constant difference a spread, and a t-test p of 1e-31)."""
    return np.round(np.asarray(x, dtype=float) - np.asarray(y, dtype=float), 12)


def shared(a, b):
    """(x, y): the finite scores of {seed: score} dicts a and b on the seeds both have."""
    seeds = sorted(s for s in set(a) & set(b)
                   if math.isfinite(float(a[s])) and math.isfinite(float(b[s])))
    return (np.array([a[s] for s in seeds], dtype=float),
            np.array([b[s] for s in seeds], dtype=float))


def paired(a, b):
    """Compare scores a and b ({seed: score}) over their shared seeds: a − b."""
    x, y = shared(a, b)
    d = differences(x, y)
    n = len(d)
    if n == 0:
        return Paired(0, math.nan, math.nan, math.nan, math.nan, "")
    mean = float(np.mean(d))
    if n == 1:
        return Paired(1, mean, math.nan, math.nan, math.nan, "")
    if np.ptp(d) == 0:  # every seed gives the same difference: no spread for a t-test
        if mean == 0:
            return Paired(n, 0.0, 0.0, 0.0, 1.0, "identical on every seed")
        p = stats.binomtest(int((d > 0).sum()), n, 0.5).pvalue
        return Paired(n, mean, mean, mean, float(p), "sign test")
    result = stats.ttest_rel(x, y)
    ci = result.confidence_interval(CONFIDENCE)
    return Paired(n, mean, float(ci.low), float(ci.high), float(result.pvalue), "paired t-test")


def holm(pvalues):
    """Holm's step-down correction of a list of p-values (NaN stays NaN)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), math.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=ALPHA, method="holm")[1]
    return out.tolist()


def band(histories, column):
    """Mean and 95 % interval of a per-epoch column over several runs' histories.

    histories: DataFrames with a step column; returns a DataFrame: step, mean, low, high, n.
    """
    found = [h.set_index("step")[column].rename(i) for i, h in enumerate(histories) if column in h]
    table = pd.concat(found, axis=1) if found else pd.DataFrame()
    if table.empty:
        return pd.DataFrame(columns=["step", "mean", "low", "high", "n"])
    values = table.to_numpy(dtype=float)
    n = np.isfinite(values).sum(axis=1)
    frame = pd.DataFrame({"step": table.index.to_numpy(), "n": n})
    frame["mean"] = table.mean(axis=1, skipna=True).to_numpy()
    low, high = intervals(frame["mean"], table.sem(axis=1, skipna=True), n)
    frame["low"], frame["high"] = low, high
    return frame.sort_values("step").reset_index(drop=True)


def log_interval(values):
    """The interval of positive values on a log scale (the geometric mean and its interval)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    summary = interval(np.log10(x))
    return Interval(10**summary.mean, summary.std, summary.n, 10**summary.low, 10**summary.high)
