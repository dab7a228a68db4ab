"""Runs' per-epoch metrics (learning curves, gradient norms…) read from the tracking store.

One store call per run and metric (MLflow has no call for several), made in a few threads: each
mostly waits on the store.
"""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd


def history(client, run_id, metrics):
    """A run's per-epoch metrics as a DataFrame: a step column and one column per metric."""
    return histories(client, [run_id], metrics)[0]


def histories(client, run_ids, metrics, threads=4):
    """Per-epoch metrics of several runs, [DataFrame (step, one column per metric)] in order."""
    def fetch(pair):
        run_id, metric = pair
        return pd.Series({p.step: p.value for p in client.get_metric_history(run_id, metric)},
                         dtype=float)

    pairs = [(r, m) for r in run_ids for m in metrics]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        series = list(pool.map(fetch, pairs))
    frames = []
    for i in range(len(run_ids)):
        columns = dict(zip(metrics, series[i * len(metrics):(i + 1) * len(metrics)], strict=True))
        frames.append(pd.DataFrame(columns).sort_index().rename_axis("step").reset_index())
    return frames
