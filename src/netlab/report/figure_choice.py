"""Which figures a study gets, chosen from what it swept, and the tables they are drawn from.

- heatmap: validation accuracy over two swept keys (panels for the others), each cell the mean
  over seeds and the 95 % interval's half-width;
- accuracy_vs_<key>: validation accuracy against each numeric key with three or more values, the
  interval as a band, one line per combination of the other swept keys (never the best over them);
- learning_curves: the best configuration of each activation (or other small key), mean over its
  seeds with the band;
- performance_profile: with several datasets, each configuration's fraction of runs above every
  accuracy threshold, the datasets weighing alike, with stratified bootstrap bands.
Normalised configurations (a key that cannot matter, e.g. activation at depth 0) are drawn under
every value of that key.
"""

import itertools
import math

import numpy as np
import pandas as pd

from netlab.figures import study_plots
from netlab.figures.style import label

from . import stats
from .comparisons import rows_of
from .histories import histories
from .study import DATASET
from .text import overrides, sorted_values

GRID_MAX = 12  # a key with more distinct values than this is not a heatmap axis
MAX_CELLS = 12  # panels in one figure
MAX_LINES = 8  # lines in one panel
GROUP = "activation"
CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")


def spread_normalised(study, agg):
    """agg with each normalised configuration repeated under every value of the keys it ignores
    (for figures only: tables list it once)."""
    rows = []
    for _, row in agg.iterrows():
        free = [k for k in study.keys if k in study.normalised and pd.isna(row[k])]
        choices = [sorted_values(agg[k]) or [row[k]] for k in free]
        for values in itertools.product(*choices):
            rows.append({**row.to_dict(), **dict(zip(free, values, strict=True))})
    return pd.DataFrame(rows, columns=agg.columns) if rows else agg


