"""A shared tracking server: `mlflow server` on 127.0.0.1 backed by PostgreSQL (Debian's packages).

The test starts its own throwaway PostgreSQL cluster (initdb in a temporary folder, as the
`postgres` user when run as root) and an `mlflow server` with `--artifacts-destination`, then logs
runs over HTTP. Without PostgreSQL it skips, saying why; with CI=true it must run.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient

from src import recording
from src.tracking import store as tracking
from tests.test_tracking import EXPERIMENT, ROOT, require, train_and_log

pytestmark = pytest.mark.slow


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, timeout, what, proc=None, log=None):
    """Poll ready() every 0.2 s until it is true; fail naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = Path(log).read_text()[-2000:] if log else ""
            pytest.fail(f"{what}: process exited with {proc.returncode}\n{tail}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what}: not ready after {timeout} s")


def http_ok(url):
    """True when GET url answers 200."""
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1: yields its SQLAlchemy URI."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    require(bins, "PostgreSQL is not installed (apt-get install postgresql)")
    bindir = Path(bins[-1]).parent
    as_user = []
    folder = Path(tempfile.mkdtemp(prefix="netlab-pg-"))
    if os.geteuid() == 0:
        require(shutil.which("runuser"), "running as root without runuser to drop to postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "-U", "netlab", "--auth=trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    server = subprocess.Popen(
        [*as_user, bindir / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port),
         "-k", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: subprocess.run(
            [bindir / "pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode == 0, 60, "postgres", server)
        subprocess.run([bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "netlab",
                        "mlflow"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://netlab@127.0.0.1:{port}/mlflow"
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    """`mlflow server` on 127.0.0.1 with the PostgreSQL backend and its own artifact store."""
    artifacts, port = tmp_path_factory.mktemp("server-artifacts"), free_port()
    log_path = tmp_path_factory.mktemp("server-log") / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [Path(sys.executable).with_name("mlflow"), "server", "--backend-store-uri", postgres,
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
        cwd=tmp_path_factory.mktemp("cwd"),
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # GenAI jobs: unused
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{uri}/health"), 120, "mlflow server", proc, log_path)
        yield uri, artifacts
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_runs_log_over_http_to_a_postgres_backed_server(mlflow_server):
    uri, artifacts = mlflow_server
    tracking.open_store(uri)  # reachable: no error
    run, clf = train_and_log(uri, epochs=200)
    client = MlflowClient(uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.artifact_uri.startswith("mlflow-artifacts:")  # where the server says
    logged_at = [m.step for m in client.get_metric_history(run.run_id, "val_loss")]
    assert sorted(logged_at) == sorted(recording.curve_epochs(200))  # ~64 log-spaced epochs
    assert {f.path for f in client.list_artifacts(run.run_id)} >= {"weights.npz", "plots"}
    assert list(Path(artifacts).rglob("weights.npz"))  # stored by the server, not by the client
    assert client.get_experiment_by_name(EXPERIMENT) is not None


def test_sweep_logs_over_http(mlflow_server, tmp_path):
    uri, _ = mlflow_server
    require(Path(ROOT, "src", "run.py").exists(), "the sweep harness (src/run.py) is not there yet")
    experiment = "server-sweep"
    result = subprocess.run(
        [sys.executable, "-m", "src.run", "-m", "activation=tanh,relu", "epochs=30",
         f"mlflow.tracking_uri={uri}", f"mlflow.experiment={experiment}",
         f"hydra.sweep.dir={tmp_path}/multirun"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert all(r.info.status == "FINISHED" for r in runs)
    assert {r.data.params["activation"] for r in children} == {"tanh", "relu"}
