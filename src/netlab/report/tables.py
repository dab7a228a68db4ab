"""The report's tables: configurations over seeds (mean [95 % CI], n), the same seen robustly
(IQM, probability of improvement, signed-rank test), differences from the baseline, and every run
(complete, last, folded away when long).
"""

import math

import pandas as pd

from netlab.figures.style import label

from . import comparisons, robust, stats, variance
from .study import DATA_SEED, DATASET, SEED
from .text import count, fmt, mean_ci, p_value, table

FOLD_AFTER = 30  # an "Every run" table longer than this is collapsed in a <details> block


def _key_columns(keys):
    return {k: (lambda r, k=k: label(r[k])) for k in keys}


def configurations(study, agg):
    """Markdown: one row per configuration, aggregated over its seeds."""
    columns = _key_columns(study.keys)
    columns.update({
        "val accuracy": lambda r: mean_ci(r["val_mean"], r["val_half"], r["n"]),
        "test accuracy": lambda r: mean_ci(r["test_mean"], r["test_half"], r["n"]),
        "train − val gap": lambda r: mean_ci(r["gap_mean"], r["gap_half"], r["n"]),
        "n": lambda r: f"{r['n']}" + (f" of {r['n_runs']}" if r["n"] != r["n_runs"] else ""),
        "epochs": lambda r: fmt(r["epochs_mean"], 0),
        "time s": lambda r: fmt(r["time_mean"], 2),
        "best run": lambda r: f"`{r['best_run'][:8]}`" if isinstance(r["best_run"], str) else "—",
    })
    return ("### Configurations, aggregated over seeds\n\n"
            "Mean over the seeds [the 95 % confidence interval of the mean, Student's t]; "
            "n counts the finished runs (\"3 of 5\" when some diverged or failed); "
            "the gap is training minus validation accuracy (overfitting shows as a large gap). "
            "Epochs and time are means over all runs."
            + (" A configuration with n = 1 shows its one value, without an interval."
               if (agg["n"] == 1).any() else "") + "\n\n" + table(agg, columns))


def estimate(e, digits=3):
    """'0.989 [0.980, 0.995]' for a robust.Estimate, the interval's method named unless BCa."""
    if e is None or not math.isfinite(e.value):
        return "—"
    text = f"{e.value:.{digits}f}"
    if e.method in ("no spread", "identical on every seed"):
        return f"{text} ({e.method})"
    if math.isfinite(e.low):
        text += f" [{e.low:.{digits}f}, {e.high:.{digits}f}]"
        if e.method != robust.BCA:
            text += f" ({e.method.split(' ')[0]})"
    return text


def signed_rank(row):
    """The signed-rank test against the leader, Holm-corrected, or why it cannot separate them."""
    s = row["signed"]
    if s is None:
        return "leader"
    if s.n == 0:
        return "no pair differs"
    if not s.can_reach:
        return f"cannot reach 0.05 ({count(s.n, 'pair')} {'differs' if s.n == 1 else 'differ'})"
    return p_value(row["signed_holm"]) + ("" if s.method == "exact" else f" ({s.method})")


ROBUST_INTRO = (
    "The same configurations seen without trusting the mean. **IQM**: the interquartile mean of "
    "validation accuracy, the mean of the middle half of the seeds (one seed that failed to "
    "train moves it less than the mean, and it uses more of the data than the median; Agarwal "
    "et al. 2021), with its 95 % bootstrap interval over seeds (`scipy.stats.bootstrap`, BCa, "
    f"{robust.RESAMPLES:,} resamples from a fixed seed; \"percentile\" where BCa cannot be "
    "computed). **P(leader better)**: the probability that the leader scores higher than this "
    "configuration on a seed both ran (a tie counts half), with its bootstrap interval, or the "
    "exact Clopper–Pearson interval when every seed gives the same outcome (the bootstrap cannot "
    "vary then). **Signed-rank**: the two-sided Wilcoxon signed-rank test of the leader against "
    "it over shared seeds (no assumption that differences are normal; exact over every sign "
    f"flip, ties included, with `scipy.stats.permutation_test` up to {robust.EXACT_UP_TO} "
    "differing pairs, `scipy.stats.wilcoxon`'s normal approximation above, marked), "
    "Holm-corrected over the comparisons it could make; with n "
    "pairs that differ its p-value cannot go below 2 / 2ⁿ, so with 5 or fewer it cannot reach "
    "0.05 and the table says so instead of printing a test that cannot answer.")


def out_of_reach(found):
    """A sentence when Holm's correction puts p < 0.05 beyond every signed-rank test of a scope:
    the smallest p-value a test of n differing pairs can give is 2 / 2ⁿ, and Holm multiplies
    the smallest of m p-values by m."""
    tests = [s for s in found["signed"] if s is not None and s.n > 0]
    if len(tests) < 2:
        return ""
    best = min(s.floor for s in tests)
    if len(tests) * best < stats.ALPHA:
        return ""
    most = max(s.n for s in tests)
    return (f"\n\nNo signed-rank test in this table can reach 0.05 after Holm's correction: "
            f"with at most {count(most, 'pair')} that differ its smallest p-value is "
            f"{best:.4f}, and Holm multiplies the smallest of the {len(tests)} by "
            f"{len(tests)} ({min(1.0, len(tests) * best):.3f}). More seeds, or fewer "
            "configurations compared, would let it answer.")


