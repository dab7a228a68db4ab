"""One run in MLflow: params, tags, metrics buffered into batches, files staged and sent at the end.

A run is FINISHED only when everything it promises is written: if the last metrics or the files
cannot be written as it closes, it ends FAILED, then the reason is tagged (ending does not wait on
that second write, which a disk just full may refuse), and the files it did write are deleted
from a local artifact folder. A run whose block raised ends FAILED
(KILLED on Ctrl-C or SIGTERM) with the error as a short tag and the full traceback as `error.txt`.

Writes cost milliseconds against a store while a small network trains an epoch in microseconds, so
metrics are kept in memory and sent with log_batch every `flush_seconds` and at the end; files are
staged in a temporary folder and uploaded in one call when the run closes (the step slider's images
excepted: MlflowClient.log_image writes each one as it is given). Only MlflowClient is
used (no fluent API state), so one process can hold several runs open at once (replicas). MLflow
is imported when a client is made or a run opens, not with this module: the launching process
checks every job's config first.

Why one file of ~330 lines: one run's life in MLflow (open, buffer, stage, close with the truth)
is one class whose status rules must be read together.
"""

import functools
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from importlib import metadata
from pathlib import Path

from netlab import identity
from netlab.interrupts import held
from netlab.paths import PROJECT_ROOT

from .metrics_file import METRICS_FILE, write_metrics_file
from .store import first_line, process_tags, quiet_store_logs

PACKAGES = ("numpy", "scikit-learn", "mlflow", "hydra-core", "omegaconf", "matplotlib")
COMMAND_ENV = "NETLAB_COMMAND"  # the command the user typed (set for a sweep's jobs)
PARENT_ENV = "NETLAB_PARENT_RUN_ID"  # the sweep's parent run (set for a sweep's jobs)
DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


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


def _git(*args):
    return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True,
                          text=True, timeout=10, check=True).stdout


@functools.cache
def environment_tags():
    """Tags describing the code and the machinery: training code hash, git commit, versions."""
    tags = {"versions.python": platform.python_version(), "code_hash": identity.code_hash()}
    for package in PACKAGES:
        try:
            tags[f"versions.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    try:
        # the committed study reports (experiments/<study>/) are outputs, not code or config
        status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                      ":(exclude,glob)experiments/*/**")
        tags.update(git_commit=_git("rev-parse", "HEAD").strip(),
                    git_dirty=str(bool(status.strip())).lower())
    except (OSError, subprocess.SubprocessError):
        tags.update(git_commit="unknown", git_dirty="unknown")
    return tags


@functools.cache
def training_code_diff():
    """The uncommitted changes to the training code (git diff against HEAD), or ''."""
    try:
        return _git("diff", "HEAD", "--", *identity.TRAINING_CODE)
    except (OSError, subprocess.SubprocessError):
        return ""


def command_line():
    """The command the user typed (the launching process's, inside a sweep's job)."""
    return os.environ.get(COMMAND_ENV) or shlex.join(getattr(sys, "orig_argv", sys.argv))


def param_text(value):
    """A param's value as text, as YAML writes it: null, true, 0.5, [a, b]."""
    if value is None or isinstance(value, bool | list | dict):
        import json

        return json.dumps(value).replace('"', "")
    return str(value)


