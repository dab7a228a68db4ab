"""What a run records: its curves during training, then its results, config, data, weights, figures
and (for a single run) its model. The bridge between the experiment (netlab.experiment) and the
tracking store (netlab.tracking.logger): it knows the shape of a Replica and what a run promises.
"""

import math
from functools import partial

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

from netlab import snapshots
from netlab.figures import run_plots
from netlab.nn import save_weights
from netlab.tracking.logger import training_code_diff
from netlab.tracking.model import PREPROCESSING, save_preprocessing

EPOCH_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
CURVE_POINTS = 32  # per curve by default, log-spaced: dense where training changes fastest
# (each point of each metric is a row of ~250 bytes in the store: 32 keep a run small and fast)
FINAL_METRICS = ("test_loss", "test_accuracy", "test_f1", "train_time_s", "epochs_run")
# The curves' last point is the trained network measured (experiment.measure), as the job's line
# and results.yaml give it: the training pass's own figures lag a step behind (epochs=1: 0.13
# against 0.83), and with early stopping the network kept is the best epoch's, not the last's.
MEASURED_AT_END = EPOCH_METRICS


def curve_epochs(epochs, log_every=None):
    """The epochs a run's curves are logged at: about CURVE_POINTS log-spaced ones (every epoch
    early on, sparser later), or every log_every-th and the first; the last always."""
    if log_every:
        return {1, int(epochs), *range(int(log_every), int(epochs) + 1, int(log_every))}
    return set(snapshots.log_spaced_epochs(epochs, n=CURVE_POINTS))


DYNAMICS_EVERY = 2  # the dynamics at every other curve epoch (~15 points) and the last


def dynamics_epochs(curve):
    """The epochs the training dynamics are probed at: every DYNAMICS_EVERY-th of the curve
    epochs, and the last. A subset of the curve's, so each is logged; half the rows: per-layer
    statistics are many keys, and each row of a metric's history costs the store ~250 bytes."""
    ordered = sorted(curve)
    return set(ordered[::DYNAMICS_EVERY]) | set(ordered[-1:])


class Curves:
    """The per-epoch observer: buffers each replica's figures into its run at curve_epochs();
    a curve ends where its training did, at the trained network's measured figures (record()
    logs them, MEASURED_AT_END), or for a diverged replica at its last finite epoch (finish())."""

    def __init__(self, loggers, epochs, log_every=None):
        self.loggers = loggers  # one RunLogger per replica
        self.epochs = curve_epochs(epochs, log_every)
        self.probed = dynamics_epochs(self.epochs)  # where experiment.train adds the dynamics
        self.logged = [0] * len(loggers)  # the last epoch written, per replica
        self.last = max(self.epochs)

    def __call__(self, epoch, record, active):
        """on_epoch(epoch, {metric: array over replicas}, active mask) of experiment.train."""
        if epoch not in self.epochs:
            return
        for r in np.flatnonzero(active):
            self.loggers[r].log_metrics({k: v[r] for k, v in record.items()
                                         if epoch != self.last or k not in MEASURED_AT_END},
                                        epoch)
            self.logged[r] = epoch

    def finish(self, r, history, diverged_epoch=None):
        """Write a diverged replica r's last finite epoch from its History if it was not a
        logged one (a replica that trained to its end gets its measured figures from record())."""
        if diverged_epoch is None:
            return
        epochs = list(history.epoch) if history is not None else []
        i = len(epochs) - 1
        if i >= 0 and epochs[i] == diverged_epoch:
            i -= 1
        if i >= 0 and epochs[i] != self.logged[r]:
            last = {k: getattr(history, k)[i] for k in EPOCH_METRICS
                    if len(getattr(history, k)) > i}
            self.loggers[r].log_metrics(last, epochs[i])


