"""One sweep's life in the tracking store, held by one object: its store and experiment, the parent
run opened (or an interrupted sweep's resumed) before the first job, the context every job gets,
and the close after the last job (or at an interrupt, or when the launcher gives up).

The context reaches each job in its composed config: the sweep adds
`+hydra.job.env_set.NETLAB_SWEEP=<hex>` to the Hydra overrides every job is composed with, so a
job gets it under any launcher, in any process or machine (hex: no character of it means anything
to Hydra's override grammar or to OmegaConf's interpolation).
"""

import contextlib
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field

from omegaconf import open_dict, read_write

from netlab import identity
from netlab.tracking.store import TrackingUnavailable, first_line, resolve_uri

from . import jobs
from .signals import deferred

CONTEXT_ENV = "NETLAB_SWEEP"  # a job's SweepContext, hex-encoded JSON


@dataclass
class SweepContext:
    """What a job needs to know of its sweep (the same in every process and machine)."""

    parent: str  # the parent run's id
    uri: str  # the tracking store, resolved where the sweep was launched
    command: str  # the command the user typed
    size: int  # jobs (or trials) the sweep runs
    start: float  # time.time() when it started
    swept: list = field(default_factory=list)  # the keys it varies (they name the runs)
    host: str = ""  # where the sweep's own process runs, and its pid
    pid: int = 0
    pid_start: str = ""  # its start time (a pid reused by another process is not the sweep's)
    trials: dict = field(default_factory=dict)  # job number -> Optuna trial number (this batch)

    def encode(self):
        """The context as hex digits (an override value nothing in Hydra interprets)."""
        return json.dumps(asdict(self), separators=(",", ":")).encode().hex()

    @classmethod
    def decode(cls, text):
        """The context a job finds in its environment (None outside a sweep)."""
        return cls(**json.loads(bytes.fromhex(text))) if text else None

    def is_launching_process(self):
        """Whether this is the sweep's own process (the basic launcher runs jobs in it)."""
        return self.pid == os.getpid() and self.host == socket.gethostname()

    def launcher_gone(self):
        """Whether the sweep's own process has ended (killed): nobody records the sweep any more.
        Known on the sweep's machine only (elsewhere it is assumed alive)."""
        from netlab.tracking.store import HOST_TAG, PID_TAG, START_TAG, is_alive

        return not is_alive({HOST_TAG: self.host, PID_TAG: str(self.pid),
                             START_TAG: self.pid_start})


def experiment_name(mlflow, choices):
    """The experiment: mlflow.experiment, else the study's name (+experiment=…, among Hydra's
    runtime choices), else netlab."""
    return mlflow.get("experiment") or choices.get("experiment") or "netlab"


def experiment_of(config):
    """The experiment a composed config (with its hydra node) logs to."""
    return experiment_name(config.mlflow, config.hydra.runtime.choices)


def prepare_store(config):
    """Open config's store and experiment, mark runs a dead process left RUNNING as KILLED:
    (client, experiment id, uri)."""
    from netlab.tracking.store import get_or_create_experiment, mark_stale_runs_killed, open_store

    uri = resolve_uri(config.mlflow.get("tracking_uri"))
    client = open_store(uri)
    experiment_id = get_or_create_experiment(client, experiment_of(config))
    stale = mark_stale_runs_killed(client, experiment_id)
    if stale:
        print(f"tracking: marked {len(stale)} run(s) left RUNNING by a dead process as KILLED",
              file=sys.stderr)
    return client, experiment_id, uri


def tracking_or_exit(step):
    """Run a tracking step; a store that cannot be used ends the program in one line."""
    try:
        return step()
    except TrackingUnavailable as error:
        raise SystemExit(f"tracking: {error}") from None
    except Exception as error:  # noqa: BLE001 - one line, not a traceback
        raise SystemExit(f"tracking: {type(error).__name__}: {first_line(error)}") from None


