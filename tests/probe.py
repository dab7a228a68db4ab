"""A test-only Hydra callback that puts a sweep's fault where a test wants it, not where the clock
happens to put it (tests/test_interrupts.py). Enabled with the override
`+hydra.callbacks.probe._target_=tests.probe.Probe` (the project root on PYTHONPATH), driven by
environment variables the test sets:

- NETLAB_PROBE_DIR: a folder of the test's. `PAUSE_AT` names moments (comma-separated:
  `job_start:3`, `job_start:*`, `job_end:2`, `multirun_end`, `atexit`); at each, the process writes
  `<dir>/<moment>.<pid>.reached` and waits until the test creates `<dir>/<moment>.go` — a signal
  the test sends meanwhile lands there, provably.
- NETLAB_PROBE_ARM (a moment as above) and NETLAB_PROBE_SIGNAL (`SIGTERM`, `SIGINT`) with
  NETLAB_PROBE_AT=k: from that moment, the process sends itself the signal as it starts its k-th
  SQL statement (1 = the next), i.e. inside a store write or read, through SQLAlchemy's public
  event API. `AT=k0,k1,…` gives each job its own k (job n the n-th, for moments `job_…:n`), so
  that one sweep's workers are several trials. The number of statements the process made after
  the moment is written to `<dir>/statements.<pid>` when it exits normally, so a test can draw k
  within a range it knows.
"""

import atexit
import os
import signal
import time
from pathlib import Path

from hydra.experimental.callback import Callback

DIR_ENV, PAUSE_ENV = "NETLAB_PROBE_DIR", "NETLAB_PROBE_PAUSE_AT"
ARM_ENV, SIGNAL_ENV, AT_ENV = "NETLAB_PROBE_ARM", "NETLAB_PROBE_SIGNAL", "NETLAB_PROBE_AT"

_statements = {"armed": False, "seen": 0, "at": 0}


def _folder():
    return Path(os.environ[DIR_ENV])


def _matches(moment, wanted):
    for want in filter(None, (os.environ.get(wanted) or "").split(",")):
        if want == moment or want.endswith(":*") and moment.startswith(want[:-1]):
            return True
    return False


def pause(moment):
    """Say the process reached moment, then wait for the test's go (60 s at most)."""
    folder = _folder()
    said = folder / f"{moment}.{os.getpid()}.saying"  # whole before the test can see it
    said.write_text(str(os.getpid()))
    os.replace(said, folder / f"{moment}.{os.getpid()}.reached")
    go = folder / f"{moment}.go"
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _on_statement(*args, **kwargs):
    _statements["seen"] += 1
    if _statements["seen"] == _statements["at"]:
        os.kill(os.getpid(), getattr(signal, os.environ.get(SIGNAL_ENV, "SIGTERM")))


def _count():
    (_folder() / f"statements.{os.getpid()}").write_text(str(_statements["seen"]))


def _at(moment):
    """The k of moment: AT's only value, or for `job_…:n` its n-th."""
    ks = [int(k) for k in (os.environ.get(AT_ENV) or "0").split(",")]
    number = moment.rpartition(":")[2]
    return ks[int(number) % len(ks)] if number.isdigit() else ks[0]


def arm(moment):
    """From now on, count this process's SQL statements and signal at the k-th."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not _statements["armed"]:
        _statements["armed"] = True
        _statements["at"] = _at(moment)
        event.listen(Engine, "before_cursor_execute", _on_statement)
        atexit.register(_count)


def moment(name):
    """What the probe does at moment `name`."""
    if DIR_ENV not in os.environ:
        return
    if _matches(name, ARM_ENV):
        arm(name)
    if _matches(name, PAUSE_ENV):
        pause(name)


class Probe(Callback):
    """The moments of a sweep, where the test's environment asks for a pause or an armed signal."""

    def on_multirun_start(self, config, **kwargs):
        moment("multirun_start")

    def on_job_start(self, config, **kwargs):
        moment(f"job_start:{config.hydra.job.num}")

    def on_job_end(self, config, job_return, **kwargs):
        moment(f"job_end:{config.hydra.job.num}")

    def on_multirun_end(self, config, **kwargs):
        moment("multirun_end")
        if DIR_ENV in os.environ and _matches("atexit", PAUSE_ENV):
            atexit.register(pause, "atexit")
