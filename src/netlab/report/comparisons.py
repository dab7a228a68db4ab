"""The comparisons a report's conclusion rests on, paired over the seeds both sides ran.

best_against_rest(): the configuration with the best mean validation accuracy against every other
one in its scope (a dataset, or the whole study): each a paired test, Holm-corrected for the K − 1
comparisons. robust_rows(): the same scope seen robustly (IQM, the probability that the leader
beats each other configuration, the signed-rank test); across_datasets(): each configuration's IQM
over every dataset at once (stratified bootstrap). against_baseline(): every configuration
against the study's baseline (the same configuration with the baseline's values, e.g. l2=0),
Holm-corrected for the comparisons made.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import robust, stats
from .study import DATASET, REPLICATE, SEED

MISSING = "\0missing"  # stands for a missing (NaN) key value in a configuration's identity


def identity(values):
    """A configuration's key values as a hashable tuple (missing values made equal)."""
    return tuple(MISSING if pd.isna(v) else v for v in values)


def scores_by_config(runs, keys, metric="val_accuracy"):
    """{identity: {replicate: score}} of every configuration's finished runs, in one pass (the
    replicate: the seed, or (data_seed, seed) when the study crosses them)."""
    finished = runs[runs["state"].eq("finished") & runs[metric].notna()]
    found = {}
    columns = [finished[k] for k in keys]
    pairs = finished[REPLICATE] if REPLICATE in finished else finished[SEED]
    for *values, seed, score in zip(*columns, pairs, finished[metric], strict=True):
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
    scores: tuple = ({}, {})  # ({seed: score} of config, of other)


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
    found = []
    for _, other in done.iloc[1:].iterrows():
        theirs = scores.get(identity(other[keys]), {})
        found.append(Comparison(best, other, stats.paired(mine, theirs), scores=(mine, theirs)))
    tested = [c for c in found if c.paired.n >= 2]
    for c, p in zip(tested, stats.holm([c.paired.p for c in tested]), strict=True):
        c.p_holm = p
    return found


@dataclass
class Lead:
    """A scope's leader and how its comparison with the runner-up came out (runner: None when
    fewer than two configurations finished a run)."""

    scope: object  # the dataset's name, or None
    inner: list  # the keys that vary within the scope
    best: pd.Series
    runner: Comparison | None
    k: int  # configurations with finished runs

    @property
    def p(self):
        """The runner-up comparison's p-value, Holm-corrected when K > 2 (NaN when untested)."""
        if self.runner is None or self.runner.paired.n < 2:
            return float("nan")
        return self.runner.p_holm if self.k > 2 else self.runner.paired.p

    @property
    def separated(self):
        """Whether the data separate the leader from the runner-up (as the conclusion says)."""
        return self.p < stats.ALPHA


def leads(runs, keys, agg):
    """[Lead] of every scope that has a finished run, in the conclusion's order."""
    found = []
    for name, rows, inner in scopes(agg, keys):
        done = rows[rows["n"] > 0]
        if done.empty:
            continue
        compared = best_against_rest(runs, keys, rows)
        found.append(Lead(name, inner, done.iloc[0], compared[0] if compared else None,
                          len(done)))
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


def robust_rows(runs, keys, rows):
    """Each configuration of one scope with finished runs (aggregate rows, best first) and its
    robust view: iqm (robust.Estimate), median and, for all but the leader, beaten (P(the leader
    beats it on a shared seed), an Estimate), signed (robust.SignedRank of leader − it) and
    signed_holm (its p Holm-corrected over the comparisons the test could make). A DataFrame."""
    done = rows[rows["n"] > 0]
    if done.empty:
        return pd.DataFrame()
    scores = scores_by_config(runs, keys)
    leader = scores.get(identity(done.iloc[0][keys]), {})
    found = []
    for i, (_, config) in enumerate(done.iterrows()):
        mine = scores.get(identity(config[keys]), {})
        values = np.array(list(mine.values()), dtype=float)
        values = values[np.isfinite(values)]
        found.append({**config.to_dict(), "iqm": robust.iqm_estimate(values),
                      "median": float(np.median(values)) if len(values) else float("nan"),
                      "beaten": robust.improvement(leader, mine) if i else None,
                      "signed": robust.wilcoxon(leader, mine) if i else None})
    table = pd.DataFrame(found)
    table["signed_holm"] = float("nan")
    tested = [i for i, s in enumerate(table["signed"]) if s is not None and s.n > 0]
    if tested:
        table.loc[tested, "signed_holm"] = stats.holm([table["signed"][i].p for i in tested])
    return table


def robust_scopes(runs, keys, agg):
    """{scope name (a dataset, or None): robust_rows of its configurations}."""
    return {name: robust_rows(runs, keys, rows) for name, rows, _ in scopes(agg, keys)}


def across_datasets(runs, keys, metric="val_accuracy"):
    """Each configuration of the keys other than the dataset, over every dataset at once: its IQM
    with the stratified bootstrap interval (each dataset's runs resampled within it), best first.
    A DataFrame (inner keys, iqm, datasets, runs); empty unless several datasets were swept."""
    inner = [k for k in keys if k != DATASET]
    finished = runs[runs["state"].eq("finished") & runs[metric].notna()]
    if DATASET not in keys or not inner or finished[DATASET].nunique() < 2:
        return pd.DataFrame()
    found = []
    for values, group in finished.groupby(inner, dropna=False, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        strata = [g[metric].to_numpy(dtype=float) for _, g in group.groupby(DATASET, sort=True)]
        found.append({**dict(zip(inner, values, strict=True)),
                      "iqm": robust.stratified_iqm(strata), "datasets": len(strata),
                      "runs": len(group)})
    table = pd.DataFrame(found)
    order = np.argsort([-e.value for e in table["iqm"]], kind="stable")
    return table.iloc[order].reset_index(drop=True)