class Sweep:
    """A sweep's parent run and what its close needs: open() it before the first job, run the
    jobs inside running(), which closes it as they ended (FINISHED, KILLED or FAILED)."""

    def __init__(self, config, params, jobs_run, size, expected=None):
        self.config, self.experiment = config, experiment_of(config)
        self.force = bool(config.get("force", False))
        self.expected = expected  # [(config_hash, label)] of a grid, None for a search
        self.swept = jobs.swept_keys(jobs_run)
        swept_params = jobs.sweep_params(params, config)
        self.params = {f"sweep.{k}": v for k, v in swept_params.items()}
        self.params.update(jobs.fixed_params(config, swept_params))
        self.size, self.since, self.started = size, int(time.time() * 1000), time.time()
        self.client = self.parent = self.uri = None
        self.closed = False

    # ------------------------------------------------------------ opening
    def open(self):
        """Open the store and the parent run (or resume the interrupted sweep's); say which.
        (running() opens the sweep: an interrupt once its parent exists ends it KILLED.)"""
        from netlab.tracking.logger import remove_stale_staging

        tracking_or_exit(self._open)
        remove_stale_staging()  # files staged by runs whose process was killed
        print(f"tracking: {'resuming ' if self.resumed else ''}sweep run {self.parent} in "
              f"{self.uri}", file=sys.stderr, flush=True)
        return self

    def _open(self):
        from netlab.tracking.sweep import open_parent

        self.client, experiment_id, self.uri = prepare_store(self.config)
        overrides = jobs.task_overrides(self.config)
        sweep_hash = identity.config_hash({"sweep": self.params, "overrides": overrides})
        name = f"{self.experiment} {time.strftime('%Y-%m-%d %H:%M')}"
        self.parent, self.resumed = open_parent(
            self.client, experiment_id, name, sweep_hash, self.params,
            {"overrides": " ".join(overrides)}, resume=not self.force)
        self._describe_experiment(experiment_id)

    def _describe_experiment(self, experiment_id):
        """The experiment's MLflow note: the study's question, the command, how to read it."""
        from netlab.report.design import question, study_file
        from netlab.report.notes import NOTE, experiment_note
        from netlab.tracking.logger import command_line
        from netlab.tracking.store import set_shared_tag

        link = f"#/experiments/{experiment_id}/runs/{self.parent}/artifacts"
        note = experiment_note(self.experiment, command_line(), self.swept,
                               question(study_file(self.experiment)), link)
        set_shared_tag(self.client.set_experiment_tag, experiment_id, NOTE, note)

    # ------------------------------------------------------------ the jobs' context
    def context(self, trials=None):
        """The SweepContext every job of this sweep gets (trials: this batch's trial numbers)."""
        from netlab.tracking.logger import command_line
        from netlab.tracking.store import START_TAG, process_tags

        return SweepContext(parent=self.parent, uri=self.uri, command=command_line(),
                            size=self.size, start=self.started, swept=list(self.swept),
                            host=socket.gethostname(), pid=os.getpid(),
                            pid_start=process_tags()[START_TAG], trials=trials or {})

    def hand_to_jobs(self, trials=None):
        """Put the context into the Hydra overrides every job of the sweep is composed with (the
        launcher's config is this master config), replacing an earlier batch's; and the sweep's
        folder, made absolute where the sweep runs (a Ray worker runs in its node's folder)."""
        ours = [f"+hydra.job.env_set.{CONTEXT_ENV}="]
        lines = [f"{ours[0]}{self.context(trials).encode()}"]
        folder = str(self.config.hydra.sweep.dir)
        if not os.path.isabs(folder):
            ours.append("hydra.sweep.dir=")
            lines.append(f"hydra.sweep.dir={quoted(os.path.abspath(folder))}")
        ours = tuple(ours)
        hydra = self.config.hydra
        with read_write(hydra), open_dict(hydra):
            kept = [o for o in hydra.overrides.hydra if not o.startswith(ours)]
            hydra.overrides.hydra = [*kept, *lines]

    # ------------------------------------------------------------ closing
    @contextlib.contextmanager
    def running(self):
        """Open the sweep, run its jobs in the block, then close it: FINISHED; KILLED on Ctrl-C or
        SIGTERM from the moment its parent run exists (the interrupt goes on, its `sweep_line`
        saying what became of the sweep); FAILED when the launcher gives up (SweepFailed says why
        in one line)."""
        try:
            if self.parent is None:
                self.open()
            yield self
        except KeyboardInterrupt as error:
            if self.parent is not None:
                self._killed(error)
            raise
        except Exception as error:
            if os.environ.get("NETLAB_DEBUG"):
                raise
            stop_child_processes()
            why = launcher_failure(error)
            text = tracking_or_exit(lambda: self.close("FAILED", error=why))
            raise SweepFailed(f"sweep stopped: {why}; sweep run {self.parent} FAILED "
                              f"({_head(text)}); the same command resumes it") from None
        try:
            with deferred():  # an interrupt now waits for the close, then ends the command
                tracking_or_exit(lambda: self.close("FINISHED"))
        except KeyboardInterrupt as error:
            error.sweep_line = f"; sweep run {self.parent} had FINISHED"
            raise

    def _killed(self, error):
        """After Ctrl-C or SIGTERM (error): the workers stopped, the sweep closed KILLED, and the
        interrupt's `sweep_line` saying so."""
        what = getattr(error, "signal_name", "Ctrl-C")
        stop_child_processes()
        text = tracking_or_exit(lambda: self.close("KILLED", f"interrupted by {what}"))
        error.sweep_line = (f"; sweep run {self.parent} KILLED ({_head(text)}); the same "
                            "command resumes it")

    def close(self, status, interrupted=None, error=None):
        """End the parent run with status; returns its summary, which it prints with what next
        unless the sweep was interrupted (`interrupted`: why). error: why the sweep stopped."""
        from netlab.recording import log_best_model
        from netlab.tracking.logger import remove_stale_staging
        from netlab.tracking.store import failure_line
        from netlab.tracking.sweep import children, close_parent, settle_children

        client, parent = self.client, self.parent
        unlogged = None  # why the best run's model could not be logged: the sweep then FAILED
        try:
            runs = children(client, parent)  # read once or twice: a sweep may hold 1,000s of runs
            if status == "FINISHED":
                try:
                    log_best_model(client, parent, runs)
                except Exception as e:  # noqa: BLE001 - the parent still ends, saying why
                    unlogged = ("could not log the best run's model: "
                                f"{failure_line(client.tracking_uri, e)}")
                    status, error = "FAILED", unlogged
            runs = settle_children(client, parent, runs, interrupted)
            remove_stale_staging()  # a killed worker's staged files
            text = close_parent(client, parent, runs, status, self.expected, self.since,
                                error=error)
            self._summarise_in_note(runs, text.splitlines()[0])
            if unlogged:
                raise TrackingUnavailable(f"sweep run {parent} FAILED: {unlogged}")
        except TrackingUnavailable:
            raise
        except Exception as e:  # noqa: BLE001 - one line, and what to do
            raise TrackingUnavailable(f"sweep run {parent} could not be closed: "
                                      f"{failure_line(client.tracking_uri, e)}; the same command "
                                      "resumes it") from None
        self.closed = True
        if interrupted is None:
            print(text, file=sys.stderr)
            print(next_steps(client.tracking_uri, self.experiment), file=sys.stderr, flush=True)
        return text

    def _summarise_in_note(self, runs, heading):
        """The sweep run's note: the summary table over seeds of every configuration it holds."""
        from netlab.report.notes import NOTE, parent_note
        from netlab.tracking.store import set_shared_tag

        set_shared_tag(self.client.set_tag, self.parent, NOTE, parent_note(runs, heading))


