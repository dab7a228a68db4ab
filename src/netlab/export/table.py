"""A study as one table, and that table as one Parquet file.

One row per run of an experiment: the columns `mlflow.search_runs` gives (run_id, status, start and
end time, artifact_uri, params.*, tags.*, metrics.* with each metric's last value) and, for every
metric a run logged per epoch, its whole curve as two list columns: `steps.<metric>` (epochs) and
`curves.<metric>` (values). `python -m src.export STUDY` writes it to exports/<study>.parquet and
logs it on the sweep's parent run; `netlab.load_study(STUDY)` returns it as a DataFrame; the
report reads its runs through it.

A run that has ended does not change, so its curves are read from the store once: the next export
(or report) takes them from the file and reads only the runs that are new, were still running, or
ended since, or hold a point logged since (the curve no longer ends at the metric's last value).
A FINISHED run of netlab's holds every point it logged in one file (tracking.metrics_file), read
in one request; for other runs (older ones, or failed), each metric's
history is read with MlflowClient.get_metric_history, MLflow's one public reader of a curve: one
metric of one run per request (~7 ms on a SQLite store of 1,000 runs).
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd

from netlab.paths import PROJECT_ROOT, slug
from netlab.tracking.metrics_file import run_metrics
from netlab.tracking.sweep import SWEEP_ROLE

# metrics a run of netlab's logs once, at its end (netlab.recording.FINAL_METRICS, kept here by
# name: importing recording brings the figures' libraries; and the tracking's own time): their
# last value says it all, so no history is read for them
ONCE = ("test_loss", "test_accuracy", "test_f1", "train_time_s", "epochs_run", "tracking_time_s")
ENDED = ("FINISHED", "FAILED", "KILLED")
PAGE = 1000  # runs per search request: MLflow's largest page for every store
FORMAT = 1  # the table's layout, kept in the file: a file of another layout is not reused


def default_path(experiment):
    """exports/<experiment>.parquet in the project (git-ignored)."""
    return PROJECT_ROOT / "exports" / f"{slug(experiment)}.parquet"


def search(client, experiment_id, keys=None):
    """Every run of the experiment as mlflow.search_runs lays it out: one row per run (newest
    first), params.*, tags.* and metrics.* columns, times as UTC timestamps; keys, a dict, gets
    each run's metric names (a metric whose last value is NaN included)."""
    rows, token = [], None
    keys = {} if keys is None else keys
    while True:
        page = client.search_runs([experiment_id], max_results=PAGE, page_token=token,
                                  order_by=["attributes.start_time DESC"])
        for run in page:
            info, data = run.info, run.data
            row = {"run_id": info.run_id, "experiment_id": info.experiment_id,
                   "status": info.status, "artifact_uri": info.artifact_uri,
                   "start_time": info.start_time, "end_time": info.end_time}
            row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
            row.update({f"params.{k}": v for k, v in data.params.items()})
            row.update({f"tags.{k}": v for k, v in data.tags.items()})
            rows.append(row)
            keys[info.run_id] = list(data.metrics)
        token = page.token
        if not token:
            break
    runs = pd.DataFrame(rows)
    if runs.empty:
        return runs
    # whole milliseconds: a column with a run still RUNNING is float, which pandas < 2.2 turns
    # into nanoseconds a few off, so that an unchanged run's time would not equal the file's
    for column in ("start_time", "end_time"):
        runs[column] = pd.to_datetime(runs[column].astype("Int64"), unit="ms", utc=True)
    first = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    rest = sorted(c for c in runs.columns if c not in first)
    metrics = [c for c in rest if c.startswith("metrics.")]
    for column in metrics:
        runs[column] = runs[column].astype(float)
    return runs[first + metrics + [c for c in rest if c not in metrics]]


def curve_metrics(runs, keys=None):
    """{run_id: [metric]}: the metrics each run may have logged per epoch (a sweep's parent and
    the metrics logged once aside); keys: each run's metric names, as search() gives them."""
    names = [c[len("metrics."):] for c in runs.columns if c.startswith("metrics.")]
    if keys is None:  # a table not made by search(): the metrics its cells hold
        logged = runs[[f"metrics.{n}" for n in names]].notna().to_numpy()
        keys = {run_id: [names[i] for i in np.flatnonzero(row)]
                for run_id, row in zip(runs["run_id"], logged, strict=True)}
    role = runs["tags.netlab.role"] if "tags.netlab.role" in runs else \
        pd.Series(None, index=runs.index, dtype=object)
    return {run_id: [m for m in keys.get(run_id, []) if m not in ONCE]
            for run_id, parent in zip(runs["run_id"], role.eq(SWEEP_ROLE), strict=True)
            if not parent}