def short(value, limit=5000):
    """A value as text of at most `limit` characters (MLflow's limits on tags and params)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# said of a run left RUNNING because the store took not even its end (a full disk): in its job's
# line, and as a note on the error that stopped the job
UNENDED = "its end could not be written either (the next command marks it KILLED)"
UNENDED_NOTE = f"a run left RUNNING: {UNENDED}"


class RunLogger:
    """A context manager for one MLflow run (nested under parent_run_id when given).

    log_metrics() buffers; add_file/add_text stage files, add_image writes its image at once; on
    leaving, everything is written and the run ends FINISHED, or FAILED/KILLED as the module
    docstring says.
    """

    def __init__(self, client, experiment_id, *, run_name=None, params=None, tags=None,
                 parent_run_id=None, flush_seconds=5.0):
        self.client, self.experiment_id = client, experiment_id
        self.run_name = run_name
        self.parent_run_id = parent_run_id
        self.params, self.tags = dict(params or {}), dict(tags or {})
        self.flush_seconds = flush_seconds
        self.run_id = self.status = self.reason = None
        self.unended = False  # its end could not be written (left RUNNING)
        self.tracking_seconds = 0.0  # wall time spent in this logger (the benchmark reads it)
        self._pending, self._last_flush, self._failure, self._error = [], 0.0, None, None
        self._points = {}  # {metric: [(step, timestamp, value)]}: every point, for METRICS_FILE
        self._staging, self._images, self._unwritten_image = None, False, None
        self._artifact_uri = None

    # --------------------------------------------------------------- lifecycle
    def __enter__(self):
        from mlflow.entities import Param

        t0 = time.perf_counter()
        tags = {**environment_tags(), "command": command_line(), **process_tags(),
                **self.tags}
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        params = [Param(k, short(param_text(v), 6000)) for k, v in flatten(self.params).items()]
        try:  # an interrupt waits for the run and its params, then comes out of here
            with held():
                run = self.client.create_run(self.experiment_id, run_name=self.run_name,
                                             tags={k: short(v) for k, v in tags.items()})
                self.run_id, self._artifact_uri = run.info.run_id, run.info.artifact_uri
                for i in range(0, len(params), 100):
                    self.client.log_batch(self.run_id, params=params[i : i + 100],
                                          synchronous=True)
        except BaseException as e:  # the block never runs, nor __exit__: the run ends here
            if self.run_id is not None:
                from .store import end_run

                status, tag = (("KILLED", ("killed_reason", _interrupted(e)))
                               if isinstance(e, KeyboardInterrupt) else
                               ("FAILED", ("error", _unwritten(e))))
                try:
                    with held():
                        end_run(self.client, self.run_id, status, tag)
                except Exception:  # noqa: BLE001 - its process gone, the next command marks it
                    self.unended = True
                    e.add_note(UNENDED_NOTE)
            raise
        self._staging = staging_folder("netlab-run-")
        self._last_flush = time.monotonic()
        self.tracking_seconds += time.perf_counter() - t0
        return self

    def __exit__(self, exc_type, exc, tb):
        with held():  # an interrupt now waits for the run's end, then comes out of here
            return self._end(exc, tb)

    def _end(self, exc, tb):
        from mlflow.entities import Metric, RunTag

        if self.status == "DELETED":  # abandoned: nothing to write
            self._staging.cleanup()
            return False
        t0 = time.perf_counter()
        if exc is not None:
            self._error = (exc, tb)
        status = "FINISHED"
        if self._error is not None:
            error, tb = self._error
            status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
            reason = (_interrupted(error) if status == "KILLED"
                      else short(f"{type(error).__name__}: {error}", 500))
            text = "".join(traceback.format_exception(type(error), error, tb))
            self.add_text("error.txt", text)
        elif self._failure:
            status, reason = "FAILED", self._failure
        try:
            if status == "FINISHED" and self._points:
                write_metrics_file(Path(self._staging.name) / METRICS_FILE, self._points)
            if any(Path(self._staging.name).iterdir()):
                self.client.log_artifacts(self.run_id, self._staging.name)
        except Exception as e:  # noqa: BLE001 - whatever could not be written, the run says so
            status, reason = "FAILED", _unwritten(e)
            self._discard_files()
        finally:
            self._staging.cleanup()
        self.tracking_seconds += time.perf_counter() - t0
        self._pending.append(Metric("tracking_time_s", self.tracking_seconds,
                                    int(time.time() * 1000), 0))
        tags = [] if status == "FINISHED" else [
            RunTag("killed_reason" if status == "KILLED" else "error", reason)]
        if self._images:
            tags.append(RunTag("mlflow.loggedImages", "true"))  # the UI then lists them
        try:  # the last metrics, and why the run did not finish, in one write
            self.flush(tags=tags)
            self.client.set_terminated(self.run_id, status)
        except Exception as e:  # noqa: BLE001
            from .store import end_run

            status, reason = "FAILED", _unwritten(e)
            self._discard_files()
            try:  # ended before its reason is tagged: a full disk may take one write, not two
                end_run(self.client, self.run_id, status, ("error", reason))
            except Exception:  # noqa: BLE001 - its process gone, the next command marks it KILLED
                reason += f"; {UNENDED}"
                self.unended = True
                if exc is not None:  # the job's line tells of the error that stopped it
                    exc.add_note(UNENDED_NOTE)
        self.status, self.reason = status, (None if status == "FINISHED" else reason)
        return False

    def _discard_files(self):
        """Delete the files of a run whose records could not all be written (from a local
        artifact folder): they are not the whole run, and on a full disk their room is what
        ending the run needs."""
        from .store import local_artifact_folder

        folder = local_artifact_folder(self._artifact_uri)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    @held()
    def abandon(self):
        """Delete the run (its configuration is another process's to train); leaving the block
        then writes nothing."""
        self.client.delete_run(self.run_id)
        self.status = "DELETED"

    def failure_line(self):
        """Why the run did not finish, in one line, and where its traceback is."""
        where = f" (traceback: error.txt of run {self.run_id})" if self._error else ""
        return f"{self.reason}{where}"

    def fail(self, error, tb=None):
        """End the run FAILED (or KILLED for an interrupt) with this error, though the block
        goes on (e.g. one replica's records failed while the others are still written)."""
        self._error = (error, tb or error.__traceback__)

    def diverged(self, epoch, reason=None):
        """Record a divergence at `epoch` (reason: why, in words): the run ends FAILED with
        diverged=true and diverged_reason, its curves kept as they were logged."""
        tags = {"diverged": "true", "diverged_epoch": str(epoch)}
        if reason:
            tags["diverged_reason"] = short(reason, 500)
        self.set_tags(tags)
        self._failure = self._unwritten_image or (f"diverged: {reason}" if reason
                                                  else f"diverged at epoch {epoch}")

    # --------------------------------------------------------------- metrics and tags
    def log_metrics(self, metrics, step=0):
        """Buffer a dict of metrics at a step (NaN and inf skipped), written at the next flush."""
        from mlflow.entities import Metric

        t0 = time.perf_counter()
        now = int(time.time() * 1000)
        points = [Metric(k, float(v), now, int(step)) for k, v in metrics.items()
                  if math.isfinite(v)]
        self._pending.extend(points)
        for point in points:
            self._points.setdefault(point.key, []).append((point.step, point.timestamp,
                                                           point.value))
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        self.tracking_seconds += time.perf_counter() - t0

    @held()
    def flush(self, tags=()):
        """Write the buffered metrics (and tags) now, in batches of at most 1000."""
        pending, self._pending = self._pending, []
        for i in range(0, max(len(pending), 1), 1000):
            last = i + 1000 >= len(pending)
            self.client.log_batch(self.run_id, metrics=pending[i : i + 1000],
                                  tags=list(tags) if last else [], synchronous=True)
        self._last_flush = time.monotonic()

    @held()
    def set_tags(self, tags):
        """Set tags on the run now."""
        from mlflow.entities import RunTag

        t0 = time.perf_counter()
        self.client.log_batch(self.run_id, tags=[RunTag(k, short(v)) for k, v in tags.items()],
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

    @held()
    def add_image(self, key, image, step):
        """Log a PIL image of `key` at `step` now, with MlflowClient.log_image(key=, step=) (the
        image and its compressed preview, under images/), so the UI's step slider shows it.

        If it cannot be written, the run ends FAILED saying so (the rest of its records are still
        written); the images after it are not tried."""
        if self._unwritten_image:
            return
        t0 = time.perf_counter()
        try:
            self.client.log_image(self.run_id, image, key=key, step=int(step), synchronous=True)
            self._images = True
        except Exception as e:  # noqa: BLE001 - whatever could not be written, the run says so
            self._unwritten_image = self._failure = _unwritten(e)
        self.tracking_seconds += time.perf_counter() - t0

    @held()
    def log_dataset(self, name, parts, source=None, digest=None):
        """Log a dataset's parts as run inputs: parts maps a context ('training', …) to (X, y);
        source describes the generator and its parameters; digest, when given (a user's file's
        content hash), replaces the digest MLflow computes from the arrays."""
        import mlflow.data
        from mlflow.data.code_dataset_source import CodeDatasetSource
        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.exceptions import MlflowException

        t0 = time.perf_counter()
        origin = CodeDatasetSource({k: str(v) for k, v in (source or {}).items()})
        inputs = []
        for context, (X, y) in parts.items():
            dataset = mlflow.data.from_numpy(X, targets=y, name=name, source=origin,
                                             digest=digest)
            # the run input's dataset from the dataset's own description (name, digest, source
            # type, source, schema, profile: the fields of MLflow's LogInputs)
            fields = dataset.to_dict()
            entity = Dataset(**{k: fields.get(k) for k in DATASET_FIELDS})
            inputs.append(DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)]))
        for attempt in (1, 2):
            try:
                self.client.log_inputs(self.run_id, datasets=inputs)
                break
            except MlflowException as error:
                # parallel jobs logging the same new dataset: the store's check-then-insert
                # races, and the loser finds it there on a second try
                if attempt == 2 or "unique constraint" not in str(error).lower():
                    raise
        self.tracking_seconds += time.perf_counter() - t0

    @held()
    def log_model(self, weights, preprocessing):
        """Log the staged weights and preprocessing files as the run's pyfunc model 'model'."""
        from .model import input_example, log_network_model

        t0 = time.perf_counter()
        example = input_example(self._staged(preprocessing))
        info = log_network_model(self.run_id, self._staged(weights), self._staged(preprocessing),
                                 example, experiment_id=self.experiment_id,
                                 tracking_uri=self.client.tracking_uri)
        self.tracking_seconds += time.perf_counter() - t0
        return info


STAGED = re.compile(r"netlab-(run|best|model)-(\d+)-")  # a staging folder and its process's pid


def staging_folder(prefix):
    """A temporary folder named after this process (`<prefix><pid>-…`), so that one left behind
    by a killed process can be told from a live one's (remove_stale_staging)."""
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-")


def remove_stale_staging():
    """Remove the staging folders of this machine's processes that are gone (killed, or
    interrupted as they wrote a run's files); returns how many."""
    from .store import is_process_alive

    removed = 0
    for path in Path(tempfile.gettempdir()).glob("netlab-*-*-*"):
        found = STAGED.match(path.name)
        if found and path.is_dir() and not is_process_alive(int(found.group(2))):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def _interrupted(error):
    """A KILLED run's reason: 'interrupted by SIGTERM'."""
    return f"interrupted by {getattr(error, 'signal_name', 'Ctrl-C')}"


def _unwritten(error):
    """The reason a run could not write its records, in one line."""
    return short(f"could not write the run's records: {type(error).__name__}: "
                 f"{first_line(error)}", 500)


def new_client(uri):
    """An MlflowClient for the store at uri (the store's errors left to the caller to say in one
    line)."""
    from mlflow import MlflowClient

    quiet_store_logs()
    return MlflowClient(uri)
