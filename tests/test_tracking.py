"""Tracking against real MLflow stores (a temporary SQLite store per test).

Runs are trained and logged in process by the real job code (netlab.job: experiment, recording,
RunLogger) from a composed config; RunLogger alone is tested where its own behaviour is the point.
test_tracking_sweep.py runs the real command line.
"""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from joblib import Parallel, delayed
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus

from netlab import experiment, job
from netlab.recording import curve_epochs, dynamics_epochs
from netlab.tracking import store
from netlab.tracking.logger import RunLogger, new_client
from tests.conftest import copy_store
from tests.servers import require  # noqa: F401 - other test modules import it from here

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "driver"
EPOCH_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def config(*overrides):
    """The composed config of conf/ with overrides (no Hydra run, no callbacks)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def train_and_log(uri, experiment_name=EXPERIMENT, seed=0, epochs=300, lr=0.5, width=6,
                  log_every=None, parent_run_id=None, with_model=True, activation="tanh",
                  extra=()):
    """Train a small network on moons and log it through the real job code; returns
    (the RunLogger of its run, the trained Replica)."""
    overrides = [f"seed={seed}", f"epochs={epochs}", f"lr={lr}", f"width={width}",
                 f"activation={activation}", "dataset.n_samples=240", *extra]
    if log_every:
        overrides.append(f"log_every={log_every}")
    cfg = config(*overrides)
    context = job.JobContext(tracking_uri=uri, experiment=experiment_name, overrides=overrides,
                             multirun=not with_model, parent_run_id=parent_run_id, force=True)
    outcome = job.train_and_record(cfg, context)
    return outcome.loggers[0], outcome.replicas[0]


@pytest.fixture
def uri(tmp_path, empty_store):
    """A store of this test's own: a copy of the freshly created empty store, in tmp_path/mlruns."""
    (tmp_path / "mlruns").mkdir()
    copy_store(empty_store, tmp_path / "mlruns" / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"


# ------------------------------------------------------------------ where runs go
def test_uri_override_beats_environment_beats_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # the default does not depend on where the command starts
    assert store.resolve_uri() == f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert store.resolve_uri() == "http://127.0.0.1:1"
    assert store.resolve_uri("sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert store.resolve_uri(None) == "http://127.0.0.1:1"


def test_a_relative_sqlite_uri_is_relative_to_where_the_command_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert store.resolve_uri("sqlite:///my.db") == f"sqlite:///{tmp_path / 'my.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///runs/x.db")
    assert store.resolve_uri() == f"sqlite:///{tmp_path / 'runs' / 'x.db'}"


def test_a_uri_no_store_answers_is_one_line():
    with pytest.raises(store.TrackingUnavailable) as info:
        store.resolve_uri("foo://bar")
    assert "\n" not in str(info.value) and "foo://" in str(info.value)


def test_artifacts_go_beside_the_sqlite_file(uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "mlruns")  # elsewhere than the project, to be sure
    run, _ = train_and_log(uri, epochs=20, with_model=False)
    artifact_uri = MlflowClient(uri).get_run(run.run_id).info.artifact_uri
    assert artifact_uri.startswith((tmp_path / "mlruns" / EXPERIMENT).as_uri())
    assert (tmp_path / "mlruns" / EXPERIMENT / run.run_id / "artifacts" / "weights.npz").is_file()


@pytest.mark.slow
def test_a_sqlite_store_is_in_wal_mode_with_mlflows_own_schema(tmp_path):
    import sqlite3
    from contextlib import closing

    from sqlalchemy import create_engine

    db, theirs = tmp_path / "mlflow.db", tmp_path / "theirs.db"
    uri = f"sqlite:///{db}"
    store.open_store(uri)
    store.open_store(uri)  # opening again is harmless
    MlflowClient(f"sqlite:///{theirs}").search_experiments()  # a store MLflow makes alone

    def schema(connection):
        """Every table, index and trigger, each one's SQL as a set of lines (MLflow's migrations
        do not write a table's constraints in the same order every time)."""
        return {(kind, name, table, frozenset(line.strip().rstrip(",").strip()
                                              for line in (sql or "").splitlines()))
                for kind, name, table, sql in connection.execute(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master")}

    with closing(sqlite3.connect(db)) as ours, closing(sqlite3.connect(theirs)) as mlflows:
        assert ours.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert schema(ours) == schema(mlflows) and len(schema(ours)) > 20
    # nothing process-wide set on SQLAlchemy's connections: after a run is logged, a new engine's
    # connection has SQLite's default durability (synchronous=FULL, 2)
    client = new_client(uri)
    with RunLogger(client, store.get_or_create_experiment(client, EXPERIMENT)) as run:
        run.log_metrics({"x": 1.0}, 1)
    engine = create_engine(uri)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    engine.dispose()


def test_unreachable_server_is_one_line_and_fast():
    t0 = time.monotonic()
    with pytest.raises(store.TrackingUnavailable) as info:
        store.open_store("http://127.0.0.1:9")  # discard port: nothing listens
    assert time.monotonic() - t0 < 10
    assert "\n" not in str(info.value) and "127.0.0.1:9" in str(info.value)


# ------------------------------------------------------------------ what a run records
def test_a_run_records_params_tags_curves_results_files_and_dataset(uri):
    run, replica = train_and_log(uri, epochs=1000)
    client = MlflowClient(uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params["optimizer.name"] == "gd"
    assert logged.data.params["dataset.noise"] == "0.2"
    tags = logged.data.tags
    for key in ("config_hash", "group_hash", "code_hash", "git_commit", "git_dirty", "command",
                "seed", "versions.numpy"):
        assert tags[key], key
    assert not {"seeds", "log_every", "gradcheck", "memory_limit"} & set(
        logged.data.params), "control keys are not params"
    # 1000 epochs -> ~32 log-spaced epochs: every one early on, sparser later, the last always
    for key in EPOCH_METRICS:
        steps = [m.step for m in client.get_metric_history(run.run_id, key)]
        assert steps == sorted(curve_epochs(1000)), key
        assert steps[:6] == list(range(1, 7)) and steps[-1] == 1000 and 25 <= len(steps) <= 32
        gaps = np.diff(steps)
        assert gaps[-1] > 50 * gaps[0]
    # the per-layer dynamics at every other of those epochs (~15 rows a key), the last among them
    probed = [m.step for m in client.get_metric_history(run.run_id, "grad_norm_1")]
    assert probed == sorted(dynamics_epochs(curve_epochs(1000)))
    assert set(probed) < set(curve_epochs(1000)) and 12 <= len(probed) <= 17 and \
        probed[-1] == 1000
    history = client.get_metric_history(run.run_id, "val_loss")
    assert history[-1].value == replica.history.val_loss[-1]
    assert logged.data.metrics["test_accuracy"] > 0.8
    files = {f.path for f in client.list_artifacts(run.run_id)}
    assert {"config.yaml", "weights.npz", "plots"} <= files
    pngs = {f.path for f in client.list_artifacts(run.run_id, "plots")}
    assert pngs == {"plots/decision_boundary.png", "plots/hidden_units.png"}
    for png in pngs:
        local = Path(client.download_artifacts(run.run_id, png))
        assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and local.stat().st_size > 3000
    # the boundary during training, as MLflow's log_image(key, step) keeps it: the step slider
    images = [f.path for f in client.list_artifacts(run.run_id, "images")]
    steps = sorted({int(p.split("+step+")[1].split("+")[0]) for p in images})
    assert steps[0] == 1 and steps[-1] == 1000 and 4 <= len(steps) <= 8
    assert len(images) == 2 * len(steps)  # each image and its compressed preview
    assert all(p.startswith("images/decision_boundary+step+") for p in images)
    stems = {p.removesuffix(".png") for p in images if p.endswith(".png")}
    assert set(images) - {f"{s}.png" for s in stems} == {f"{s}+compressed.webp" for s in stems}
    assert tags["mlflow.loggedImages"] == "true"
    inputs = logged.inputs.dataset_inputs
    assert len(inputs) == 3
    assert {i.tags[0].value for i in inputs} == {"training", "validation", "test"}
    for dataset_input in inputs:
        assert dataset_input.dataset.name == "moons" and dataset_input.dataset.digest
        assert "make_moons" in dataset_input.dataset.source
        assert dataset_input.dataset.source_type == "code"
        assert json.loads(dataset_input.dataset.profile)["features_shape"][1] == 2
        assert json.loads(dataset_input.dataset.schema)["mlflow_tensorspec"]


def test_last_epoch_is_logged_whatever_log_every(uri):
    run, _ = train_and_log(uri, epochs=23, log_every=5, with_model=False)
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.run_id, "val_accuracy")]
    assert steps == [1, 5, 10, 15, 20, 23]


def test_log_every_one_logs_every_epoch(uri):
    run, _ = train_and_log(uri, epochs=50, log_every=1, with_model=False)
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.run_id, "train_loss")]
    assert steps == list(range(1, 51))


