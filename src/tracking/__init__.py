"""Experiment tracking in MLflow. Knows nothing of backprop: it records what it is given.

store: where runs go and keeping the store sound; logger.RunLogger: one run; callbacks: the Hydra
callback around a sweep; model: the network as a pyfunc model.
"""

import os

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar per file otherwise

from mlflow import MlflowClient  # noqa: E402

from .logger import (  # noqa: E402
    EPOCH_METRICS,
    PARENT_ENV,
    RunLogger,
    config_hash,
    default_log_every,
    experiment_name,
    flatten,
)
from .model import log_network_model, save_preprocessing  # noqa: E402
from .store import (  # noqa: E402
    TrackingUnavailable,
    check_reachable,
    default_uri,
    find_finished,
    get_or_create_experiment,
    mark_stale_runs_killed,
    open_store,
    resolve_uri,
)


def finished_run(tracking_uri, experiment, chash):
    """The FINISHED run of `experiment` whose config hash is chash, or None."""
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return find_finished(client, found.experiment_id, chash) if found else None


__all__ = [
    "EPOCH_METRICS", "PARENT_ENV", "RunLogger", "TrackingUnavailable", "check_reachable",
    "config_hash", "default_log_every", "default_uri", "experiment_name", "find_finished", "finished_run", "flatten",
    "get_or_create_experiment", "log_network_model", "mark_stale_runs_killed", "open_store",
    "resolve_uri", "save_preprocessing",
]
