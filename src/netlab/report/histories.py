"""Runs' per-epoch metrics (learning curves, gradient norms…) read from the tracking store.

MLflow's client reads one run's metric per call (~9 ms each through its ORM). A database store
(SQLite, PostgreSQL…) also answers one metric for many runs in one query (its
get_metric_history_bulk, which MLflow's own UI uses): used when the store has it, ~8× cheaper.
Otherwise (a tracking server), one call per run and metric, in a few threads.
"""

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

CHUNK = 500  # run ids per query (well under SQLite's limit on bound parameters)


def history(client, run_id, metrics):
    """A run's per-epoch metrics as a DataFrame: a step column and one column per metric."""
    return histories(client, [run_id], metrics)[0]


def _bulk(client):
    """The store's one-query-for-many-runs reader, or None (a private attribute: checked)."""
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return getattr(store, "get_metric_history_bulk", None)


def histories(client, run_ids, metrics, threads=4, bulk=True):
    """Per-epoch metrics of several runs, [DataFrame (step, one column per metric)] in order.

    bulk=False: one call per run and metric even where the store could answer in bulk.
    """
    run_ids = list(run_ids)
    points = {(r, m): {} for r in run_ids for m in metrics}
    bulk = _bulk(client) if bulk else None
    if bulk is not None:
        for metric in metrics:
            for start in range(0, len(run_ids), CHUNK):
                for found in bulk(run_ids[start:start + CHUNK], metric, 10**8):
                    points[(found.run_id, metric)][found.step] = found.value
    else:
        def fetch(pair):
            return pair, {p.step: p.value for p in client.get_metric_history(*pair)}

        with ThreadPoolExecutor(max_workers=threads) as pool:
            points.update(pool.map(fetch, list(points)))
    return [pd.DataFrame({m: pd.Series(points[(r, m)], dtype=float) for m in metrics})
            .sort_index().rename_axis("step").reset_index() for r in run_ids]
