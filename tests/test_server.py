"""A shared tracking server: `mlflow server` on 127.0.0.1 backed by PostgreSQL (Debian's packages).

The fixtures (tests/servers.py) start a throwaway PostgreSQL cluster (initdb in a temporary folder,
as the `postgres` user when run as root) and an `mlflow server` with `--artifacts-destination`;
the tests log runs over HTTP. Without PostgreSQL they skip, saying why; with CI=true they must run.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from netlab.tracking import store as tracking
from tests.test_tracking import EXPERIMENT, ROOT, require, train_and_log

pytestmark = pytest.mark.slow


def test_runs_log_over_http_to_a_postgres_backed_server(mlflow_server):
    uri, artifacts = mlflow_server
    tracking.open_store(uri)  # reachable: no error
    run, clf = train_and_log(uri, epochs=200, log_every=1)
    client = MlflowClient(uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.artifact_uri.startswith("mlflow-artifacts:")  # where the server says
    logged_at = [m.step for m in client.get_metric_history(run.run_id, "val_loss")]
    assert sorted(logged_at) == list(range(1, 201))  # log_every=1: every epoch
    assert {f.path for f in client.list_artifacts(run.run_id)} >= {"weights.npz", "plots"}
    assert list(Path(artifacts).rglob("weights.npz"))  # stored by the server, not by the client
    assert client.get_experiment_by_name(EXPERIMENT) is not None


def test_sweep_logs_over_http(mlflow_server, tmp_path):
    uri, _ = mlflow_server
    require(Path(ROOT, "src", "netlab", "run.py").exists(),
            "the sweep harness (src/netlab/run.py) is not there yet")
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
