"""Runs' per-epoch metrics (learning curves, gradient norms…) read from the tracking store.

MlflowClient.get_metric_history, the one public reader of a metric's history, reads one run's
metric per call: one call per run and metric, in a few threads (they overlap a tracking server's
round trips; against SQLite, whose calls hold the interpreter, they gain little).
"""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd


def history(client, run_id, metrics):
    """A run's per-epoch metrics as a DataFrame: a step column and one column per metric."""
    return histories(client, [run_id], metrics)[0]


def histories(client, run_ids, metrics, threads=4):
    """Per-epoch metrics of several runs, [DataFrame (step, one column per metric)] in order."""
    run_ids = list(run_ids)
    pairs = [(r, m) for r in run_ids for m in metrics]

    def fetch(pair):
        return {p.step: p.value for p in client.get_metric_history(*pair)}

    with ThreadPoolExecutor(max_workers=threads) as pool:
        points = dict(zip(pairs, pool.map(fetch, pairs), strict=True))
    return [pd.DataFrame({m: pd.Series(points[(r, m)], dtype=float) for m in metrics})
            .sort_index().rename_axis("step").reset_index() for r in run_ids]