def ends_as_logged(curve, latest):
    """Whether a curve (steps, values) ends where MLflow says the metric's last value is: a
    point logged after the curve was saved (to an ended run, by other code) makes it stale.
    (A late point at an earlier step than the curve's end leaves the last value as it was:
    not seen here.)"""
    steps, values = curve
    if steps is None or values is None or len(steps) == 0:
        return False
    at_end = np.asarray(values, dtype=float)[np.asarray(steps) == np.max(steps)]
    return bool(np.any(at_end == latest) or (np.isnan(latest) and np.any(np.isnan(at_end))))


def read_curve(client, run_id, metric):
    """(steps, values) of one metric of one run: every point MLflow holds, by step, then by
    time (a value logged twice at one step is there twice, the later one second)."""
    points = sorted(client.get_metric_history(run_id, metric),
                    key=lambda p: (p.step, p.timestamp))
    return (np.array([p.step for p in points], dtype=np.int64),
            np.array([p.value for p in points], dtype=float))


def read_curves(client, run, metrics):
    """{metric: (steps, values)} of one run (a row of the table): from the file of its metrics a
    FINISHED run of netlab's holds (tracking.metrics_file: one request, or none from a local
    artifact folder) where it ends at the metric's last value, else the metric's history."""
    found = run_metrics(client, run["run_id"], run["artifact_uri"]) \
        if run["status"] == "FINISHED" else None
    curves = {}
    for metric in metrics:
        curve = by_step(*found[metric]) if found is not None and metric in found else None
        if curve is None or not ends_as_logged(curve, run[f"metrics.{metric}"]):
            curve = read_curve(client, run["run_id"], metric)
        curves[metric] = curve
    return curves


def by_step(steps, values):
    """The points ordered by step, points of one step in the order logged."""
    order = np.argsort(steps, kind="stable")
    return np.asarray(steps, dtype=np.int64)[order], np.asarray(values, dtype=float)[order]


def reusable(runs, previous):
    """The run ids whose curves previous holds whole: runs that had ended when previous was
    made, and ended the same way."""
    if previous is None or previous.empty:
        return set()
    try:
        same = runs[["run_id", "status", "end_time"]].merge(
            previous[["run_id", "status", "end_time"]], on=["run_id", "status", "end_time"])
    except (TypeError, ValueError):  # a file whose columns are of other types: not reused
        return set()
    return set(same.loc[same["status"].isin(ENDED), "run_id"])


def add_curves(client, runs, previous=None, only=None, keys=None):
    """runs with steps.<metric> and curves.<metric> list columns: taken from previous (an earlier
    table of the same runs) where a run has not changed since, read from the store for the
    others. only: the run ids whose curves are read from the store (default every run); the
    others' are null unless previous has them. Returns (table, runs whose curves were read from
    the store). keys: each run's metric names (search() gives them)."""
    kept = reusable(runs, previous)
    wanted = curve_metrics(runs, keys)
    rows = runs.set_index("run_id", drop=False)
    columns = {}
    if kept:
        old = previous[previous["run_id"].isin(kept)].set_index("run_id")
        for column in old.columns:
            if column.startswith(("steps.", "curves.")):
                held = old[column].dropna()
                columns[column] = dict(zip(held.index, held, strict=True))
        for run_id in list(kept):  # still what MLflow holds? (a point logged since: read again)
            for metric in wanted.get(run_id, []):
                curve = (columns.get(f"steps.{metric}", {}).get(run_id),
                         columns.get(f"curves.{metric}", {}).get(run_id))
                if not ends_as_logged(curve, rows.at[run_id, f"metrics.{metric}"]):
                    kept.discard(run_id)
                    break
        for held in columns.values():  # the runs read again are read whole
            for run_id in set(held) - kept:
                del held[run_id]
    n_read = 0
    for run_id, metrics in wanted.items():
        if run_id in kept or not metrics or (only is not None and run_id not in only):
            continue
        found = read_curves(client, rows.loc[run_id], metrics)
        n_read += 1
        for metric, (steps, values) in found.items():
            columns.setdefault(f"steps.{metric}", {})[run_id] = steps
            columns.setdefault(f"curves.{metric}", {})[run_id] = values
    names = sorted({name.split(".", 1)[1] for name in columns})
    added = {f"{kind}.{name}": runs["run_id"].map(columns.get(f"{kind}.{name}", {}))
             for name in names for kind in ("steps", "curves")}
    return pd.concat([runs, pd.DataFrame(added, index=runs.index)], axis=1), n_read