@pytest.mark.slow
def test_pyfunc_model_round_trip_and_cli(uri, tmp_path):
    run, replica = train_and_log(uri, epochs=200)
    mlflow.set_tracking_uri(uri)  # for runs:/ URIs
    data = replica.data
    raw = np.vstack([data.X_train, data.X_test]) * data.scale + data.mean  # as the user has it
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    expected = experiment.predict(replica, np.vstack([data.X_train, data.X_test]))
    np.testing.assert_array_equal(model.predict(raw), expected)
    assert model.metadata.get_input_schema() is not None
    assert model.metadata.saved_input_example_info is not None
    assert model.metadata.run_id == run.run_id
    # the model lives apart from the run in MLflow 3, in its experiment, and the run's outputs
    # point to it
    client = MlflowClient(uri)
    (logged_model,) = client.search_logged_models([run.experiment_id])
    assert logged_model.source_run_id == run.run_id and logged_model.name == "model"
    assert logged_model.status == LoggedModelStatus.READY
    assert logged_model.params == client.get_run(run.run_id).data.params
    assert model.metadata.model_id == logged_model.model_id
    outputs = client.get_run(run.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [logged_model.model_id]
    # `mlflow models predict` works on it, with the project's environment
    (tmp_path / "input.json").write_text(json.dumps({"inputs": raw[:4].tolist()}))
    out = subprocess.run(
        [Path(sys.executable).with_name("mlflow"), "models", "predict", "-m",
         f"runs:/{run.run_id}/model", "-i", tmp_path / "input.json", "-t", "json",
         "--env-manager", "local"],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True,
        timeout=120, cwd=tmp_path, check=True,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1])["predictions"] == expected[:4].tolist()