def record(run, cfg, replica, model=False):
    """Log what a replica produced into its run (a RunLogger): results, config, data, weights,
    boundaries (with the step slider's images), plots, and the pyfunc model when `model`."""
    dataset = replica.data
    run.add_text("config.yaml", OmegaConf.to_yaml(with_seed(cfg, replica.seed), resolve=True))
    diff = training_code_diff()
    if diff:  # uncommitted training code: what it was, so the run can be rebuilt
        run.add_text("code.diff", diff)
    run.log_dataset(dataset.name, {"training": (dataset.X_train, dataset.y_train),
                                   "validation": (dataset.X_val, dataset.y_val),
                                   "test": (dataset.X_test, dataset.y_test)}, dataset.params,
                    digest=dataset.content_hash)
    finals = {k: replica.metrics[k] for k in (*FINAL_METRICS, *MEASURED_AT_END)
              if not math.isnan(replica.metrics[k])}
    run.log_metrics(finals, replica.metrics["epochs_run"])
    snaps = replica.boundaries
    if snaps is not None:
        run.add_file(snapshots.FILENAME, snaps.save)
        frames = snaps.as_dict()
        recorded = frames["epochs"]  # every other of the ~16 log-spaced epochs, first and last
        pick = np.unique(np.linspace(0, len(recorded) - 1, min(SLIDER_FRAMES, len(recorded)))
                         .round().astype(int)) if len(recorded) else []
        chosen = {**frames, "epochs": recorded[pick], "proba": frames["proba"][pick]}
        for epoch, image in run_plots.snapshot_images(chosen, run.run_name):  # only those kept
            run.add_image("decision_boundary", image, epoch)
    if replica.diverged:
        run.diverged(replica.diverged_epoch, replica.diverged_reason)
        return
    network = replica.network
    run.add_file("weights.npz", lambda path: save_weights(network, path))
    if dataset.is_2d:
        X = np.vstack([dataset.X_train, dataset.X_val, dataset.X_test])
        y = np.concatenate([dataset.y_train, dataset.y_val, dataset.y_test])
        final = snaps.at_end(network, replica.metrics["epochs_run"])  # no second grid
        _plot(run, "decision_boundary", run_plots.decision_boundary(snaps.x0, snaps.x1, final,
                                                                    X, y, run.run_name))
        tiles = run_plots.hidden_units(network, dataset.X_train, dataset.y_train, run.run_name)
        if tiles is not None:
            _plot(run, "hidden_units", tiles)
    else:
        predicted = _predict(replica, dataset.X_test)
        _plot(run, "confusion_matrix", run_plots.confusion_matrix(
            dataset.y_test, predicted, labels=np.arange(dataset.n_classes), title=run.run_name))
    encoding = dataset.encoding
    if encoding is not None and encoding.text:  # raw rows of training, whose categories are known
        raw_example = dataset.X_train[:5] * dataset.scale + dataset.mean
    else:
        raw_example = dataset.X_test[:5] * dataset.scale + dataset.mean  # raw features in
    classes = np.asarray(dataset.classes) if len(dataset.classes) else np.arange(dataset.n_classes)
    run.add_file(PREPROCESSING, lambda path: save_preprocessing(
        path, classes, dataset.mean, dataset.scale, raw_example, encoding))
    if model:
        run.log_model("weights.npz", PREPROCESSING)


# what every FINISHED run has (record() writes them): one without them is not done
RUN_FILES = ("config.yaml", "weights.npz", PREPROCESSING)

SLIDER_FRAMES = 8  # boundary images for MLflow's step slider (of the ~16 snapshots kept)


def _plot(run, name, image):
    """Stage a run's plot as plots/<name>.png (a palette PNG: its flat colours need few)."""
    run.add_file(f"plots/{name}.png", partial(run_plots.save_png, image.quantize(
        colors=64, method=Image.Quantize.FASTOCTREE)))


def log_best_model(client, parent, runs):
    """Log the pyfunc model of the best of a sweep's child runs (by validation accuracy), unless
    an earlier attempt of the sweep logged it already; returns its run id.

    Every run keeps its weights and preprocessing; only the best of a sweep (and every single
    run) is also a pyfunc model: logging one costs more than training a small network."""
    from netlab.tracking.logger import staging_folder
    from netlab.tracking.model import input_example, log_network_model
    from netlab.tracking.store import missing_artifacts, set_shared_tag

    finished = [r for r in runs
                if r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics]
    finished.sort(key=lambda r: (r.data.metrics["val_accuracy"],
                                 r.data.metrics.get("test_accuracy", 0)), reverse=True)
    # the best whose files are still there: closing a sweep does not fail on one run's lost
    # files (a run without them is not done; the next sweep trains it again)
    for best in finished:
        if not missing_artifacts(client, best, RUN_FILES):
            break
    else:
        return None
    run_id = best.info.run_id
    if client.get_run(parent).data.tags.get("best_run") == run_id:
        return run_id  # a rerun that changed nothing: its model is there
    with staging_folder("netlab-best-") as folder:
        weights = client.download_artifacts(run_id, "weights.npz", folder)
        preprocessing = client.download_artifacts(run_id, PREPROCESSING, folder)
        example = input_example(preprocessing)
        log_network_model(run_id, weights, preprocessing, example,
                          experiment_id=best.info.experiment_id,
                          tracking_uri=client.tracking_uri)
    set_shared_tag(client.set_tag, parent, "best_run", run_id)
    return run_id


def _predict(replica, X):
    from netlab.experiment import predict

    return predict(replica, X)


def with_seed(cfg, seed):
    """cfg with `seed` set to one replica's seed and `seeds` to 1: the config of that run alone."""
    cfg = cfg.copy()
    cfg.seed, cfg.seeds = seed, 1
    return cfg
