"""Tracking against real MLflow stores (a temporary SQLite store per test), with a small driver.

The driver trains a tiny NetClassifier and logs it the way src/run.py does, so the tracking package
is tested on its own; test_tracking_sweep.py runs the real command line.
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

import mlflow
import numpy as np
import pytest
from joblib import Parallel, delayed
from mlflow import MlflowClient
from sklearn.datasets import make_moons

from src import plots, tracking
from src.nn import Diverged, NetClassifier, save_weights
from src.tracking import store
from tests.conftest import copy_store

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "driver"


def require(condition, reason):
    """Skip with a one-line reason unless condition holds; with CI=true, fail instead."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, yet {reason}")
    pytest.skip(reason)


def moons(n=240, seed=0):
    """Standardised moons split 60/20/20, with the raw features and the scaler."""
    X, y = make_moons(n, noise=0.2, random_state=seed)
    mean, scale = X[: n * 6 // 10].mean(axis=0), X[: n * 6 // 10].std(axis=0)
    Xs = (X - mean) / scale
    a, b = n * 6 // 10, n * 8 // 10
    return dict(X=X, y=y, mean=mean, scale=scale, train=(Xs[:a], y[:a]), val=(Xs[a:b], y[a:b]),
                test=(Xs[b:], y[b:]), raw_test=X[b:])


def train_and_log(uri, experiment=EXPERIMENT, seed=0, epochs=300, lr=0.5, width=6, log_every=None,
                  parent_run_id=None, with_model=True, fail=None, activation="tanh"):
    """Train a tiny network and log it as src/run.py does; returns (RunLogger, classifier)."""
    data = moons()
    config = {"seed": seed, "epochs": epochs, "lr": lr, "width": width, "activation": activation,
              "optimizer": {"name": "gd"}, "dataset": {"name": "moons", "noise": 0.2}}
    chash = tracking.config_hash(config)
    clf = NetClassifier((width,), activation, learning_rate=lr, epochs=epochs, random_state=seed)
    logger = tracking.RunLogger(uri, experiment, run_name=f"seed={seed}", params=config,
                                tags={"config_hash": chash, "seed": seed}, epochs=epochs,
                                log_every=log_every, parent_run_id=parent_run_id)
    try:
        with logger as run:
            run.add_text("config.yaml", json.dumps(config))
            run.log_dataset("moons", {"training": data["train"], "validation": data["val"]},
                            {"generator": "sklearn.datasets.make_moons", "noise": 0.2})
            if fail:
                raise RuntimeError(fail)
            try:
                clf.fit(*data["train"], validation_data=data["val"], callback=run.log_epoch)
            except Diverged as e:
                run.diverged(e.epoch)
                return run, clf
            run.log_metrics({"test_accuracy": clf.score(*data["test"]),
                             "epochs_run": len(clf.history_.epoch)})
            run.add_file("weights.npz", lambda p: save_weights(clf.network_, p))
            history = {k: getattr(clf.history_, k) for k in ("epoch", *tracking.EPOCH_METRICS)}
            run.add_figure("plots/learning_curves.png", plots.learning_curves(history))
            run.add_figure("plots/decision_boundary.png", plots.decision_boundary(
                lambda Z: clf.predict((Z - data["mean"]) / data["scale"]), data["X"], data["y"]))
            if with_model:
                run.log_model("weights.npz", clf.classes_, data["raw_test"][:5], data["mean"],
                              data["scale"])
    except RuntimeError:
        pass
    return logger, clf


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
    assert tracking.resolve_uri() == f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    assert tracking.resolve_uri() == "http://127.0.0.1:1"
    assert tracking.resolve_uri("sqlite:////x/y.db") == "sqlite:////x/y.db"
    assert tracking.resolve_uri(None) == "http://127.0.0.1:1"


def test_artifacts_go_beside_the_sqlite_file(uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "mlruns")  # elsewhere than the project, to be sure
    run, _ = train_and_log(uri, epochs=20, with_model=False)
    artifact_uri = MlflowClient(uri).get_run(run.run_id).info.artifact_uri
    assert artifact_uri.startswith((tmp_path / "mlruns" / EXPERIMENT).as_uri())
    assert (tmp_path / "mlruns" / EXPERIMENT / run.run_id / "artifacts" / "weights.npz").is_file()


def test_unreachable_server_is_one_line_and_fast():
    t0 = time.monotonic()
    with pytest.raises(tracking.TrackingUnavailable) as info:
        tracking.open_store("http://127.0.0.1:9")  # discard port: nothing listens
    assert time.monotonic() - t0 < 10
    assert "\n" not in str(info.value) and "127.0.0.1:9" in str(info.value)


# ------------------------------------------------------------------ what a run records
def test_a_run_records_params_tags_curves_results_files_and_dataset(uri):
    run, clf = train_and_log(uri, epochs=1000)
    client = MlflowClient(uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params["optimizer.name"] == "gd"
    assert logged.data.params["dataset.noise"] == "0.2"
    tags = logged.data.tags
    for key in ("config_hash", "git_commit", "git_dirty", "command", "seed", "versions.numpy"):
        assert tags[key], key
    # 1000 epochs -> every 5th epoch, the first and the last: at most ~200 points per curve
    for key in tracking.EPOCH_METRICS:
        steps = [m.step for m in client.get_metric_history(run.run_id, key)]
        assert steps[0] == 1 and steps[-1] == 1000 and len(steps) == 201, key
        assert all(s == 1 or s % 5 == 0 for s in steps)
    history = client.get_metric_history(run.run_id, "val_loss")
    assert history[-1].value == clf.history_.val_loss[-1]
    assert logged.data.metrics["test_accuracy"] > 0.8
    files = {f.path for f in client.list_artifacts(run.run_id)}
    assert {"config.yaml", "weights.npz", "plots"} <= files
    pngs = {f.path for f in client.list_artifacts(run.run_id, "plots")}
    assert pngs == {"plots/learning_curves.png", "plots/decision_boundary.png"}
    local = Path(client.download_artifacts(run.run_id, "plots/learning_curves.png"))
    assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and local.stat().st_size > 5000
    inputs = logged.inputs.dataset_inputs
    assert len(inputs) == 2 and {i.tags[0].value for i in inputs} == {"training", "validation"}
    for dataset_input in inputs:
        assert dataset_input.dataset.name == "moons" and dataset_input.dataset.digest
        assert "make_moons" in dataset_input.dataset.source


def test_last_epoch_is_logged_whatever_log_every(uri):
    run, _ = train_and_log(uri, epochs=23, log_every=5, with_model=False)
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.run_id, "val_accuracy")]
    assert steps == [1, 5, 10, 15, 20, 23]