def test_the_model_goes_to_its_runs_store_whatever_the_process_default(uri, tracking_uri,
                                                                        monkeypatch):
    """The process's default tracking URI (and its default experiment) name another store: the
    model is logged into the run's own store and experiment, the default store gets nothing, and
    the process's default is left as it was."""
    elsewhere = MlflowClient(tracking_uri)
    decoy = elsewhere.create_experiment("decoy")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", decoy)
    assert mlflow.get_tracking_uri() == tracking_uri != uri
    run, replica = train_and_log(uri, epochs=50)
    assert mlflow.get_tracking_uri() == tracking_uri
    assert elsewhere.search_logged_models([decoy, "0"]) == []
    client = MlflowClient(uri)
    (logged_model,) = client.search_logged_models([run.experiment_id])
    assert logged_model.source_run_id == run.run_id
    assert logged_model.artifact_location.startswith(
        client.get_experiment(run.experiment_id).artifact_location)
    mlflow.set_tracking_uri(uri)  # a process whose default is the run's store loads it
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    X = replica.data.X_test
    np.testing.assert_array_equal(model.predict(X * replica.data.scale + replica.data.mean),
                                  experiment.predict(replica, X))


# ------------------------------------------------------------------ nothing lost
def test_a_run_whose_slider_image_cannot_be_written_fails_and_keeps_its_other_files(uri):
    """log_image writes under the run's images/ folder; a file named images there makes that
    impossible (a real write error, no root needed): the run ends FAILED saying its records could
    not be written, and the files it staged are still there."""
    from PIL import Image

    client = new_client(uri)
    experiment_id = store.get_or_create_experiment(client, EXPERIMENT)
    with RunLogger(client, experiment_id, run_name="x") as run:
        folder = Path(urlparse(client.get_run(run.run_id).info.artifact_uri).path)
        folder.mkdir(parents=True)
        (folder / "images").write_text("in the way")
        run.add_text("config.yaml", "seed: 0\n")
        for step in (1, 2):
            run.add_image("decision_boundary", Image.new("RGB", (8, 8)), step)
        run.log_metrics({"val_accuracy": 0.5}, 2)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FAILED" and run.status == "FAILED"
    assert logged.data.tags["error"].startswith("could not write the run's records: ")
    assert {f.path for f in client.list_artifacts(run.run_id)} == {"config.yaml", "images"}
    assert logged.data.metrics["val_accuracy"] == 0.5
    assert "mlflow.loggedImages" not in logged.data.tags


