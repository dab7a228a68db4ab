"""`python -m src.run` trains one network with the config in conf/; `python -m src.run -m …` sweeps.

Reads like the experiment: derive the seeds, load the data, build the network, train it with the
validation set watched every epoch, measure train/val/test, print one line. train_job() does that
for one composed config and returns the results; tracked_job() runs it inside an MLflow run and
records what it produced (record()); main() is the Hydra entry around it: it skips a config that
already has a FINISHED run (unless +force=true), and also leaves results.yaml and weights.npz in the
job's Hydra output folder (outputs/… or multirun/…/<job>/).
"""

import math
import os
import sys
import time
from pathlib import Path

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from src import data, plots, snapshots, tracking
from src.config import ConfigError, one_line, validate
from src.nn import Diverged, NetClassifier, evaluate, save_weights


def derive_seeds(seed):
    """(data_seed, init_seed): two independent streams derived from one integer seed."""
    data_stream, init_stream = np.random.SeedSequence(seed).spawn(2)
    return int(data_stream.generate_state(1)[0]), int(init_stream.generate_state(1)[0])


def load_data(cfg, data_seed):
    """The dataset cfg.dataset describes, split and standardised (a src.data.Dataset)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    return data.load(params.pop("name"), seed=data_seed, **params)


def build_network(cfg, init_seed):
    """An unfitted classifier with the architecture and training settings of cfg."""
    return NetClassifier(
        hidden_layer_sizes=(cfg.width,) * cfg.depth,
        activation=cfg.activation,
        learning_rate=cfg.lr,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        optimizer=cfg.optimizer.name,
        init=cfg.init,
        l2=cfg.l2,
        momentum=cfg.optimizer.get("momentum", 0.9),
        beta1=cfg.optimizer.get("beta1", 0.9),
        beta2=cfg.optimizer.get("beta2", 0.999),
        random_state=init_seed,
    )


def measure(model, X, y):
    """(loss, accuracy) of a fitted model on X (m, n_features), y (m,)."""
    labels = np.searchsorted(model.classes_, y)
    (loss,), (accuracy,) = evaluate(model.network_, X.T.astype(model.network_.dtype), labels)
    return float(loss), float(accuracy)


def train_job(cfg, callback=None, progress=False):
    """Train and measure the network one composed config describes; returns a dict of results.

    callback(epoch, record, network) is passed to NetClassifier.fit (called after every epoch).
    progress: show an epoch progress bar (tqdm, only once the run has lasted a second).
    A diverging run does not raise: the result says diverged=True and at which epoch.
    BLAS is limited to one thread, so results do not depend on the launcher or the machine's load.
    """
    validate(cfg)
    data_seed, init_seed = derive_seeds(cfg.seed)
    dataset = load_data(cfg, data_seed)
    model = build_network(cfg, init_seed)
    boundaries = None
    if dataset.is_2d:  # the decision boundary at ~16 log-spaced epochs (the report's GIF)
        epochs = snapshots.log_spaced_epochs(cfg.epochs)
        boundaries = snapshots.BoundarySnapshots(dataset.X_train, epochs, y=dataset.y_train)

    bar = tqdm(total=cfg.epochs, unit="epoch", delay=1.0, leave=False, disable=not progress)

    def each_epoch(epoch, record, network):
        bar.update()
        if callback is not None:
            callback(epoch, record, network)
        if boundaries is not None:
            boundaries(epoch, record, network)

    result = {"data": dataset, "model": model, "data_seed": data_seed, "init_seed": init_seed,
              "diverged": False, "diverged_epoch": None, "boundaries": boundaries}
    start = time.perf_counter()
    with threadpool_limits(limits=1), bar:
        try:
            model.fit(
                dataset.X_train, dataset.y_train,
                validation_data=(dataset.X_val, dataset.y_val),
                callback=each_epoch if (progress or callback or boundaries) else None,
            )
            history = model.history_
        except Diverged as error:
            history = error.history
            result.update(diverged=True, diverged_epoch=error.epoch)
        result["train_time_s"] = time.perf_counter() - start
        result["history"] = history
        result["epochs_run"] = len(history.epoch)
        if result["diverged"]:
            result.update({f"{part}_{metric}": math.nan for part in ("train", "val", "test")
                           for metric in ("loss", "accuracy")}, test_f1=math.nan)
            return result
        for part in ("train", "val", "test"):
            X, y = getattr(dataset, f"X_{part}"), getattr(dataset, f"y_{part}")
            result[f"{part}_loss"], result[f"{part}_accuracy"] = measure(model, X, y)
        result["test_f1"] = f1_score(dataset.y_test, model.predict(dataset.X_test), average="macro")
    return result


def summary(result, job=None, overrides=()):
    """The one line a job prints when it ends."""
    head = (f"#{job} " if job is not None else "") + (" ".join(overrides) or "(defaults)")
    if result["diverged"]:
        tail = f"DIVERGED at epoch {result['diverged_epoch']}"
    else:
        parts = ("train", "val", "test")
        tail = "  ".join(f"{part} {result[f'{part}_accuracy']:.3f}" for part in parts)
    return f"{head}: {tail}  ({result['train_time_s']:.2f} s)"


def record(run, cfg, result):
    """Log what a job produced into its run: results, config, data, weights, plots and the model."""
    dataset, model = result["data"], result["model"]
    run.add_text("config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    run.log_dataset(dataset.name, {"training": (dataset.X_train, dataset.y_train),
                                   "validation": (dataset.X_val, dataset.y_val),
                                   "test": (dataset.X_test, dataset.y_test)}, dataset.params)
    history = {key: getattr(result["history"], key) for key in ("epoch", *tracking.EPOCH_METRICS)}
    run.add_figure("plots/learning_curves.png", plots.learning_curves(history, run.run_name))
    finals = ("test_loss", "test_accuracy", "test_f1", "train_time_s", "epochs_run")
    finished = {k: result[k] for k in finals if not math.isnan(result[k])}
    run.log_metrics(finished, result["epochs_run"])
    if result["boundaries"] is not None:
        run.add_file(snapshots.FILENAME, result["boundaries"].save)
    if result["diverged"]:
        run.diverged(result["diverged_epoch"])
        return
    run.add_file("weights.npz", lambda path: save_weights(model.network_, path))
    if dataset.is_2d:
        X = np.vstack([dataset.X_train, dataset.X_val, dataset.X_test])
        y = np.concatenate([dataset.y_train, dataset.y_val, dataset.y_test])
        figure = plots.decision_boundary(model.predict, X, y, run.run_name)
        run.add_figure("plots/decision_boundary.png", figure)
    else:
        figure = plots.confusion_matrix(dataset.y_test, model.predict(dataset.X_test), run.run_name)
        run.add_figure("plots/confusion_matrix.png", figure)
    raw_example = dataset.X_test[:5] * dataset.scale + dataset.mean  # the model takes raw features
    run.log_model("weights.npz", model.classes_, raw_example, dataset.mean, dataset.scale)


def tracked_job(cfg, run_name, tags=None, progress=False):
    """train_job() inside an MLflow run (cfg.mlflow's store and experiment); returns the results."""
    params = OmegaConf.to_container(cfg, resolve=True)
    params.pop("mlflow")
    tags = {"config_hash": config_hash(cfg), "seed": cfg.seed, **(tags or {})}
    with tracking.RunLogger(tracking.resolve_uri(cfg.mlflow.tracking_uri), experiment(cfg),
                            run_name=run_name, params=params, tags=tags, epochs=cfg.epochs,
                            log_every=cfg.log_every) as run:
        result = train_job(cfg, callback=run.log_epoch, progress=progress)
        record(run, cfg, result)
    return result


def config_hash(cfg):
    """What identifies a job's results: the resolved config without where and how it is logged."""
    return tracking.config_hash(OmegaConf.to_container(cfg, resolve=True),
                                exclude=("mlflow", "log_every", "force"))


def experiment(cfg):
    """The MLflow experiment: mlflow.experiment, else the study's name, else "netlab"."""
    study = None
    if HydraConfig.initialized():
        study = HydraConfig.get().runtime.choices.get("experiment")
    return tracking.experiment_name(cfg.mlflow.experiment, study)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    """Hydra entry: train one network, print one line; returns the validation accuracy (or NaN).

    A config whose run already FINISHED in the experiment is not trained again (+force=true does).
    In a multirun a job that raises ends its run FAILED and the sweep goes on.
    """
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    job = hydra_cfg.job.num if multirun else None
    overrides = [o for o in hydra_cfg.overrides.task if not o.startswith("+experiment=")]
    head = (f"#{job} " if job is not None else "") + (" ".join(overrides) or "(defaults)")
    done = None if cfg.get("force") else tracking.finished_run(
        tracking.resolve_uri(cfg.mlflow.tracking_uri), experiment(cfg), config_hash(cfg))
    if done is not None:
        print(f"{head}: already FINISHED as run {done.info.run_id}, skipped (+force=true reruns)")
        return done.data.metrics.get("val_accuracy", math.nan)
    tags = {"overrides": " ".join(hydra_cfg.overrides.task), "job_num": job}
    name = " ".join(o for o in overrides if not o.lstrip("+").startswith(("mlflow.", "force=")))
    try:
        result = tracked_job(cfg, name or "defaults", tags,
                             progress=not multirun and sys.stderr.isatty())
    except Exception as error:
        if not multirun:
            raise
        print(f"{head}: FAILED {type(error).__name__}: {error}", flush=True)
        return math.nan
    print(summary(result, job, overrides), flush=True)
    save_results(result, Path(hydra_cfg.runtime.output_dir))
    return result["val_accuracy"]


def save_results(result, folder):
    """Write the job's scalar results (results.yaml) and, unless diverged, weights.npz to folder."""
    scalars = {k: v for k, v in result.items() if isinstance(v, bool | int | float | type(None))}
    OmegaConf.save(OmegaConf.create(scalars), folder / "results.yaml")
    if not result["diverged"]:
        save_weights(result["model"].network_, folder / "weights.npz")


def cli():
    """Run main(); a config Hydra or validate() rejects ends as one line on stderr, status 1."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":  # the user asked for full tracebacks
        return main()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra's errors reach us instead of printing them
    try:
        return main()
    except (ConfigError, HydraException, OmegaConfBaseException) as error:
        raise SystemExit(f"config error: {one_line(error)}") from None


if __name__ == "__main__":
    cli()
