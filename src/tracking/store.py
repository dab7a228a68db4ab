"""Where runs go: resolve the tracking URI, check it answers, create/upgrade the store, tidy it."""

import os
import re
import socket
import sqlite3
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST_TAG, PID_TAG, START_TAG = "netlab.host", "netlab.pid", "netlab.pid_start"


@event.listens_for(Engine, "connect")
def _sqlite_commits_without_fsync(dbapi_connection, connection_record):
    """SQLite stores are in WAL mode (see open_store); there synchronous=NORMAL makes a commit a
    write to the log, not an fsync, and a killed process still loses nothing it committed."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached or created; the message is one line for the user."""


def default_uri(root=PROJECT_ROOT):
    """The embedded store: sqlite:///<root>/mlruns/mlflow.db."""
    return f"sqlite:///{Path(root).resolve() / 'mlruns' / 'mlflow.db'}"


def resolve_uri(override=None):
    """The config override, else MLFLOW_TRACKING_URI, else the project's embedded SQLite store."""
    return override or os.environ.get("MLFLOW_TRACKING_URI") or default_uri()


def sqlite_path(uri):
    """The database file of a sqlite:/// URI, or None for any other URI."""
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def artifact_location(uri, experiment):
    """Where a new experiment's artifacts go: beside a SQLite file, else where the server says."""
    db = sqlite_path(uri)
    if db is None:
        return None
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", experiment).strip("-") or "experiment"
    return (db.parent / slug).as_uri()


def check_reachable(uri, timeout=3.0):
    """Raise TrackingUnavailable (one line) unless the store at uri can be used."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                if response.status == 200:
                    return
                raise TrackingUnavailable(
                    f"tracking server {uri} answered {response.status} on /health")
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TrackingUnavailable(f"tracking server {uri} is unreachable: {reason}") from None
    db = sqlite_path(uri)
    if db is not None:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrackingUnavailable(
                f"cannot create {db.parent} for the tracking store: {e}") from None
        if not os.access(db.parent, os.W_OK):
            raise TrackingUnavailable(f"tracking store folder {db.parent} is not writable")


def open_store(uri):
    """Check, then create or upgrade the store at uri (schema migration happens here, once).

    A SQLite store is switched to write-ahead logging (it persists in the file): parallel jobs then
    write without blocking readers, and commits are cheap.
    """
    check_reachable(uri)
    client = MlflowClient(uri)
    try:
        client.search_experiments(max_results=1)
        db = sqlite_path(uri)
        if db is not None:
            with closing(sqlite3.connect(db, timeout=30)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
    except Exception as e:  # noqa: BLE001 - any failure to open is reported the same way
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrackingUnavailable(f"cannot open tracking store {uri}: {first}") from None
    return client


def get_or_create_experiment(client, name):
    """The id of experiment `name`, created (artifacts beside a SQLite store) if missing."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    location = artifact_location(client.tracking_uri, name)
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # noqa: BLE001 - a parallel process created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def process_tags():
    """Tags identifying this process, so a later start can tell a dead run from a live one."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), START_TAG: _start_time(pid)}


def _start_time(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _is_alive(pid, start):
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return not start or _start_time(int(pid)) in ("", start)


def mark_stale_runs_killed(client, experiment_id):
    """Mark KILLED the RUNNING runs of this host whose process is gone; returns their ids."""
    host = socket.gethostname()
    stale = []
    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'",
                                 max_results=5000)
    for run in running:
        tags = run.data.tags
        if tags.get(HOST_TAG) != host or _is_alive(tags.get(PID_TAG, ""), tags.get(START_TAG, "")):
            continue
        client.set_tag(run.info.run_id, "killed_reason", "process ended while running")
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        stale.append(run.info.run_id)
    return stale


def find_finished(client, experiment_id, config_hash):
    """The newest FINISHED run of the experiment tagged with config_hash, or None."""
    runs = client.search_runs(
        [experiment_id],
        f"tags.config_hash = '{config_hash}' and attributes.status = 'FINISHED'",
        max_results=1, order_by=["attributes.start_time DESC"],
    )
    return runs[0] if runs else None


def finished_run(tracking_uri, experiment, chash):
    """The FINISHED run of `experiment` (by name) whose config hash is chash, or None."""
    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return find_finished(client, found.experiment_id, chash) if found else None
