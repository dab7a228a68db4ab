"""Runs logged into real stores for the report's tests: trained networks, or chosen numbers.

train_and_log() trains a real network as src/run.py does and logs it as src/run.py records it,
with the boundary snapshots and, per epoch, the training dynamics the harness will log once the
branches merge (grad_norm_<l>, weight_norm_<l>, dead_<l> or saturated_<l>), computed here from what
the network holds after each epoch. log_numbers() logs a run with chosen metrics and no training.
"""

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from src import tracking
from src.experiment import derive_seeds, load_data
from src.figures.run_plots import hidden_activations
from src.paths import PROJECT_ROOT
from src.run import record, train_job


def config(*overrides):
    """A composed config, as a job of `python -m src.run` gets it."""
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def params_of(cfg):
    """The params src/run.py logs: the resolved config without mlflow.*, dotted."""
    tree = OmegaConf.to_container(cfg, resolve=True)
    tree.pop("mlflow", None)
    return tracking.flatten(tree)


def dynamics(network, X):
    """Per layer: ‖dW[l]‖, ‖W[l]‖; per hidden layer the share of dead (relu) or saturated
    (sigmoid, tanh: g′ below 1 % of its maximum on most samples) units."""
    found = {}
    for l in range(1, network.L + 1):
        found[f"grad_norm_{l}"] = float(np.linalg.norm(network.dW[l]))
        found[f"weight_norm_{l}"] = float(np.linalg.norm(network.W[l]))
    for l, A in enumerate(hidden_activations(network, X), start=1):
        if network.activation == "relu":
            found[f"dead_{l}"] = float(np.mean((A <= 0).all(axis=1)))
        else:
            slope = A * (1 - A) / 0.25 if network.activation == "sigmoid" else 1 - A**2
            found[f"saturated_{l}"] = float(np.mean((slope < 0.01).mean(axis=1) > 0.5))
    return found


def train_and_log(uri, experiment, parent_id, overrides, tags=None, normalised=None,
                  with_dynamics=True):
    """Train one config and log it as src/run.py does (plus dynamics); returns the run id.

    normalised: {key: None} params logged as null, with a `normalised` tag naming them.
    """
    cfg = config(*overrides)
    params = params_of(cfg)
    tags = {"config_hash": tracking.config_hash(params), "seed": cfg.seed, **(tags or {})}
    if normalised:
        params.update(normalised)
        tags["normalised"] = ", ".join(normalised) + ": depth=0 has no hidden layer"
        tags["config_hash"] = tracking.config_hash(params)
    data = load_data(cfg, derive_seeds(cfg.seed)[0])
    with tracking.RunLogger(uri, experiment, run_name=" ".join(overrides), params=params,
                            tags=tags, epochs=cfg.epochs, parent_run_id=parent_id) as run:
        def each_epoch(epoch, rec, network):
            logged = epoch % run.log_every == 0 or epoch in (1, cfg.epochs)
            extra = dynamics(network, data.X_train) if with_dynamics and logged else {}
            run.log_epoch(epoch, {**rec, **extra}, network)

        result = train_job(cfg, callback=each_epoch)
        record(run, cfg, result)
    return run.run_id


def log_numbers(uri, experiment, parent_id, params, metrics, tags=None, curve=None):
    """Log a run with chosen final metrics (and, optionally, a per-epoch curve) and no training.

    curve: {metric: [values per epoch 1…]}. Returns the run id.
    """
    params = {k: v for k, v in params.items()}
    tags = {"config_hash": tracking.config_hash(params), "seed": params.get("seed"),
            **(tags or {})}
    with tracking.RunLogger(uri, experiment, run_name=" ".join(f"{k}={v}" for k, v in
                                                                params.items()),
                            params=params, tags=tags, parent_run_id=parent_id) as run:
        for name, values in (curve or {}).items():
            for epoch, value in enumerate(values, start=1):
                run.log_metrics({name: value}, epoch)
        run.log_metrics(metrics, step=len(next(iter(curve.values()))) if curve else 0)
    return run.run_id


def new_sweep(uri, experiment, name=None):
    """A sweep's parent run (tag netlab.role = sweep), left RUNNING; returns (client, its id)."""
    client = tracking.open_store(uri)
    experiment_id = tracking.get_or_create_experiment(client, experiment)
    parent = client.create_run(experiment_id, run_name=name or f"{experiment} sweep",
                               tags={"netlab.role": "sweep"})
    return client, parent.info.run_id