def test_log_every_one_logs_every_epoch(uri):
    run, _ = train_and_log(uri, epochs=50, log_every=1, with_model=False)
    steps = [m.step for m in MlflowClient(uri).get_metric_history(run.run_id, "train_loss")]
    assert steps == list(range(1, 51))


def test_pyfunc_model_round_trip_and_cli(uri, tmp_path):
    run, clf = train_and_log(uri, epochs=200)
    data = moons()
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    expected = clf.predict((data["X"] - data["mean"]) / data["scale"])
    np.testing.assert_array_equal(model.predict(data["X"]), expected)
    assert model.metadata.get_input_schema() is not None
    assert model.metadata.saved_input_example_info is not None
    # the model lives apart from the run in MLflow 3, and the run's outputs point to it
    logged_model = mlflow.last_logged_model()
    assert logged_model.source_run_id == run.run_id and logged_model.name == "model"
    # `mlflow models predict` works on it, with the project's environment
    (tmp_path / "input.json").write_text(json.dumps({"inputs": data["X"][:4].tolist()}))
    out = subprocess.run(
        [Path(sys.executable).with_name("mlflow"), "models", "predict", "-m",
         f"runs:/{run.run_id}/model", "-i", tmp_path / "input.json", "-t", "json",
         "--env-manager", "local"],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True,
        timeout=120, cwd=tmp_path, check=True,
    ).stdout
    assert json.loads(out.strip().splitlines()[-1])["predictions"] == expected[:4].tolist()


# ------------------------------------------------------------------ nothing lost
def test_failing_run_ends_failed_with_the_error(uri):
    run, _ = train_and_log(uri, epochs=20, fail="the data went away")
    logged = MlflowClient(uri).get_run(run.run_id)
    assert logged.info.status == "FAILED"
    assert "the data went away" in logged.data.tags["error"]


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


def test_run_of_a_killed_process_is_marked_killed(uri, tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from src import tracking
        with tracking.RunLogger({uri!r}, {EXPERIMENT!r}, run_name="doomed", epochs=10) as run:
            print(run.run_id, flush=True)
            time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    run_id = proc.stdout.readline().strip()
    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    assert tracking.mark_stale_runs_killed(client, experiment_id) == []  # alive: left alone
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert client.get_run(run_id).info.status == "RUNNING"
    assert tracking.mark_stale_runs_killed(client, experiment_id) == [run_id]
    assert client.get_run(run_id).info.status == "KILLED"


def test_finished_run_is_found_by_config_hash(uri):
    run, _ = train_and_log(uri, epochs=10, with_model=False)
    chash = MlflowClient(uri).get_run(run.run_id).data.tags["config_hash"]
    assert tracking.finished_run(uri, EXPERIMENT, chash).info.run_id == run.run_id
    assert tracking.finished_run(uri, EXPERIMENT, "0" * 16) is None
    assert tracking.finished_run(uri, "no such experiment", chash) is None


def _job(uri, seed, parent):
    run, _ = train_and_log(uri, seed=seed, epochs=400, parent_run_id=parent, with_model=False)
    return run.run_id


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
        assert len(client.get_metric_history(run_id, "val_accuracy")) == 201
        assert {f.path for f in client.list_artifacts(run_id)} >= {"weights.npz", "plots"}
