"""Runs logged into real stores for the report's tests: trained networks, or chosen numbers.

train_and_log() trains and logs a real job through the harness's own code (netlab.job: its runs
carry the curves, the training dynamics at the curve epochs, the boundary snapshots, weights and
plots); log_numbers() logs a run with chosen metrics and no training.
"""

from hydra import compose, initialize_config_dir

from netlab import identity, job
from netlab.paths import PROJECT_ROOT
from netlab.tracking.logger import RunLogger, new_client
from netlab.tracking.store import get_or_create_experiment, open_store


def config(*overrides):
    """A composed config, as a job of `python -m src.run` gets it."""
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def train_and_log(uri, experiment, parent_id, overrides, tags=None):
    """Train one config and log it as a sweep's job does; returns the run id."""
    cfg = config(*overrides)
    context = job.JobContext(tracking_uri=uri, experiment=experiment, overrides=list(overrides),
                             multirun=True, force=True, parent_run_id=parent_id,
                             tags=dict(tags or {}), name=" ".join(overrides))
    return job.train_and_record(cfg, context).run_ids()[0]


def log_numbers(uri, experiment, parent_id, params, metrics, tags=None, curve=None):
    """Log a run with chosen final metrics (and, optionally, a per-epoch curve) and no training.

    curve: {metric: [values per epoch 1…]}. Returns the run id.
    """
    params = {k: v for k, v in params.items()}
    tags = {"config_hash": identity.config_hash(params), "seed": params.get("seed"),
            **(tags or {})}
    client = new_client(uri)
    with RunLogger(client, get_or_create_experiment(client, experiment),
                   run_name=" ".join(f"{k}={v}" for k, v in params.items()),
                   params=params, tags=tags, parent_run_id=parent_id) as run:
        for name, values in (curve or {}).items():
            for epoch, value in enumerate(values, start=1):
                run.log_metrics({name: value}, epoch)
        run.log_metrics(metrics, step=len(next(iter(curve.values()))) if curve else 0)
    return run.run_id


def new_sweep(uri, experiment, name=None, params=None):
    """A sweep's parent run (tag netlab.role = sweep), left RUNNING; returns (client, its id).

    params: what a sweep's parent logs, `sweep.<key>` for each key swept (its values as given)
    and the fixed config values."""
    client = open_store(uri)
    experiment_id = get_or_create_experiment(client, experiment)
    parent = client.create_run(experiment_id, run_name=name or f"{experiment} sweep",
                               tags={"netlab.role": "sweep"})
    for key, value in (params or {}).items():
        client.log_param(parent.info.run_id, key, value)
    return client, parent.info.run_id