def split(frame, keys):
    """[(panel title or None, rows)]: one panel per combination of keys' values present."""
    if not keys:
        return [(None, frame)]
    cells = []
    for values, rows in frame.groupby(keys, sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        title = " · ".join(label(v) if k == DATASET else f"{k} {label(v)}"
                           for k, v in zip(keys, values, strict=True))
        cells.append((title, rows))
    return cells


def is_grid(study):
    """Whether every swept key has few values (a grid, not a search like Optuna's)."""
    return all(study.runs[k].nunique() <= GRID_MAX for k in study.keys)


def heatmap(study, agg, save):
    """[(file, caption)]: validation accuracy over two keys, when two or more form a grid."""
    keys = study.keys
    if len(keys) < 2 or not is_grid(study):
        return []
    order = sorted(keys, key=lambda k: (k != DATASET, k != GROUP))
    panel_keys, (row_key, col_key) = order[:-2], order[-2:]
    if len(keys) == 2:
        row_key, col_key = keys
    table = spread_normalised(study, agg)
    cells = []
    for name, rows in split(table, panel_keys)[:MAX_CELLS]:
        index, columns = sorted_values(table[row_key]), sorted_values(table[col_key])

        def pivot(values, rows=rows, index=index, columns=columns):
            return rows.pivot_table(index=row_key, columns=col_key, values=values, aggfunc="first",
                                    dropna=False).reindex(index=index, columns=columns)

        runs = rows_in(study.runs, panel_keys, rows)
        bad = runs[runs["state"].ne("finished")]
        notes = (bad.pivot_table(index=row_key, columns=col_key, values="state",
                                 aggfunc=lambda s: "\n".join(sorted(set(s))))
                 .reindex(index=index, columns=columns) if len(bad) else None)
        cells.append((name, pivot("val_mean"), pivot("val_half") if study.seeded else None,
                      notes))
    what = "mean [95 % CI] over seeds" if study.seeded else "one run each"
    fig = study_plots.heatmap(cells, row_key, col_key,
                              f"{study.experiment}: validation accuracy ({what})")
    missing = any(c[1].isna().to_numpy().any() for c in cells)
    return [(save(fig, "heatmap"),
             f"Validation accuracy over {row_key} × {col_key} ({what}"
             + (f"; one panel per {' and '.join(panel_keys)}" if panel_keys else "") + ")."
             + (" A grey cell has no finished run; it names what happened to its runs."
                if missing else ""))]


def rows_in(runs, keys, rows):
    """The runs whose values of keys appear in rows (the runs of one panel)."""
    if not keys:
        return runs
    wanted = set(map(tuple, rows[keys].astype(str).to_numpy()))
    return runs[[tuple(v) in wanted for v in runs[keys].astype(str).to_numpy()]]


def lines_against(study, table, key, measure="val"):
    """[(panel, {line: DataFrame x, y, low, high})]: measure against key, one line per combination
    of the other swept keys; panels per dataset (and per the first other key when lines crowd)."""
    others = [k for k in study.keys if k not in (key, DATASET)]
    panel_keys = [DATASET] if DATASET in study.keys else []
    while others and table.groupby(others, dropna=False).ngroups > MAX_LINES:
        panel_keys.append(others.pop(0))
    cells = []
    for name, rows in split(table, panel_keys)[:MAX_CELLS]:
        series = {}
        for line, frame in (rows.groupby(others, sort=True, dropna=False) if others
                            else [("all", rows)]):
            line = line if isinstance(line, tuple) else (line,)
            title = (" ".join(label(v) if k == GROUP else f"{k}={label(v)}"
                              for k, v in zip(others, line, strict=True)) if others else
                     label(study.fixed.get(GROUP, "all")))
            series[title] = frame.rename(columns={
                key: "x", f"{measure}_mean": "y", f"{measure}_low": "low",
                f"{measure}_high": "high"})[["x", "y", "low", "high"]].dropna(subset=["y"])
        cells.append((name, series))
    return cells, others, panel_keys


def accuracy_against(study, agg, save):
    """[(file, caption)]: validation accuracy against each numeric key with three or more values."""
    figures = []
    for key in study.keys:
        values = study.runs[key].dropna()
        if not pd.api.types.is_numeric_dtype(values) or values.nunique() < 3:
            continue
        if is_grid(study):
            cells, others, panel_keys = lines_against(study, spread_normalised(study, agg), key)
            points = False
        else:  # a search: every run is one point, coloured by activation
            runs = study.runs[study.runs["state"].eq("finished")]
            others, panel_keys = ([GROUP] if GROUP in study.keys else []), []
            groups = runs.groupby(GROUP, sort=True) if others else [("all", runs)]
            cells = [(None, {label(v): pd.DataFrame({"x": f[key], "y": f["val_accuracy"],
                                                     "low": float("nan"), "high": float("nan")})
                             for v, f in groups})]
            points = True
        fig = study_plots.against(cells, key, "validation accuracy",
                                  f"{study.experiment}: validation accuracy against {key}",
                                  points=points)
        scale = next((s for s in ("symlog", "log") if f"({s} scale)" in fig.axes[0].get_xlabel()),
                     None)
        figures.append((save(fig, f"accuracy_vs_{key.replace('.', '_')}"),
                        f"Validation accuracy against `{key}`"
                        + (f" ({scale} axis)" if scale else "")
                        + (", mean over seeds with its 95 % confidence band" if study.seeded
                           and not points else "")
                        + (f"; one line per {' × '.join(others)}" if others and not points else "")
                        + (f"; one panel per {' × '.join(panel_keys)}" if panel_keys else "")
                        + (". The runs do not form a grid: every run is one point." if points
                           else ".")))
    return figures


def curve_group(study):
    """The key whose values get one curve each: activation, else the first small swept key."""
    if GROUP in study.keys:
        return GROUP
    return next((k for k in study.keys if k != DATASET and study.runs[k].nunique() <= 8), None)


def learning_curves(study, client, agg, save):
    """[(file, caption)]: the best configuration of each group, mean curves over its seeds."""
    if agg["n"].sum() == 0:
        return []
    group = curve_group(study)
    panel = [DATASET] if DATASET in study.keys else []
    cells = []
    for name, rows in split(agg[agg["n"] > 0], panel):
        curves = {}
        for value, frame in (rows.groupby(group, sort=True, dropna=False) if group
                             else [(None, rows)]):
            best = frame.iloc[0]  # agg is sorted by mean validation accuracy
            runs = rows_of(study.runs, study.keys, best)
            runs = runs[runs["state"].eq("finished")]
            found = histories(client, runs["run_id"].tolist(), CURVES, table=study.runs)
            rest = [k for k in study.keys if k not in (group, *panel)]
            text = f"{group}={label(value)}" if group else "best"
            text += ((" " + overrides(best, rest) if rest else "")
                     + f" (val {best['val_mean']:.3f}, n = {len(found)})")
            frame = None
            for column in CURVES:
                b = stats.band(found, column).set_index("step")[["mean", "low", "high"]]
                b.columns = [f"{column}_{c}" for c in b.columns]
                frame = b if frame is None else frame.join(b, how="outer")
            if frame[[f"{c}_mean" for c in CURVES]].notna().any(axis=None):
                curves[text] = frame.reset_index()
        if curves:
            cells.append((name, curves))
    if not cells:
        return []  # the runs logged no per-epoch curves
    fig = study_plots.mean_curves(
        cells, f"{study.experiment}: best configuration of each {group or 'study'}")
    return [(save(fig, "learning_curves"),
             (f"Learning curves of the best configuration (by mean validation accuracy) of each "
              f"{group}" if group else "Learning curves of the best configuration")
             + ("; the mean over its seeds, with the 95 % confidence band around validation"
                if study.seeded else "")
             + (", one column per dataset" if panel else "") + "; loss on a log scale.")]


PROFILE_POINTS = 201  # thresholds a performance profile is drawn at


def performance_profile(study, save):
    """[(file, caption)]: with several datasets swept, each configuration of the other keys as
    one performance profile (robust.profile); the MAX_LINES best by IQM when there are more."""
    from . import comparisons, robust

    across = comparisons.across_datasets(study.runs, study.keys)
    if across.empty:
        return []
    inner = [k for k in study.keys if k != DATASET]
    finished = study.runs[study.runs["state"].eq("finished") & study.runs["val_accuracy"].notna()]
    low = math.floor(20 * finished["val_accuracy"].min()) / 20
    thresholds = np.linspace(low, 1.0, PROFILE_POINTS)
    series = {}
    for _, row in across.head(MAX_LINES).iterrows():
        runs = rows_of(finished, inner, row)
        strata = [g["val_accuracy"] for _, g in runs.groupby(DATASET, sort=True)]
        y, band_low, band_high = robust.profile(strata, thresholds)
        series[overrides(row, inner)] = pd.DataFrame({"x": thresholds, "y": y, "low": band_low,
                                                      "high": band_high})
    fig = study_plots.profiles(series, "validation accuracy threshold τ",
                               f"{study.experiment}: performance profiles over "
                               f"{study.runs[DATASET].nunique()} datasets")
    more = len(across) - len(series)
    return [(save(fig, "performance_profiles"),
             "Performance profiles (Agarwal et al. 2021): for each threshold τ, the fraction of a "
             "configuration's runs whose validation accuracy exceeds τ, each dataset weighing the "
             "same, with its 95 % band from the stratified bootstrap (each dataset's runs "
             "resampled within that dataset, percentile interval). A curve that lies above "
             "another at every τ is better at every level of success, on these datasets taken "
             "together; curves that cross trade reliability for peak accuracy."
             + (f" The {len(series)} configurations with the highest interquartile mean over "
                f"every dataset are drawn; {more} more are in the tables." if more > 0 else ""))]