def test_failing_run_ends_failed_with_the_error_and_its_traceback(uri):
    client = new_client(uri)
    experiment_id = store.get_or_create_experiment(client, EXPERIMENT)
    with pytest.raises(RuntimeError), RunLogger(client, experiment_id, run_name="x") as run:
        raise RuntimeError("the data went away")
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["error"] == "RuntimeError: the data went away"
    text = Path(client.download_artifacts(run.run_id, "error.txt")).read_text()
    assert text.startswith("Traceback") and "test_tracking.py" in text


def test_diverging_run_ends_failed_with_its_curve(uri):
    run, _ = train_and_log(uri, epochs=300, lr=1e6, width=32, log_every=1, activation="relu")
    client = MlflowClient(uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["diverged"] == "true"
    epoch = int(logged.data.tags["diverged_epoch"])
    steps = [m.step for m in client.get_metric_history(run.run_id, "train_accuracy")]
    assert steps == list(range(1, epoch))  # every epoch up to the last finite one
    assert all(math.isfinite(m.value) for m in client.get_metric_history(run.run_id, "train_loss"))


@pytest.mark.slow
def test_run_of_a_killed_process_is_marked_killed(uri, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from netlab.tracking.logger import RunLogger, new_client
        from netlab.tracking.store import get_or_create_experiment
        client = new_client({uri!r})
        with RunLogger(client, get_or_create_experiment(client, {EXPERIMENT!r})) as run:
            print(run.run_id, flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    run_id = proc.stdout.readline().strip()
    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    assert store.mark_stale_runs_killed(client, experiment_id) == []  # alive: left alone
    proc.send_signal(signal.SIGKILL)
    # killed but not yet reaped (a worker whose node just went away): a zombie runs nothing
    deadline = time.monotonic() + 30
    while store._state(proc.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store._state(proc.pid) == "Z"
    assert client.get_run(run_id).info.status == "RUNNING"
    assert store.mark_stale_runs_killed(client, experiment_id) == [run_id]
    assert client.get_run(run_id).info.status == "KILLED"
    proc.wait(timeout=30)


def test_finished_runs_are_found_by_their_configuration(uri):
    run, _ = train_and_log(uri, epochs=10, with_model=False)
    client = MlflowClient(uri)
    tags = client.get_run(run.run_id).data.tags
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    found = store.finished_by_hash(store.runs_of_group(client, experiment_id, tags["group_hash"]))
    assert list(found) == [tags["config_hash"]] and found[tags["config_hash"]].info.run_id == \
        run.run_id
    assert store.runs_of_group(client, experiment_id, "0" * 16) == []


def _job(uri, seed, parent):
    run, _ = train_and_log(uri, seed=seed, epochs=400, parent_run_id=parent, with_model=False)
    return run.run_id


@pytest.mark.slow
def test_parallel_writers_lose_nothing(uri):
    n = 4
    client = MlflowClient(uri)
    experiment_id = store.get_or_create_experiment(client, EXPERIMENT)
    parent = client.create_run(experiment_id, run_name="parallel").info.run_id
    ids = Parallel(n_jobs=2, backend="loky")(delayed(_job)(uri, s, parent) for s in range(n))
    assert len(set(ids)) == n
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent}'")
    assert len(children) == n and all(r.info.status == "FINISHED" for r in children)
    for run_id in ids:
        assert len(client.get_metric_history(run_id, "val_accuracy")) == len(curve_epochs(400))
        assert {f.path for f in client.list_artifacts(run_id)} >= {"weights.npz", "plots"}