def quoted(text):
    """text as a quoted value of Hydra's override grammar (and OmegaConf's: no interpolation)."""
    return "'" + text.replace("'", "\\'").replace("${", "\\${") + "'"


class SweepFailed(RuntimeError):
    """The launcher gave up on the sweep; str() is the one line the command prints."""


def _head(summary):
    """'3 runs (2 finished, 1 killed)' of a summary's first line."""
    return summary.splitlines()[0].split(": ", 1)[1]


def launcher_failure(error):
    """What made the launcher give up on the sweep, in one line."""
    import re
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(error, BrokenProcessPool):
        codes = re.search(r"exit codes of the workers are (\{.*?\})", str(error))
        return "a worker process died" + (f" (exit codes {codes.group(1)})" if codes else "")
    return f"{type(error).__name__}: {first_line(error)}"


def stop_child_processes(timeout=30.0):
    """End the sweep's worker processes (a joblib launcher's), so that their jobs end their runs
    KILLED (SIGTERM, which a job in a process of its own turns into an interrupt) before the
    sweep marks what is left; kill those that do not end in time."""
    import multiprocessing

    workers = multiprocessing.active_children()
    for process in workers:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in workers:
        process.join(max(deadline - time.monotonic(), 0.1))
        if process.is_alive():
            process.kill()
            process.join(5)


def next_steps(uri, experiment):
    """The lines that say where the runs are and how to see them."""
    store = "" if uri == resolve_uri() or "MLFLOW_TRACKING_URI" in os.environ and \
        uri == os.environ["MLFLOW_TRACKING_URI"] else f"MLFLOW_TRACKING_URI={uri} "
    if uri.startswith("http"):
        ui = f"{uri}  (the runs of '{experiment}' are under Experiments)"
    else:
        ui = f"{store}make ui STUDY={experiment}   (serves the MLflow UI and prints the link)"
    return (f"experiment '{experiment}': see the runs with  {ui}\n"
            f"  the study report:  {store}.venv/bin/python -m src.report {experiment}")
