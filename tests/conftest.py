"""Tests that use a tracking store ask for one of their own (`tracking_uri`, or a fixture built on
it); every other test runs with MLFLOW_TRACKING_URI pointing at no usable store, so a test that
forgets to ask fails loudly instead of writing into the project's mlruns/."""

import os
import random
import sqlite3
from contextlib import closing

import mlflow
import pytest

from netlab.tracking.store import open_store
from tests.clusters import sequential_study  # noqa: F401 - fixtures
from tests.servers import mlflow_server, postgres, ray_cluster, slurm  # noqa: F401

# The suite's sweeps run one job after another, as each test expects (two test processes already
# share the machine's cores); the grid sweeper's default, every core, is tested where it is named
# (tests/test_cores.py). Commands the tests start inherit it.
os.environ["NETLAB_WORKERS"] = "1"

# The fault tests' random instants: a seed drawn once a session (each xdist worker its own), so
# every run of the suite tries new instants, and named in every failure; NETLAB_TRIALS_SEED=…
# replays it.
TRIALS_SEED = int(os.environ.get("NETLAB_TRIALS_SEED") or random.SystemRandom().randrange(10**6))
REPLAY = f"(NETLAB_TRIALS_SEED={TRIALS_SEED} replays it)"


def trials_rng(name):
    """The random generator of one test's trials, from the session's seed; the seed is printed,
    so a failing test's captured output names it."""
    print(f"random instants of {name}: seed {TRIALS_SEED} {REPLAY}")
    return random.Random(f"{TRIALS_SEED}:{name}")


@pytest.fixture(scope="session")
def no_store(tmp_path_factory):
    """A SQLite URI no store can be made at: its folder is a regular file."""
    blocker = tmp_path_factory.mktemp("no-store") / "test-did-not-ask-for-tracking_uri"
    blocker.write_text("a test that writes to a tracking store must ask for `tracking_uri`\n")
    return f"sqlite:///{blocker / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def unusable_tracking_uri(no_store, monkeypatch):
    """MLFLOW_TRACKING_URI -> no usable store, unless the test asks for `tracking_uri`."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", no_store)
    mlflow.set_tracking_uri(no_store)  # a URI an earlier test set in-process would win


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory):
    """A new SQLite tracking store, created (schema migrated, seconds) once per session."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    open_store(f"sqlite:///{path}")
    return path


def copy_store(source, target):
    """Copy a SQLite store with SQLite's backup API (its write-ahead log included)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture
def tracking_uri(unusable_tracking_uri, tmp_path_factory, empty_store, monkeypatch):
    """MLFLOW_TRACKING_URI -> a fresh copy of the empty store, for the test and its subprocesses."""
    folder = tmp_path_factory.mktemp("mlruns")
    copy_store(empty_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return uri
