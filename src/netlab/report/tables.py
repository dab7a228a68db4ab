"""The report's tables: configurations over seeds (mean [95 % CI], n), differences from the
baseline, and every run (complete, last, folded away when long).
"""

from netlab.figures.style import label

from .study import SEED
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
