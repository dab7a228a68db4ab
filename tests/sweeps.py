"""Sweeps as real processes for the interrupt and fault tests: `python -m src.run -m …` started in a
process group of its own (as a terminal starts a command), its output in files, its runs read back
from the store; every wait is a bounded poll on an event, and a test that waits too long fails.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["epochs=50", "dataset.n_samples=200"]  # jobs of a fraction of a second
SECOND = ["epochs=5000", "dataset=xor", "dataset.n_samples=200"]  # jobs of about a second
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


def seeds(n):
    """The overrides that sweep n seeds as n jobs: n configurations, not packed into one job (the
    fault tests stop a sweep between and inside its jobs; tests/test_packing.py covers packing)."""
    return [f"seed={','.join(map(str, range(n)))}", "hydra.sweeper.pack=false"]


class Sweep:
    """`python -m src.run -m *args` in cwd, the leader of its own process group."""

    count = 0

    def __init__(self, args, cwd, **env):
        Sweep.count += 1
        self.cwd = Path(cwd)
        self.out_path = self.cwd / f"sweep-{Sweep.count}.out"
        self.err_path = self.cwd / f"sweep-{Sweep.count}.err"
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        environment.pop("HYDRA_FULL_ERROR", None)
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "src.run", "-m", *args],
                                         cwd=self.cwd, env=environment, stdout=out, stderr=err,
                                         start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def stdout(self):
        return self.out_path.read_text()

    @property
    def stderr(self):
        return self.err_path.read_text()

    def running(self):
        return self.proc.poll() is None

    def signal_group(self, signum):
        """Send signum to the whole process group, as a terminal's Ctrl-C does."""
        os.killpg(self.proc.pid, signum)

    def signal_main(self, signum):
        """Send signum to the main process only, as `timeout` and SLURM do."""
        os.kill(self.proc.pid, signum)

    def wait(self, timeout=300):
        """The exit status, once the sweep has ended (fails the test after timeout seconds)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the sweep did not end within {timeout} s\n{self.stderr[-3000:]}")

    def kill(self):
        """SIGKILL whatever is left of the sweep's process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.running():
            self.kill()
        else:
            try:  # workers it left behind, if any
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return False


def run_sweep(args, cwd, timeout=300, **env):
    """Run a sweep to its end: (exit status, stdout, stderr)."""
    with Sweep(args, cwd, **env) as sweep:
        code = sweep.wait(timeout)
        return code, sweep.stdout, sweep.stderr


def runs_of(experiment, uri=None):
    """(parents, children) of experiment in the store at uri, else the test's own store (both
    empty if the experiment is not there)."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], max_results=1000) if found else []
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def wait_for_children(uri, experiment, condition, sweep, what, timeout=240):
    """Poll the store until condition(children) holds; returns the children then. Fails if the
    sweep ends first or after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, children = runs_of(experiment, uri)
        if condition(children):
            return children
        if not sweep.running():
            pytest.fail(f"the sweep ended (status {sweep.proc.returncode}) before {what}\n"
                        f"{sweep.stdout[-2000:]}\n{sweep.stderr[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"not {what} within {timeout} s")


def count(children, status):
    return sum(c.info.status == status for c in children)


def mid_sweep(children):
    """A job has finished and the next is training: the moment to interrupt a sweep."""
    return count(children, "FINISHED") >= 1 and count(children, "RUNNING") >= 1


def assert_complete(uri, experiment, n_configs):
    """Nothing lost, nothing duplicated, nothing left RUNNING: exactly one FINISHED run for each
    of the n_configs configurations, every parent ended; returns (parents, the FINISHED runs)."""
    parents, children = runs_of(experiment, uri)
    finished = [c for c in children if c.info.status == "FINISHED"]
    hashes = [c.data.tags["config_hash"] for c in finished]
    assert len(set(hashes)) == n_configs, f"{len(set(hashes))} of {n_configs} configurations"
    assert len(hashes) == n_configs, f"duplicates: {sorted(hashes)}"
    left = [r.info.run_name for r in parents + children if r.info.status == "RUNNING"]
    assert not left, f"left RUNNING: {left}"
    return parents, finished


def integrity_check(db):
    """SQLite's own verdict on the store's file (its write-ahead log included)."""
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchall()


def lines(text):
    """The non-blank lines of text."""
    return [line for line in text.splitlines() if line.strip()]


def job_lines(stdout):
    """The job lines a sweep prints ('#3 [4/6] seed=3: …')."""
    return [line for line in stdout.splitlines() if line.startswith("#")]
