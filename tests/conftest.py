"""Every test logs to a tracking store of its own, never to the project's mlruns/."""

import sqlite3
from contextlib import closing

import mlflow
import pytest

from netlab.tracking.store import open_store
from tests.clusters import sequential_study  # noqa: F401 - fixtures
from tests.servers import mlflow_server, postgres, ray_cluster, slurm  # noqa: F401


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


@pytest.fixture(autouse=True)
def tracking_uri(tmp_path_factory, empty_store, monkeypatch):
    """MLFLOW_TRACKING_URI -> a fresh copy of the empty store, for the test and its subprocesses."""
    folder = tmp_path_factory.mktemp("mlruns")
    copy_store(empty_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # a URI an earlier test set in-process would beat the variable
    return uri