def _is_list(value):
    return isinstance(value, (list, np.ndarray))


def table(client, experiment_id, previous=None, only=None):
    """The experiment's runs with their curves (see add_curves): (DataFrame, runs read)."""
    keys = {}
    runs = search(client, experiment_id, keys)
    if runs.empty:
        return runs, 0
    return add_curves(client, runs, previous, only, keys)


def read(path):
    """A table written by write(), or None when path does not exist or is no such table."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        found = pd.read_parquet(path)
    except (OSError, ValueError, TypeError, NotImplementedError):  # not Parquet, or cut short
        return None
    if found.attrs.get("netlab.export") != FORMAT or not {"run_id", "status", "end_time"} <= \
            set(found.columns):
        return None
    found.attrs = {}  # (pandas copies attrs into every frame made from this one)
    return found


def write(runs, path):
    """Write the table to path as Parquet, whole or not at all (written aside, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    runs = runs.copy()
    runs.attrs = {"netlab.export": FORMAT}  # (pandas keeps attrs in the file's metadata)
    try:
        runs.to_parquet(aside, index=False)
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)


def sweep_parent(runs):
    """The run id of the experiment's newest sweep parent, or None."""
    if "tags.netlab.role" not in runs:
        return None
    parents = runs[runs["tags.netlab.role"].eq(SWEEP_ROLE)]
    return None if parents.empty else parents.sort_values("start_time")["run_id"].iloc[-1]


def export(client, experiment, path=None, log=True):
    """Write the experiment's table to path (default exports/<experiment>.parquet), reusing the
    curves an earlier export there holds; log it under export/ in the newest sweep's parent run
    when log. Returns (path, table, runs whose curves were read from the store, the parent's run
    id or None)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise LookupError(f"no experiment {experiment!r} (found: {names})")
    path = Path(path) if path is not None else default_path(experiment)
    previous = read(path)
    if previous is None and path.exists():
        raise FileExistsError(f"{path} exists and is not an export of netlab's (this version): "
                              "remove it, or name another file with --out")
    runs, n_read = table(client, found.experiment_id, previous)
    if runs.empty:
        raise LookupError(f"experiment {experiment!r} has no runs")
    write(runs, path)
    parent = sweep_parent(runs) if log else None
    if parent is not None:
        client.log_artifact(parent, str(path), "export")
    return path, runs, n_read, parent


def load_study(experiment, tracking_uri=None, path=None):
    """Every run of a study as one DataFrame (see the module's docstring): the export at path
    (default exports/<experiment>.parquet) brought up to date with the store, which is resolved
    as the commands do (tracking_uri, else $MLFLOW_TRACKING_URI, else the project's store). The
    file is not written: `python -m src.export` does that."""
    from netlab.tracking.store import open_existing, resolve_uri

    client = open_existing(resolve_uri(tracking_uri))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise LookupError(f"no experiment {experiment!r} in {resolve_uri(tracking_uri)}")
    path = Path(path) if path is not None else default_path(experiment)
    runs = table(client, found.experiment_id, read(path))[0]
    if runs.empty:
        raise LookupError(f"experiment {experiment!r} has no runs")
    return runs


def n_curves(runs):
    """How many curves the table holds (a run's metric logged per epoch each)."""
    return sum(int(runs[c].map(_is_list).sum()) for c in runs.columns if c.startswith("curves."))


def with_curves(runs):
    """How many runs of the table have a curve."""
    columns = [c for c in runs.columns if c.startswith("curves.")]
    return int(runs[columns].map(_is_list).any(axis=1).sum()) if columns else 0

