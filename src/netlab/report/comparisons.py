"""The comparisons a report's conclusion rests on, paired over the seeds both sides ran.

best_against_rest(): the configuration with the best mean validation accuracy against every other
one in its scope (a dataset, or the whole study): each a paired test, Holm-corrected for the K − 1
comparisons. against_baseline(): every configuration against the study's baseline (the same
configuration with the baseline's values, e.g. l2=0), Holm-corrected for the comparisons made.
"""

from dataclasses import dataclass

import pandas as pd

from . import stats
from .study import DATASET, SEED

MISSING = "\0missing"  # stands for a missing (NaN) key value in a configuration's identity


def identity(values):
    """A configuration's key values as a hashable tuple (missing values made equal)."""
    return tuple(MISSING if pd.isna(v) else v for v in values)


def scores_by_config(runs, keys, metric="val_accuracy"):
    """{identity: {seed: score}} of every configuration's finished runs, in one pass."""
    finished = runs[runs["state"].eq("finished") & runs[metric].notna()]
    found = {}
    columns = [finished[k] for k in keys]
    for *values, seed, score in zip(*columns, finished[SEED], finished[metric], strict=True):
        found.setdefault(identity(values), {})[seed] = score
    return found


def rows_of(runs, keys, config):
    """The runs of one configuration (a row of the aggregate table), NaN keys matching NaN."""
    mask = pd.Series(True, index=runs.index)
    for key in keys:
        value = config[key]
        mask &= runs[key].isna() if pd.isna(value) else runs[key].eq(value)
    return runs[mask]


@dataclass
class Comparison:
    """One configuration against another: the rows compared and their paired difference."""

    config: pd.Series
    other: pd.Series
    paired: stats.Paired
    p_holm: float = float("nan")


def scopes(agg, keys):
    """[(dataset name or None, aggregate rows, keys that vary within)]: one scope per dataset when
    datasets were swept (configurations on different data are not compared), else one."""
    if DATASET not in keys:
        return [(None, agg, list(keys))]
    inner = [k for k in keys if k != DATASET]
    return [(name, agg[agg[DATASET].eq(name)], inner) for name in sorted(agg[DATASET].unique())]


def best_against_rest(runs, keys, rows):
    """The best row (by mean validation accuracy) against each other row with finished runs.

    rows: aggregate rows of one scope, best first. Returns [Comparison], runner-up first; p_holm
    corrects for every comparison that could be tested (two or more shared seeds).
    """
    done = rows[rows["n"] > 0]
    if len(done) < 2:
        return []
    best = done.iloc[0]
    scores = scores_by_config(runs, keys)
    mine = scores.get(identity(best[keys]), {})
    found = [Comparison(best, other, stats.paired(mine, scores.get(identity(other[keys]), {})))
             for _, other in done.iloc[1:].iterrows()]
    tested = [c for c in found if c.paired.n >= 2]
    for c, p in zip(tested, stats.holm([c.paired.p for c in tested]), strict=True):
        c.p_holm = p
    return found


def matches(value, wanted):
    """Whether a config value equals a baseline value (numbers numerically, else as text)."""
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return str(value) == str(wanted)


def baseline_rows(agg, keys, baseline):
    """The aggregate rows that are the baseline (every baseline key at its value)."""
    mask = pd.Series(True, index=agg.index)
    for key, wanted in baseline.items():
        mask &= agg[key].map(lambda v, w=wanted: matches(v, w))
    return agg[mask]


def against_baseline(runs, keys, agg, baseline):
    """Every non-baseline configuration against its baseline partner (same other keys).

    Returns (table, problem): a DataFrame with one row per configuration — its keys, n, val and
    gap intervals, and the paired difference from the baseline (diff_mean, diff_low, diff_high,
    diff_n, p, p_holm, test) — or (None, why the comparison cannot be made).
    """
    missing = [k for k in baseline if k not in keys]
    if missing:
        return None, (f"the baseline names {', '.join(f'`{k}`' for k in missing)}, which the "
                      "runs did not sweep")
    base = baseline_rows(agg, keys, baseline)
    if base.empty:
        described = " ".join(f"{k}={v}" for k, v in baseline.items())
        return None, f"no configuration matches the baseline `{described}`"
    others = [k for k in keys if k not in baseline]
    scores = scores_by_config(runs, keys)
    found = []
    for _, config in agg.drop(index=base.index).iterrows():
        partner = base
        for key in others:
            partner = partner[partner[key].eq(config[key])
                              | (partner[key].isna() & pd.isna(config[key]))]
        if partner.empty:
            continue
        paired = stats.paired(scores.get(identity(config[keys]), {}),
                              scores.get(identity(partner.iloc[0][keys]), {}))
        found.append({**config.to_dict(), "diff_mean": paired.mean, "diff_low": paired.low,
                      "diff_high": paired.high, "diff_n": paired.n, "p": paired.p,
                      "test": paired.test, "base_gap": partner.iloc[0]["gap_mean"],
                      "base_val": partner.iloc[0]["val_mean"]})
    if not found:
        return None, "no configuration has a baseline partner with the same other values"
    table = pd.DataFrame(found)
    tested = table["diff_n"].ge(2)
    table["p_holm"] = float("nan")
    table.loc[tested, "p_holm"] = stats.holm(table.loc[tested, "p"].tolist())
    return table, None
