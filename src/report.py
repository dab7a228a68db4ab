"""`python -m src.report <study>`: a finished sweep as one page, experiments/<study>/report.md.

Reads the study's runs from the tracking store (resolved as src.run does: --tracking-uri, else
MLFLOW_TRACKING_URI, else the project's mlruns/ store), writes report.md with its figures beside it
and logs the same files under `report/` in the sweep's parent run (the newest sweep, or --sweep).
The table, seed aggregation and which runs are covered come from src.report_data; the figures
from src.report_figures; what the figures show is chosen here, from what the sweep varied.
"""

import argparse
import math
import re
import sys
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from src import report_boundaries, report_figures
from src.paths import PROJECT_ROOT
from src.report_data import DATASET, SEED, aggregate_seeds, load_study, n_val_points, seed_swept
from src.tracking.store import default_uri, resolve_uri

GRID_MAX = 12  # a key with more distinct values than this is not drawn as a heatmap axis
MAX_PANELS = 60
GROUP = "activation"
CURVE_KEYS = ("step", "train_loss", "val_loss", "train_accuracy", "val_accuracy")


# ------------------------------------------------------------------ small helpers
def slug(name):
    """A folder name for an experiment name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "experiment"


def fmt(value, digits=3):
    """A number for the tables ('—' for missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def overrides(row, keys):
    """A configuration as its overrides: 'activation=tanh lr=0.3'."""
    return " ".join(f"{k}={report_figures.label(row[k])}" for k in keys) or "(the one config)"


def short_overrides(row, keys):
    """A configuration for a small panel title: dataset name bare, other keys by their last part."""
    parts = [report_figures.label(row[k]) if k == DATASET
             else f"{k.rsplit('.', 1)[-1]}={report_figures.label(row[k])}" for k in keys]
    return " ".join(parts) or "(the one config)"


def question(experiment):
    """The study's question, from the comment at the top of experiments/<study>.yaml (or None)."""
    path = PROJECT_ROOT / "experiments" / f"{experiment}.yaml"
    if not path.is_file():
        return None
    lines, started = [], False
    for line in path.read_text().splitlines():
        if line.startswith("# Question:"):
            started = True
            line = line[len("# Question:"):]
        elif not started or not line.startswith("#") or line.startswith("# Run:"):
            if started:
                break
            continue
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    return text[:1].upper() + text[1:] if text else None


def table(frame, columns):
    """A markdown table of frame's columns {header: column or function(row)}."""
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [get(row) if callable(get) else fmt(row[get]) for get in columns.values()]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


# ------------------------------------------------------------------ what the report covers
def coverage(study):
    """Markdown bullets: store, sweep, counts, what varied and what was fixed, commits, datasets."""
    runs, lines = study.runs, []
    where = ("the project's default store `mlruns/mlflow.db`"
             if study.tracking_uri == default_uri() else f"`{study.tracking_uri}`")
    lines.append(f"- Experiment `{study.experiment}` in {where}.")
    lines.extend(sweeps(study))
    counts = runs["state"].value_counts()
    lines.append(f"- {len(runs)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
                 + (f" ({study.n_duplicates} earlier attempts of the same configs replaced by "
                    "their rerun)" if study.n_duplicates else "") + ".")
    if study.keys:
        values = {k: value_list(runs[k]) for k in study.keys}
        swept = "; ".join(f"`{k}`: {v}" if " to " in v else f"`{k}` ∈ {{{v}}}"
                          for k, v in values.items())
        lines.append(f"- Swept: {swept}.")
    if seed_swept(study):
        seeds = sorted_values(runs[SEED])
        lines.append(f"- Seeds: {', '.join(report_figures.label(s) for s in seeds)} "
                     "(runs differing only by seed are aggregated below).")
    fixed = {k: v for k, v in study.fixed.items()
             if not k.startswith(("dataset.", "mlflow.")) and k != "force"}
    if fixed:
        lines.append("- Fixed: " + ", ".join(f"`{k}={v}`" for k, v in sorted(fixed.items())) + ".")
    lines.extend(commits(runs))
    lines.extend(dataset_configs(runs))
    return "\n".join(lines)


def sweeps(study):
    """Bullets naming the sweep runs the covered runs belong to."""
    runs, client = study.runs, MlflowClient(study.tracking_uri)
    parents = runs.get("tags.mlflow.parentRunId", pd.Series(index=runs.index, dtype=object))
    lines = []
    if study.one_sweep:
        lines.append(f"- Only the runs of sweep `{study.parent.info.run_id}`.")
    elif study.left_out:
        differ = "; ".join(f"`{k}` = {', '.join(map(str, v))}"
                           for k, v in study.left_out["keys"].items())
        lines.append(f"- The runs comparable with the newest sweep, one per configuration. "
                     f"{runs_count(study.left_out['n'])} of this experiment with other fixed "
                     f"values are left out ({differ}); `--sweep all` includes them.")
    else:
        lines.append("- Every run of the experiment, one per configuration (a rerun sweep skips "
                     "configurations that already finished, so results can span several sweeps).")
    for parent_id, group in runs.groupby(parents.fillna(""), sort=False):
        if not parent_id:
            lines.append(f"  - {runs_count(len(group))} started on their own (no sweep)")
            continue
        info = client.get_run(parent_id).info
        started = pd.Timestamp(info.start_time, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  - {runs_count(len(group))} from sweep `{parent_id}` ({info.run_name}), "
                     f"started {started}")
    return lines


def value_list(series):
    """The distinct values of a column for the text: all of them, or the range when many."""
    values = sorted_values(series)
    label = report_figures.label
    if len(values) > GRID_MAX and pd.api.types.is_numeric_dtype(series):
        return f"{len(values)} values from {label(values[0])} to {label(values[-1])}"
    return ", ".join(label(v) for v in values)


def runs_count(n):
    """'1 run', '3 runs'."""
    return f"{n} run" + ("" if n == 1 else "s")


def sorted_values(series):
    """The distinct values of a column, sorted (numbers numerically)."""
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def commits(runs):
    """Bullets naming the code versions (git_commit tags) of the runs; a warning if several."""
    column = runs.get("tags.git_commit", pd.Series("unknown", index=runs.index)).fillna("unknown")
    dirty = runs.get("tags.git_dirty", pd.Series("unknown", index=runs.index)).fillna("unknown")
    parts = []
    for commit, group in runs.groupby(column, sort=False):
        n_dirty = int(dirty[group.index].eq("true").sum())
        note = f", {n_dirty} from a tree with uncommitted changes" if n_dirty else ""
        parts.append(f"`{commit[:10]}` ({runs_count(len(group))}{note})")
    lines = [f"- Code: {', '.join(parts)}."]
    if len(parts) > 1:
        lines.append("- **Warning: the runs come from different code versions** (listed above); "
                     "differences between them may come from the code, not only the config.")
    return lines


def dataset_configs(runs):
    """Bullets naming each dataset config (dataset.* params); a warning if a name has several."""
    columns = sorted(c for c in runs.columns if c.startswith("params.dataset."))
    if not columns:
        return []
    described = runs[columns].apply(
        lambda row: ", ".join(f"{c[len('params.dataset.'):]}={row[c]}" for c in columns
                              if isinstance(row[c], str) and c != "params." + DATASET), axis=1)
    names = runs.get("params." + DATASET, pd.Series("?", index=runs.index)).fillna("?")
    lines, clash = [], []
    for name in sorted(names.unique()):
        configs = described[names.eq(name)].value_counts()
        for config, n in configs.items():
            lines.append(f"  - `{name}`: {config} ({runs_count(n)})")
        if len(configs) > 1:
            clash.append(name)
    lines.insert(0, "- Datasets:")
    if clash:
        lines.append(f"- **Warning: {', '.join(clash)} appear with more than one config** (listed "
                     "above); their runs are not directly comparable.")
    return lines


# ------------------------------------------------------------------ tables
def results_tables(study):
    """Markdown: the seed-aggregated table (when seed was swept), then every run."""
    runs, keys, parts = study.runs, study.keys, []
    if seed_swept(study):
        agg = aggregate_seeds(runs, keys)
        columns = {k: k for k in keys}
        columns.update({
            "val accuracy (mean ± std)": lambda r: f"{fmt(r['val_mean'])} ± {fmt(r['val_std'])}",
            "test accuracy (mean ± std)": lambda r: f"{fmt(r['test_mean'])} ± {fmt(r['test_std'])}",
            "n": lambda r: f"{r['n']}" + (f" of {r['n_runs']}" if r["n"] != r["n_runs"] else ""),
            "epochs (mean)": lambda r: fmt(r["epochs_mean"], 0),
            "time s (mean)": lambda r: fmt(r["time_mean"], 2),
        })
        parts.append("### Configurations, aggregated over seeds\n\n"
                     "n counts the finished runs (of all runs when some diverged or failed); std "
                     "is the sample standard deviation over seeds.\n\n" + table(agg, columns))
    columns = {"#": lambda r: str(r.name + 1)}
    columns.update({k: (lambda r, k=k: report_figures.label(r[k])) for k in keys})
    if seed_swept(study):
        columns[SEED] = lambda r: report_figures.label(r[SEED])
    columns.update({
        "val accuracy": "val_accuracy", "test accuracy": "test_accuracy",
        "epochs": lambda r: fmt(r["epochs_run"], 0), "time s": lambda r: fmt(r["train_time_s"], 2),
        "status": "status_text", "run": lambda r: f"`{r['run_id'][:8]}`",
    })
    parts.append("### Every run\n\nSorted by final validation accuracy; diverged and failed runs "
                 "last (their accuracy is not a result).\n\n" + table(study.runs, columns))
    return "\n\n".join(parts)


# ------------------------------------------------------------------ figures
def configs_table(study):
    """One row per configuration (seed folded): val/test mean and std, n, the best run's id."""
    runs, keys = study.runs, study.keys
    agg = aggregate_seeds(runs, keys)
    best = runs[runs["state"].eq("finished")].drop_duplicates(keys or ["state"])
    if keys:
        agg = agg.merge(best[[*keys, "run_id"]], on=keys, how="left")
    else:
        agg["run_id"] = best["run_id"].iloc[0] if len(best) else None
    return agg


def split_panels(frame, key):
    """[(panel title, rows)] split by key (one untitled panel when key is None)."""
    if key is None:
        return [(None, frame)]
    return [(f"{key}={report_figures.label(v)}", frame[frame[key].eq(v)])
            for v in sorted_values(frame[key])]


def figure_heatmap(study, agg, folder):
    """heatmap.png when every swept key is a small grid and two or more were swept."""
    keys = study.keys
    if len(keys) < 2 or any(study.runs[k].nunique() > GRID_MAX for k in keys):
        return None
    panel = None
    if len(keys) >= 3:
        panel = DATASET if DATASET in keys else (GROUP if GROUP in keys else keys[0])
    rest = [k for k in keys if k != panel]
    row_key, col_key, others = rest[0], rest[1], rest[2:]
    panels, missing = [], False
    for (name, rows), (_, runs) in zip(split_panels(agg, panel), split_panels(study.runs, panel),
                                       strict=True):
        index, columns = sorted_values(rows[row_key]), sorted_values(rows[col_key])
        pivot = rows.pivot_table(index=row_key, columns=col_key, values="val_mean", aggfunc="max",
                                 dropna=False).reindex(index=index, columns=columns)
        unfinished = runs[runs["state"].ne("finished")]
        notes = unfinished.pivot_table(index=row_key, columns=col_key, values="state",
                                       aggfunc=lambda s: "\n".join(sorted(set(s)))) \
            if len(unfinished) else None
        notes = notes.reindex(index=index, columns=columns) if notes is not None else None
        missing |= bool(pivot.isna().to_numpy().any())
        panels.append((name, pivot, notes))
    what = "mean over seeds" if seed_swept(study) else "one run each"
    if others:
        what += f", best over {', '.join(others)}"
    fig = report_figures.heatmap(panels, row_key, col_key,
                                 f"{study.experiment}: validation accuracy ({what})")
    fig.savefig(folder / "heatmap.png", dpi=90)
    return ("heatmap.png", f"Validation accuracy over {row_key} × {col_key} ({what}"
            + (f"; one panel per {panel}" if panel else "") + ")."
            + (" A grey cell has no finished run; it names what happened to its runs."
               if missing else ""))


def figure_against(study, agg, key, folder):
    """accuracy_vs_<key>.png: validation accuracy against a numeric key, one line per activation."""
    others = [k for k in study.keys if k not in (key, GROUP, DATASET)]
    panel = DATASET if DATASET in study.keys else None
    grid = all(study.runs[k].nunique() <= GRID_MAX for k in study.keys)
    group = GROUP if GROUP in study.keys else None
    panels = []
    source = (agg if grid else
              study.runs.assign(val_mean=study.runs["val_accuracy"], val_std=math.nan))
    for name, rows in split_panels(source, panel):
        series = {}
        groups = rows.groupby(group) if group else [(study.fixed.get(GROUP, "all"), rows)]
        for value, frame in groups:
            if grid:
                best = frame.sort_values("val_mean", ascending=False).drop_duplicates(key)
                best = best.rename(columns={key: "x", "val_mean": "y", "val_std": "err"})
                if others or not seed_swept(study):
                    best = best.drop(columns="err")
            else:
                best = frame.rename(columns={key: "x", "val_mean": "y"})[["x", "y"]]
            series[value] = best.dropna(subset=["y"])
        panels.append((name, series))
    if grid and others:
        ylabel = f"validation accuracy (best over {', '.join(others)})"
    elif grid and seed_swept(study):
        ylabel = "validation accuracy (mean ± std over seeds)"
    else:
        ylabel = "validation accuracy"
    name = f"accuracy_vs_{slug(key)}.png"
    fig = report_figures.accuracy_against(panels, key, ylabel,
                                          f"{study.experiment}: validation accuracy against {key}",
                                          lines=grid)
    fig.savefig(folder / name, dpi=90)
    log = report_figures.use_log_scale(study.runs[key].dropna().astype(float))
    return (name, f"Validation accuracy against `{key}`"
            + (" (log-scaled axis)" if log else "")
            + ((", one line per activation" if grid else ", one colour per activation")
               if group else "")
            + (f", one panel per {panel}" if panel else "")
            + (f"; {ylabel}." if ylabel != "validation accuracy" else ".")
            + ("" if grid else " The runs do not form a grid: every run is one point."))


def history(client, run_id):
    """A run's per-epoch metrics as a DataFrame: step and the four curves."""
    frames = []
    for metric in CURVE_KEYS[1:]:
        points = client.get_metric_history(run_id, metric)
        frames.append(pd.Series({p.step: p.value for p in points}, name=metric, dtype=float))
    frame = pd.concat(frames, axis=1).sort_index()
    return frame.rename_axis("step").reset_index()


def figure_curves(study, client, folder):
    """learning_curves.png: the best run of each activation (per dataset), curves overlaid."""
    runs = study.runs[study.runs["state"].eq("finished")]
    if runs.empty:
        return None
    group = GROUP if GROUP in study.keys else next(
        (k for k in study.keys if k != DATASET and runs[k].nunique() <= 8), None)
    panel = DATASET if DATASET in study.keys else None
    panels = []
    for name, rows in split_panels(runs, panel):
        curves = {}
        for value, frame in (rows.groupby(group, sort=True) if group else [(None, rows)]):
            best = frame.iloc[0]  # runs are sorted by validation accuracy
            rest = [k for k in study.keys if k not in (group, panel)]
            text = f"{group}={report_figures.label(value)}" if group else "best run"
            detail = overrides(best, rest) if rest else ""
            curves[f"{text} {detail}".strip() + f" (val {best['val_accuracy']:.3f})"] = history(
                client, best["run_id"])
        panels.append((name, curves))
    fig = report_figures.learning_curves(
        panels, f"{study.experiment}: best run of each {group or 'sweep'}")
    fig.savefig(folder / "learning_curves.png", dpi=90)
    caption = (f"Learning curves of the best run (by final validation accuracy) of each {group}"
               if group else "Learning curves of the best run")
    caption += (f", one column per {panel}" if panel else "") + "; loss on a log scale."
    return "learning_curves.png", caption


def panel_columns(study, n):
    """Columns for n configuration panels: one row per value of the first swept key if it fits."""
    counts = [study.runs[k].nunique() for k in study.keys]
    per_row = math.prod(counts[1:]) if len(counts) > 1 else n
    if per_row <= 9:
        return per_row
    return counts[-1] if counts[-1] <= 8 else min(n, 6)


def figure_boundaries(study, client, folder):
    """decision_boundaries.png and boundary_evolution.gif, for the 2-D datasets."""
    agg = configs_table(study)
    runs = study.runs.set_index("run_id", drop=False)
    panels, best_snap, two_d, sources = [], None, {}, set()
    for _, config in agg.head(MAX_PANELS).sort_values(study.keys or "n").iterrows():
        run_id = config["run_id"]
        if not isinstance(run_id, str):  # no finished run: show the first run's state
            match = study.runs
            for k in study.keys:
                match = match[match[k].eq(config[k])]
            row = match.iloc[0]
        else:
            row = runs.loc[run_id]
        dataset = row.get("params." + DATASET)
        if two_d.get(dataset) is False:
            continue
        params = {c[len("params."):]: v for c, v in row.items() if c.startswith("params.")}
        snap, source = report_boundaries.boundary_of(client, row["run_id"], params)
        if snap is None and source == "no weights or not 2-D" and row["state"] == "finished":
            two_d[dataset] = False
            continue
        if snap is not None:
            two_d[dataset] = True
            sources.add(source)
        title = short_overrides(row, study.keys)
        if seed_swept(study):
            title += f" seed={report_figures.label(row[SEED])}"
        panels.append((title, snap, row["status_text"], dataset))
    panels = [(title, snap, note) for title, snap, note, dataset in panels if two_d.get(dataset)]
    if not any(snap is not None for _, snap, _ in panels):
        return []
    ncols = panel_columns(study, len(panels))
    fig = report_figures.boundary_grid(panels, f"{study.experiment}: decision boundaries",
                                       ncols=ncols)
    fig.savefig(folder / "decision_boundaries.png", dpi=90)
    how = {"recorded": "as recorded at the last epoch", "rebuilt": "rebuilt from weights.npz"}
    figures = [("decision_boundaries.png",
                "Decision boundary of each configuration after training (" +
                " or ".join(how[s] for s in sorted(sources)) + "), over the standardised training "
                "points; for two classes the colour is the predicted probability of class 1."
                + (" With several seeds, the best seed's run." if seed_swept(study) else ""))]
    for _, row in study.runs[study.runs["state"].eq("finished")].iterrows():
        if two_d.get(row.get("params." + DATASET)) is False:
            continue
        best_snap = report_boundaries.recorded(client, row["run_id"])
        if best_snap is not None and len(best_snap["epochs"]) > 1:
            title = overrides(row, study.keys)
            report_figures.boundary_animation(best_snap, folder / "boundary_evolution.gif", title)
            epochs = ", ".join(str(int(e)) for e in best_snap["epochs"])
            figures.append(("boundary_evolution.gif",
                            f"The best run ({title}, run `{row['run_id'][:8]}`) during training: "
                            f"its decision boundary at epochs {epochs}."))
        break
    return figures


# ------------------------------------------------------------------ the closing paragraph
def pct(x):
    """An accuracy as a percentage."""
    return f"{100 * x:.1f} %"


def conclusion(study):
    """The closing paragraph: which configuration won, by how much, and what the numbers allow."""
    runs, keys = study.runs, study.keys
    agg = aggregate_seeds(runs, keys)
    seeds = seed_swept(study)
    scopes = split_panels(agg, DATASET) if DATASET in keys else [(None, agg)]
    sizes = n_val_points(runs)
    sentences = []
    for name, rows in scopes:
        inner = [k for k in keys if k != DATASET] if name else keys
        where = f"On `{name.split('=', 1)[1]}`, " if name else ""
        done = rows.dropna(subset=["val_mean"])
        if done.empty:
            sentences.append(f"{where}no configuration finished a run, so there is no winner.")
            continue
        win = done.iloc[0]
        what = f"`{overrides(win, inner)}`" if inner else "the single configuration"
        spread = f" ± {pct(win['val_std'])} over {win['n']} seeds" if seeds else ""
        text = (f"{where}{what} reached the best validation accuracy, "
                f"{pct(win['val_mean'])}{spread} (test {pct(win['test_mean'])})")
        if len(done) == 1:
            sentences.append(text + "; it is the only configuration with a finished run.")
            continue
        ties = done[done["val_mean"].eq(win["val_mean"])]
        if len(ties) > 1:
            names = ", ".join(f"`{overrides(r, inner)}`" for _, r in ties.head(5).iterrows())
            if len(ties) > 5:
                names += f" and {len(ties) - 5} more (see the table)"
            tests = ties["test_mean"]
            tested = (f"their test accuracies range from {pct(tests.min())} to {pct(tests.max())}"
                      if tests.nunique() > 1 else f"all score {pct(tests.iloc[0])} on the test set")
            sentences.append(f"{where}{len(ties)} configurations tie on the best validation "
                             f"accuracy, {pct(win['val_mean'])}: {names}; the validation set does "
                             f"not separate them ({tested}).")
        else:
            second = done.iloc[1]
            margin = win["val_mean"] - second["val_mean"]
            text += (f", {100 * margin:.1f} percentage points ahead of the runner-up "
                     f"`{overrides(second, inner)}` ({pct(second['val_mean'])})")
            n_val = sizes.get(win.get(DATASET) if DATASET in keys else next(iter(sizes), None))
            if seeds:
                noise = max(win["val_std"], second["val_std"])
                if math.isfinite(noise) and margin <= noise:
                    text += ("; the margin is within one standard deviation over seeds, so these "
                             "runs do not settle the order of the two")
            elif n_val:
                points = round(margin * n_val)
                text += f", i.e. {points} of {n_val} validation points"
                if points <= 2:
                    text += (", from a single seed each: these runs cannot tell whether that "
                             "difference would survive another seed")
            sentences.append(text + ".")
            best_test = done.loc[done["test_mean"].idxmax()]
            if best_test["test_mean"] > win["test_mean"]:
                text = (f"on the test set, `{overrides(best_test, inner)}` scored higher "
                        f"({pct(best_test['test_mean'])}); the winner is chosen on validation "
                        "accuracy, and the test figure is reported, not used to choose.")
                sentences.append(where + text if where else text[0].upper() + text[1:])
        worst = done.iloc[-1]
        if len(done) > 2 and worst["val_mean"] < win["val_mean"]:
            sentences.append(f"The weakest finished configuration{' there' if where else ''} was "
                             f"`{overrides(worst, inner)}` at {pct(worst['val_mean'])}.")
    commits_seen = runs.get("tags.git_commit", pd.Series(dtype=object)).dropna().nunique()
    if commits_seen > 1 or any("Warning" in line for line in dataset_configs(runs)):
        sentences.append("These runs mix code versions or dataset configs (see the warnings at the "
                         "top); part of any difference may come from that, not the swept keys.")
    bad = runs[runs["state"].ne("finished")]
    if len(bad):
        listed = "; ".join(f"`{overrides(r, keys)}`"
                           + (f" seed {report_figures.label(r[SEED])}" if seeds else "")
                           + f": {r['status_text']}" for _, r in bad.iterrows())
        sentences.append(f"{len(bad)} of {len(runs)} runs did not finish ({listed}); they are "
                         "left out of the comparison above.")
    return " ".join(sentences)


# ------------------------------------------------------------------ the report
def build(experiment, tracking_uri=None, out=None, sweep=None, log=True):
    """Write the report of an experiment's sweep to out (experiments/<slug>/); returns its path."""
    uri = resolve_uri(tracking_uri)
    study = load_study(uri, experiment, sweep=sweep)
    client = MlflowClient(uri)
    folder = Path(out) if out else PROJECT_ROOT / "experiments" / slug(experiment)
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.png"), *folder.glob("*.gif")]:
        old.unlink()  # figures of an earlier report that this one may not draw
    agg = configs_table(study)
    figures = []
    heat = figure_heatmap(study, agg, folder)
    if heat:
        figures.append(heat)
    for key in study.keys:
        values = study.runs[key].dropna()
        if pd.api.types.is_numeric_dtype(values) and values.nunique() >= 3:
            figures.append(figure_against(study, agg, key, folder))
    curves = figure_curves(study, client, folder)
    if curves:
        figures.append(curves)
    figures.extend(figure_boundaries(study, client, folder))

    parts = [f"# Study report: {experiment}"]
    asked = question(experiment)
    if asked:
        parts.append(f"**Question.** {asked}")
    parts.append("## What this report covers\n\n" + coverage(study))
    parts.append("## Results\n\n" + results_tables(study))
    if figures:
        parts.append("## Figures\n\n" + "\n\n".join(f"![{name}]({name})\n\n{caption}"
                                                    for name, caption in figures))
    parts.append("## Conclusion\n\n" + conclusion(study))
    regen = f"python -m src.report {experiment}"
    parts.append(f"---\nGenerated by `{regen}` from the tracking store; regenerate with the same "
                 "command after rerunning the sweep.")
    path = folder / "report.md"
    path.write_text("\n\n".join(parts) + "\n")
    if log and study.parent is not None:
        for file in [path, *(folder / name for name, _ in figures)]:
            client.log_artifact(study.parent.info.run_id, str(file), artifact_path="report")
    return path, study


def parse_args(argv):
    """The command line; `mlflow.tracking_uri=URI` is accepted as in src.run."""
    parser = argparse.ArgumentParser(prog="python -m src.report",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("study", help="experiment name (e.g. activations, width)")
    parser.add_argument("--tracking-uri",
                        help="default: $MLFLOW_TRACKING_URI, else mlruns/mlflow.db")
    parser.add_argument("--sweep", help="'all': every run of the experiment; 'latest' or a parent "
                        "run id: only that sweep's runs (default: the runs comparable with the "
                        "newest sweep)")
    parser.add_argument("--out", help="output folder (default: experiments/<study>/)")
    parser.add_argument("--no-log", action="store_true",
                        help="do not log the files to the sweep run")
    args = []
    for arg in argv:
        if arg.startswith("mlflow.tracking_uri="):
            args += ["--tracking-uri", arg.split("=", 1)[1]]
        else:
            args.append(arg)
    return parser.parse_args(args)


def main(argv=None):
    """Entry point: build the report, print where it went."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        path, study = build(args.study, args.tracking_uri, args.out, args.sweep,
                            log=not args.no_log)
    except LookupError as error:
        raise SystemExit(f"report: {error}") from None
    where = (f"; logged under report/ in run {study.parent.info.run_id}"
             if study.parent is not None and not args.no_log else "")
    print(f"report: {path} ({len(study.runs)} runs){where}")


if __name__ == "__main__":
    main()
