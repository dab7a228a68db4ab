"""The Hydra callback that prepares the store and holds a multirun's parent run (see sweep.py).

It runs in the launching process, before any job: the store is created or upgraded there once (jobs
starting in parallel against a new SQLite database race its schema migration), stale RUNNING runs
are marked KILLED, and the parent run is opened (or an interrupted sweep's parent resumed); its id
reaches every job, in this process or a launcher's worker, through the environment.
Hydra turns exceptions raised in callbacks into warnings, so failures here exit instead.
MLflow is imported only when a run starts: a config that validation rejects exits without it.
"""

import functools
import os
import time

from hydra.experimental.callback import Callback

from .names import COMMAND_ENV, PARENT_ENV


def _exit_on_error(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - Hydra would only warn; stop the sweep instead
            if type(e).__name__ == "TrackingUnavailable":
                raise SystemExit(f"tracking: {e}") from None
            raise SystemExit(f"tracking: {type(e).__name__}: {e}") from e

    return wrapper


class MlflowCallback(Callback):
    """Store preparation before a run; a parent run and a closing summary around a multirun."""

    def __init__(self):
        self.client = self.parent_run_id = None
        self.seconds = 0.0  # spent here, in the launching process (logged as tracking_time_s)

    @_exit_on_error
    def on_run_start(self, config, **kwargs):
        """A single run: prepare the store before the job starts."""
        from .sweep import prepare

        prepare(config)

    @_exit_on_error
    def on_multirun_start(self, config, **kwargs):
        """Prepare the store, open or resume the sweep's parent run, hand its id to the jobs."""
        t0 = time.perf_counter()
        from .logger import command_line
        from .sweep import open_parent

        self.client, self.parent_run_id = open_parent(config)
        os.environ[PARENT_ENV] = self.parent_run_id
        os.environ[COMMAND_ENV] = command_line()
        self.seconds = time.perf_counter() - t0

    @_exit_on_error
    def on_multirun_end(self, config, **kwargs):
        """Summarise the sweep's child runs, on the terminal and in the parent run; end it."""
        if self.parent_run_id is None:
            return
        from .sweep import close_parent

        close_parent(self.client, self.parent_run_id, self.seconds)
        os.environ.pop(PARENT_ENV, None)
        self.parent_run_id = None
