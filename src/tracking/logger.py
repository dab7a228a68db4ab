"""One run in MLflow: params, tags, per-epoch metrics buffered into batches, results and files.

Writes cost milliseconds against a store while a small network trains an epoch in microseconds, so
per-epoch metrics are kept in memory and sent with log_batch every `flush_seconds` and at the end;
files are staged in a temporary folder and uploaded in one call when the run closes.
"""

import functools
import hashlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from .model import log_network_model, save_preprocessing
from .names import COMMAND_ENV, PARENT_ENV
from .store import PROJECT_ROOT, get_or_create_experiment, process_tags

MAX_POINTS = 200  # per curve, by default
EPOCH_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
PACKAGES = ("numpy", "scikit-learn", "mlflow", "hydra-core", "omegaconf", "matplotlib")


def default_log_every(epochs, max_points=MAX_POINTS):
    """Every how many epochs to log so that a curve of `epochs` has at most ~max_points points."""
    return max(1, math.ceil(int(epochs) / max_points))


def flatten(tree, prefix=""):
    """Nested dict -> {dotted.key: leaf}; lists stay leaves."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def config_hash(tree, exclude=()):
    """A stable hash of a resolved config (nested dict) without the top-level keys in exclude."""
    kept = {k: v for k, v in tree.items() if k not in exclude}
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def environment_tags():
    """Tags describing the code and the machinery: git commit and dirtiness, versions."""
    tags = {"versions.python": platform.python_version()}
    for package in PACKAGES:
        try:
            tags[f"versions.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    git = ["git", "-C", str(PROJECT_ROOT)]
    try:
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        # the committed study reports (experiments/<study>/) are outputs, not code or config
        status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--",
                                 ".", ":(exclude,glob)experiments/*/**"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
        tags.update(git_commit=commit, git_dirty=str(bool(status.strip())).lower())
    except (OSError, subprocess.SubprocessError):
        tags.update(git_commit="unknown", git_dirty="unknown")
    return tags


def experiment_name(explicit=None, study=None):
    """The experiment runs go to: the one asked for, else the study's name, else "netlab"."""
    return explicit or study or "netlab"


def command_line():
    """The command the user typed (the launching process's, inside a parallel worker)."""
    return os.environ.get(COMMAND_ENV) or shlex.join(getattr(sys, "orig_argv", sys.argv))