def robust_tables(study, agg, robust_scopes):
    """Markdown: each scope's configurations seen robustly (robust_scopes: {scope: robust_rows}),
    and across datasets when several were swept."""
    parts = ["### Robust summaries\n\n" + ROBUST_INTRO]
    for name, _rows, inner in comparisons.scopes(agg, study.keys):
        found = robust_scopes.get(name)
        if found is None or found.empty:
            continue
        columns = _key_columns(inner)
        columns.update({
            "IQM val [95 %]": lambda r: estimate(r["iqm"]),
            "median": lambda r: fmt(r["median"]),
            "P(leader better) [95 %]": lambda r: estimate(r["beaten"], 2),
            "signed-rank p (Holm)": signed_rank,
            "n": lambda r: str(int(r["n"])),
        })
        heading = f"\n\n**On `{name}`**\n\n" if name is not None else "\n\n"
        parts.append(heading + table(found, columns) + out_of_reach(found))
    across = comparisons.across_datasets(study.runs, study.keys)
    if not across.empty:
        columns = _key_columns([k for k in study.keys if k != DATASET])
        columns.update({
            "IQM val over every dataset [95 %]": lambda r: estimate(r["iqm"]),
            "datasets": lambda r: str(r["datasets"]), "runs": lambda r: str(r["runs"]),
        })
        parts.append("\n\n**Across datasets.** Each configuration's IQM over the runs of every "
                     "dataset together, its interval from the stratified bootstrap (each "
                     "dataset's runs resampled within that dataset, so every resample keeps the "
                     "study's mix of datasets).\n\n" + table(across, columns))
    return "".join(parts) if len(parts) > 1 else ""


def variance_table(study, agg):
    """Markdown: each configuration's variance split into the data draw's part, the
    initialisation's and the rest (variance.components), when the study crosses them."""
    if not study.crossed:
        return ""
    found = []
    for _, config in agg.iterrows():
        runs = comparisons.rows_of(study.runs, study.keys, config)
        runs = runs[runs["state"].eq("finished")]
        parts = variance.components(runs[DATA_SEED], runs[SEED], runs["val_accuracy"])
        if parts is not None:
            found.append({**config.to_dict(), "parts": parts})
    if not found:
        return ""
    columns = _key_columns(study.keys)
    columns.update({
        "runs": lambda r: f"{r['parts'].n} ({r['parts'].draws} draws × {r['parts'].inits} seeds)",
        "sd": lambda r: fmt(math.sqrt(r["parts"].total)),
        "data draw": lambda r: share(r["parts"], "data"),
        "initialisation": lambda r: share(r["parts"], "init"),
        "rest": lambda r: share(r["parts"], "rest"),
    })
    return ("### Data or initialisation?\n\n"
            "Each configuration's runs cross draws of the data (`data_seed`) with "
            "initialisations (`seed`). The spread of its validation accuracy (sd) splits into "
            "the data draw's share, the initialisation's share and the rest (the two's "
            "interaction and all else): a random-effects model with crossed variance components, "
            "fitted by REML (`statsmodels` MixedLM). Where the data draw's share is large, a "
            "result on one draw of the data says little about the next: the comparisons pair "
            "runs on the same draw and seed, and average over the draws, so they speak of "
            "datasets drawn like this one.\n\n" + table(pd.DataFrame(found), columns))


def share(parts, part):
    """A variance component's share of the total: '62 %' ('—' when nothing varies)."""
    value = parts.share(part)
    return "—" if not math.isfinite(value) else f"{100 * value:.0f} %"


def baseline_table(study, compared, baseline):
    """Markdown: each configuration's paired difference from the baseline, with the gap."""
    described = " ".join(f"{k}={label(v)}" for k, v in baseline.items())
    columns = _key_columns(study.keys)
    columns.update({
        "val accuracy": lambda r: mean_ci(r["val_mean"], r["val_half"], r["n"]),
        "Δ val vs baseline (95 % CI)": lambda r: difference(r),
        "p (Holm)": lambda r: p_value(r["p_holm"]),
        "train − val gap": lambda r: mean_ci(r["gap_mean"], r["gap_half"], r["n"]),
        "gap at baseline": lambda r: fmt(r["base_gap"]),
        "shared seeds": lambda r: str(int(r["diff_n"])),
    })
    return (f"### Against the baseline `{described}`\n\n"
            "Each configuration against the baseline configuration with the same other values, "
            "paired over the seeds both ran (paired t-test, `scipy.stats.ttest_rel`); p-values "
            f"Holm-corrected for the {count(len(compared), 'comparison')}. A positive Δ means "
            "better than the baseline on validation accuracy.\n\n" + table(compared, columns))


def difference(row):
    """'+0.021 [+0.005, +0.037]' for a paired difference (the mean alone from one seed)."""
    if row["diff_n"] < 1:
        return "—"
    text = f"{row['diff_mean']:+.3f}"
    if row["diff_n"] >= 2:
        text += f" [{row['diff_low']:+.3f}, {row['diff_high']:+.3f}]"
    return text


def every_run(study, heading="###"):
    """Markdown: every run, best validation accuracy first; folded in <details> when long."""
    columns = {"#": lambda r: str(r.name + 1)}
    columns.update(_key_columns(study.keys))
    if study.crossed:
        columns[DATA_SEED] = lambda r: label(r[DATA_SEED])
    if SEED in study.runs:
        columns[SEED] = lambda r: label(r[SEED])
    columns.update({
        "val accuracy": "val_accuracy", "test accuracy": "test_accuracy",
        "epochs": lambda r: fmt(r["epochs_run"], 0), "time s": lambda r: fmt(r["train_time_s"], 2),
        "status": "status_text", "run": lambda r: f"`{r['run_id'][:8]}`",
    })
    intro = ("Sorted by final validation accuracy; diverged and failed runs last (their accuracy "
             "is not a result).")
    body = table(study.runs, columns)
    if len(study.runs) > FOLD_AFTER:
        body = (f"<details><summary>{count(len(study.runs), 'run')} (click to show)</summary>\n\n"
                f"{body}\n\n</details>")
    return f"{heading} Every run\n\n{intro}\n\n{body}"
