"""A run's metrics in one file: every point a FINISHED run logged while it ran, as MLflow keeps it.

MLflow's one public reader of a metric's history, MlflowClient.get_metric_history, reads one
metric of one run per request (about 7 ms on a SQLite store of 1,000 runs: its schema indexes the
metrics by key first), so a study's curves cost thousands of requests. RunLogger writes this file
into a run's artifacts as the run ends FINISHED; netlab.export and the report read it in one
request. Only its tracking time (tracking_time_s), logged as the run ends, is not in it.
"""

import tempfile

import numpy as np

from .store import local_artifact_folder

METRICS_FILE = "metrics.npz"


def write_metrics_file(path, points):
    """Write {metric: [(step, timestamp, value)]} as four arrays: names, counts, steps, values."""
    # metric after metric, in the order logged; a point logged twice (same step, time and value)
    # once, as MLflow keeps it
    kept = {key: list(dict.fromkeys(logged)) for key, logged in points.items()}
    with open(path, "wb") as file:
        np.savez(file, names=np.array(list(kept), dtype=str),
                 counts=np.array([len(v) for v in kept.values()], dtype=np.int64),
                 steps=np.array([step for v in kept.values() for step, _, _ in v], np.int64),
                 values=np.array([value for v in kept.values() for _, _, value in v], float))


def read_metrics_file(path):
    """{metric: (steps, values)} of a file write_metrics_file wrote."""
    with np.load(path) as arrays:
        names, counts = arrays["names"], arrays["counts"]
        steps, values = arrays["steps"], arrays["values"]
    ends = np.cumsum(counts)
    return {str(name): (steps[end - n : end], values[end - n : end])
            for name, n, end in zip(names, counts, ends, strict=True)}


def run_metrics(client, run_id, artifact_uri):
    """{metric: (steps, values)} from a run's METRICS_FILE, or None when it has none."""
    folder = local_artifact_folder(artifact_uri)
    try:
        if folder is not None:  # a local artifact folder: read in place
            path = folder / METRICS_FILE
            return read_metrics_file(path) if path.is_file() else None
        with tempfile.TemporaryDirectory() as there:
            return read_metrics_file(client.download_artifacts(run_id, METRICS_FILE, there))
    except Exception:  # noqa: BLE001 - no such file, or not one netlab wrote: the histories
        return None
