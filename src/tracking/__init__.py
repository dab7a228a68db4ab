"""Experiment tracking in MLflow. Knows nothing of backprop: it records what it is given.

store: where runs go and keeping the store sound; logger.RunLogger: one run; sweep: a sweep's parent
run; callbacks: the Hydra callback around a run or sweep; model: the network as a pyfunc model.
Names are imported on first use, so that `import src.tracking` does not import MLflow (a config
that validation rejects exits in a moment).
"""

import importlib
import os

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file otherwise

_WHERE = {
    "EPOCH_METRICS": "logger", "RunLogger": "logger", "config_hash": "logger",
    "default_log_every": "logger", "experiment_name": "logger", "flatten": "logger",
    "log_network_model": "model", "save_preprocessing": "model",
    "TrackingUnavailable": "store", "check_reachable": "store", "default_uri": "store",
    "find_finished": "store", "finished_run": "store", "get_or_create_experiment": "store",
    "mark_stale_runs_killed": "store", "open_store": "store", "resolve_uri": "store",
    "PARENT_ENV": "names",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