def _short(value, limit=6000):
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RunLogger:
    """A context manager for one MLflow run (nested under parent_run_id when given).

    log_epoch(epoch, record, network) fits NetClassifier's per-epoch callback. On leaving, pending
    metrics and staged files are written and the run ends FINISHED; if the block raised, FAILED
    (KILLED on Ctrl-C) with the error as a tag, and the exception propagates; after diverged(),
    FAILED with diverged=true.
    """

    def __init__(self, tracking_uri, experiment, *, run_name=None, params=None, tags=None,
                 parent_run_id=None, epochs=None, log_every=None, flush_seconds=5.0):
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.run_name = run_name
        self.parent_run_id = parent_run_id or os.environ.get(PARENT_ENV) or None
        self.params, self.tags = dict(params or {}), dict(tags or {})
        self.epochs = epochs
        self.log_every = int(log_every) if log_every else default_log_every(epochs or 1)
        self.flush_seconds = flush_seconds
        self.run_id = None
        self.status = None
        self.tracking_seconds = 0.0  # wall time spent in this logger (the benchmark reads it)
        self._pending, self._last_flush, self._failure, self._unlogged = [], 0.0, None, None
        self._staging = None

    # --------------------------------------------------------------- lifecycle
    def __enter__(self):
        t0 = time.perf_counter()
        mlflow.set_tracking_uri(self.tracking_uri)
        self.client = MlflowClient(self.tracking_uri)
        experiment_id = get_or_create_experiment(self.client, self.experiment)
        tags = {**environment_tags(), "command": command_line(), **process_tags(),
                **{k: _short(v, 5000) for k, v in self.tags.items()}}
        run = mlflow.start_run(experiment_id=experiment_id, run_name=self.run_name,
                               parent_run_id=self.parent_run_id, tags=tags)
        self.run_id = run.info.run_id
        self.experiment_id = experiment_id
        params = [Param(k, _short(v)) for k, v in flatten(self.params).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[i : i + 100], synchronous=True)
        self._staging = tempfile.TemporaryDirectory(prefix="netlab-run-")
        self._last_flush = time.monotonic()
        self.tracking_seconds += time.perf_counter() - t0
        return self

    def __exit__(self, exc_type, exc, tb):
        t0 = time.perf_counter()
        try:
            self.flush(closing=True)
            if any(Path(self._staging.name).iterdir()):
                self.client.log_artifacts(self.run_id, self._staging.name)
        finally:
            self._staging.cleanup()
            if exc is not None:
                status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
                error = _short(f"{type(exc).__name__}: {exc}", 5000)
                self.client.set_tag(self.run_id, "error", error)
            else:
                status = "FAILED" if self._failure else "FINISHED"
            self.tracking_seconds += time.perf_counter() - t0
            self.client.log_metric(self.run_id, "tracking_time_s", self.tracking_seconds,
                                   step=0, synchronous=True)
            mlflow.end_run(status)
            self.status = status
        return False

    # --------------------------------------------------------------- metrics
    def log_epoch(self, epoch, record, network=None):
        """Buffer this epoch's figures if it is the first or every log_every-th; the last epoch
        seen is always written when the run closes (end of training, early stop or divergence)."""
        if epoch % self.log_every == 0 or epoch == 1:
            self._buffer(record, epoch)
            self._unlogged = None
        else:
            self._unlogged = (epoch, record)

    def log_metrics(self, metrics, step=0):
        """Buffer a dict of metrics at a step (written at the next flush)."""
        self._buffer(metrics, step)

    def _buffer(self, metrics, step):
        t0 = time.perf_counter()
        now = int(time.time() * 1000)
        self._pending.extend(Metric(k, float(v), now, int(step)) for k, v in metrics.items())
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        self.tracking_seconds += time.perf_counter() - t0

    def flush(self, closing=False):
        """Write the buffered metrics now, in batches of at most 1000."""
        if closing and self._unlogged is not None:
            epoch, record = self._unlogged
            self._unlogged = None
            self.log_metrics(record, epoch)
        pending, self._pending = self._pending, []
        for i in range(0, len(pending), 1000):
            self.client.log_batch(self.run_id, metrics=pending[i : i + 1000], synchronous=True)
        self._last_flush = time.monotonic()

    def diverged(self, epoch):
        """Record a non-finite loss at `epoch`: the run ends FAILED with diverged=true, its curve
        kept up to the last finite epoch."""
        self.set_tags({"diverged": "true", "diverged_epoch": str(epoch)})
        self._failure = f"diverged at epoch {epoch}"

    def set_tags(self, tags):
        """Set tags on the run now."""
        t0 = time.perf_counter()
        self.client.log_batch(self.run_id,
                              tags=[RunTag(k, _short(v, 5000)) for k, v in tags.items()],
                              synchronous=True)
        self.tracking_seconds += time.perf_counter() - t0

    # --------------------------------------------------------------- files
    def _staged(self, name):
        path = Path(self._staging.name) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def add_file(self, name, write):
        """Stage artifact `name` (e.g. 'weights.npz'), written by write(path), sent at the end."""
        t0 = time.perf_counter()
        write(self._staged(name))
        self.tracking_seconds += time.perf_counter() - t0

    def add_text(self, name, text):
        """Stage a text artifact."""
        self._staged(name).write_text(text)

    def add_figure(self, name, figure, dpi=100):
        """Stage a matplotlib Figure as a PNG artifact (e.g. 'plots/learning_curves.png')."""
        t0 = time.perf_counter()
        # zlib level 1: a third of the encoding time of the default level, files ~10 % larger
        figure.savefig(self._staged(name), dpi=dpi, pil_kwargs={"compress_level": 1})
        self.tracking_seconds += time.perf_counter() - t0

    def log_dataset(self, name, parts, source=None):
        """Log a dataset's parts as run inputs: parts maps a context ('training', …) to (X, y);
        source describes the generator and its parameters; MLflow adds each part's digest."""
        from mlflow.data.code_dataset_source import CodeDatasetSource

        t0 = time.perf_counter()
        origin = CodeDatasetSource({k: str(v) for k, v in (source or {}).items()})
        datasets = [mlflow.data.from_numpy(X, targets=y, name=name, source=origin)
                    for X, y in parts.values()]
        for attempt in (1, 2):
            try:
                mlflow.log_inputs(datasets=datasets, contexts=list(parts),
                                  tags_list=[None] * len(parts))
                break
            except MlflowException as error:
                # parallel jobs logging the same new dataset: the store's check-then-insert
                # races, and the loser finds it there on a second try
                if attempt == 2 or "unique constraint" not in str(error).lower():
                    raise
        self.tracking_seconds += time.perf_counter() - t0

    def log_model(self, weights, classes, input_example, mean=None, scale=None):
        """Log the staged weights file (e.g. 'weights.npz') as the pyfunc model named 'model'."""
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="netlab-model-") as folder:
            preprocessing = Path(folder) / "preprocessing.npz"
            save_preprocessing(preprocessing, classes, mean, scale)
            info = log_network_model(self._staged(weights), preprocessing, input_example)
        self.tracking_seconds += time.perf_counter() - t0
        return info
