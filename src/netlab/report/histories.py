"""Runs' per-epoch metrics (learning curves, gradient norms…) read from the tracking store.

MlflowClient.get_metric_history, the one public reader of a metric's history, reads one run's
metric per call: one call per run and metric, in a few threads (they overlap a tracking server's
round trips; against SQLite, whose calls hold the interpreter, they gain little). A study's table
(netlab.export) that already holds a run's curve (steps.<metric>, curves.<metric>, from the
study's export) is read instead, and else a FINISHED run's metrics.npz (every point it logged).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from netlab.tracking.metrics_file import run_metrics


def history(client, run_id, metrics):
    """A run's per-epoch metrics as a DataFrame: a step column and one column per metric."""
    return histories(client, [run_id], metrics)[0]


def histories(client, run_ids, metrics, threads=4, table=None):
    """Per-epoch metrics of several runs, [DataFrame (step, one column per metric)] in order;
    table: the study's runs, whose curve columns are used where they hold the curve."""
    run_ids = list(run_ids)
    pairs = [(r, m) for r in run_ids for m in metrics]
    rows = {} if table is None else dict(zip(table["run_id"], table.index, strict=True))
    points = {pair: held(table, rows.get(pair[0]), pair[1]) for pair in pairs}
    files = {}  # a FINISHED run's metrics.npz, read once per run
    for run_id, metric in [pair for pair, found in points.items() if found is None]:
        if run_id not in files:
            files[run_id] = run_file(client, table, rows.get(run_id), run_id)
        if files[run_id] is not None and metric in files[run_id]:
            points[(run_id, metric)] = dict(zip(*(a.tolist() for a in files[run_id][metric]),
                                                strict=True))
    missing = [pair for pair, found in points.items() if found is None]

    def fetch(pair):
        return {p.step: p.value for p in client.get_metric_history(*pair)}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        points.update(zip(missing, pool.map(fetch, missing), strict=True))
    return [pd.DataFrame({m: pd.Series(points[(r, m)], dtype=float) for m in metrics})
            .sort_index().rename_axis("step").reset_index() for r in run_ids]


def held(table, row, metric):
    """{step: value} of a run's metric from its row of the table's curve columns, or None if
    not there."""
    if table is None or row is None or f"curves.{metric}" not in table:
        return None
    steps, values = (table.at[row, f"{kind}.{metric}"] for kind in ("steps", "curves"))
    if not isinstance(values, (list, np.ndarray)):
        return None
    return dict(zip(np.asarray(steps).tolist(), np.asarray(values, dtype=float).tolist(),
                    strict=True))


def run_file(client, table, row, run_id):
    """{metric: (steps, values)} of a FINISHED run's metrics.npz (its row of table), or None."""
    if table is None or row is None or table.at[row, "status"] != "FINISHED":
        return None
    return run_metrics(client, run_id, table.at[row, "artifact_uri"])
