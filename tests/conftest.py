"""Every test logs to a tracking store of its own, never to the project's mlruns/."""

import shutil

import pytest

from src.tracking import open_store


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory):
    """A new SQLite tracking store, created (schema migrated, seconds) once per session."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    open_store(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def tracking_uri(tmp_path_factory, empty_store, monkeypatch):
    """MLFLOW_TRACKING_URI -> a fresh copy of the empty store, for this test and its subprocesses."""
    folder = tmp_path_factory.mktemp("mlruns")
    shutil.copyfile(empty_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
