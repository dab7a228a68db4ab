"""Tracking through the real command line: `python -m src.run -m …` as a subprocess, each test with
its own SQLite store (MLFLOW_TRACKING_URI from conftest): the parent run and its children, what a
child records, the joblib launcher on a brand-new store against the sequential one, an interrupted
sweep rerun, +force=true, divergence in a sweep, an unreachable server, a rejected config, and
`python -m src.reproduce`."""

import ctypes
import os
import re
import signal
import subprocess
import sys
import time

import mlflow
import numpy as np
import pytest
import scipy.stats
from mlflow import MlflowClient

from netlab.recording import curve_epochs
from netlab.report import design
from tests.hooks import HoldingProxy
from tests.servers import MlflowServer
from tests.sweeps import runs_of
from tests.test_run import read_jobs
from tests.test_tracking import ROOT

pytestmark = pytest.mark.slow


def command(*args):
    """`python -m src.run *args` (as the user types it)."""
    return [sys.executable, "-m", "src.run", *args]


def run(args, cwd, timeout=300, module="src.run"):
    """Run `python -m module *args` in cwd; returns the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_joblib_sweep_on_a_new_store_matches_the_sequential_launcher_and_resumes(
        tmp_path, tracking_uri):
    """One study three ways: under the sequential launcher (its job lines, nothing written where
    it ran); under joblib with two workers on a store that does not exist yet (jobs must not race
    to create it): a parent and complete children, what each child records, bit-identical
    results and weights; then the same command again skips every job (the launcher is not part of
    a sweep's identity) and logs no second model of the same best run."""
    # two datasets (a 2-D one and iris: their plots differ), mini-batches so that the shuffling
    # seed matters too
    study = ["-m", "dataset=moons,iris", "activation=tanh,relu", "optimizer=sgd",
             "batch_size=32", "epochs=40", "mlflow.experiment=study"]
    sequential = run([*study, "hydra.sweep.dir=sequential"], tmp_path)  # the test's own store
    assert sequential.returncode == 0, sequential.stderr[-3000:]
    lines = [line for line in sequential.stdout.splitlines() if line.startswith("#")]
    assert [line.split(":")[0] for line in lines] == [
        f"#{i} [{i + 1}/4] dataset={d} activation={a} optimizer=sgd batch_size=32 epochs=40"
        for i, (d, a) in enumerate((d, a) for d in ("moons", "iris") for a in ("tanh", "relu"))]
    assert all(" train " in line and " val " in line and " test " in line for line in lines)
    # each job's line says what is left, from the sweep's pace; the last one has nothing left
    assert [re.search(r"  ETA \d+ (s|min)$", line) is not None for line in lines] == \
        [True, True, True, False]
    assert [p.name for p in tmp_path.iterdir()] == ["sequential"]  # no outputs/, cwd unchanged

    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"  # not there yet: jobs must not race
    parallel = [*study, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                f"mlflow.tracking_uri={uri}"]
    result = run([*parallel, "hydra.sweep.dir=m"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2," in result.stdout + result.stderr
    assert "sweep summary: 4 runs (4 finished)" in result.stderr
    # every process closed its connections at exit, so the store's write-ahead log was
    # checkpointed into it and deleted
    assert not (tmp_path / "new" / "mlflow.db-wal").exists()
    before, after = read_jobs(tmp_path / "sequential"), read_jobs(tmp_path / "m")
    assert sorted(before) == sorted(after) == list(range(4))
    for job in range(4):
        (r1, w1), (r2, w2) = before[job], after[job]
        assert r1 == r2
        assert w1.keys() == w2.keys() and all(np.array_equal(w1[k], w2[k]) for k in w1)

    mlflow.set_tracking_uri(uri)
    (parent,), children = runs_of("study", uri)
    assert parent.info.status == "FINISHED" and parent.info.run_name.startswith("study")
    assert parent.data.metrics["n_finished"] == 4
    assert len(children) == 4
    client = MlflowClient(uri)
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        params, tags, metrics = child.data.params, child.data.tags, child.data.metrics
        assert params["epochs"] == "40" and params["optimizer.name"] == "sgd"
        assert {"dataset.name", "dataset.test_size", "width", "depth", "lr", "seed"} <= set(params)
        assert not any(key.startswith("mlflow.") for key in params)
        assert "src.run -m dataset=moons,iris" in tags["command"]
        for key in ("git_commit", "git_dirty", "config_hash", "seed", "job_num", "overrides"):
            assert key in tags, key
        for key in ("test_loss", "test_accuracy", "test_f1", "train_time_s", "epochs_run",
                    "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert key in metrics, key
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val_loss")] == \
            sorted(curve_epochs(40))
        files = {f.path for f in client.list_artifacts(child.info.run_id)}
        assert {"config.yaml", "weights.npz", "plots"} <= files
        plots = {f.path for f in client.list_artifacts(child.info.run_id, "plots")}
        picture = "decision_boundary" if params["dataset.name"] == "moons" else "confusion_matrix"
        expected = ({"plots/decision_boundary.png", "plots/hidden_units.png"}
                    if picture == "decision_boundary" else {"plots/confusion_matrix.png"})
        assert plots == expected
        assert [d.dataset.name for d in child.inputs.dataset_inputs] == [params["dataset.name"]] * 3
    # the pyfunc model: every single run has one, a sweep only its best run (by val accuracy)
    best = max(children, key=lambda c: (c.data.metrics["val_accuracy"],
                                        c.data.metrics["test_accuracy"]))
    assert parent.data.tags["best_run"] == best.info.run_id
    for child in children:
        has_model = bool(client.get_run(child.info.run_id).outputs.model_outputs)
        assert has_model == (child.info.run_id == best.info.run_id)
    model = mlflow.pyfunc.load_model(f"runs:/{best.info.run_id}/model")
    example = np.asarray(model.input_example)
    n_features = 4 if best.data.params["dataset.name"] == "iris" else 2
    assert example.shape == (5, n_features) and model.predict(example).shape == (5,)
    # the same command again (the sequential launcher: it is not part of the sweep's identity)
    # skips every job, and logs no second model of the same best run
    again = run([*study, f"mlflow.tracking_uri={uri}", "hydra.sweep.dir=m"], tmp_path)
    assert "resuming sweep run " + parent.info.run_id in again.stderr
    assert again.returncode == 0 and "4 skipped: 4 finished before" in again.stderr
    assert len(client.get_run(best.info.run_id).outputs.model_outputs) == 1
    assert client.get_run(parent.info.run_id).data.tags["best_run"] == best.info.run_id
    mlflow.set_tracking_uri(None)


def test_an_interrupted_sweep_reruns_only_what_is_missing(tmp_path, tracking_uri, monkeypatch):
    # the sweep logs through a tracking server on this test's store, behind a proxy that holds
    # seed 1's run once its params are written (tests/hooks.py): the jobs run one after another,
    # so the sweep is killed outright with seed 0 FINISHED and seed 1 provably in its run
    # (one job per seed: a packed sweep would train the four in one job)
    args = ["-m", "seed=0,1,2,3", "hydra.sweeper.pack=false", "epochs=200", "dataset=xor",
            "mlflow.experiment=killed", "hydra.sweep.dir=k"]
    server = MlflowServer(tracking_uri, tmp_path / "artifacts", tmp_path / "server").start()
    try:
        with HoldingProxy(server.uri, lambda r: r.params.get("seed") == "1") as proxy:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": proxy.uri}
            proc = subprocess.Popen(command(*args), cwd=tmp_path, env=env,
                                    start_new_session=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                proxy.wait_held(240, proc)
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)  # the rerun and the checks
        mlflow.set_tracking_uri(server.uri)
        (parent,), children = runs_of("killed")
        assert parent.info.status == "RUNNING"
        assert sorted((c.data.params["seed"], c.info.status) for c in children) == [
            ("0", "FINISHED"), ("1", "RUNNING")]

        result = run(args, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.count("already FINISHED") == 1  # seed 0
        (parent,), children = runs_of("killed")  # the same parent run, resumed
        assert parent.info.status == "FINISHED"
        finished = [c for c in children if c.info.status == "FINISHED"]
        hashes = [c.data.tags["config_hash"] for c in finished]
        assert len(hashes) == 4 and len(set(hashes)) == 4  # no gaps, no duplicates
        assert sorted(c.data.params["seed"] for c in finished) == [str(s) for s in range(4)]
        assert all(c.info.status in ("FINISHED", "KILLED") for c in children)  # none left RUNNING

        forced = run([*args, "+force=true"], tmp_path)
        assert forced.returncode == 0 and "already FINISHED" not in forced.stdout
        parents, children = runs_of("killed")
        assert len(parents) == 2 and sum(c.info.status == "FINISHED" for c in children) == 8
    finally:
        server.stop()


def test_a_sigterm_another_thread_takes_still_ends_a_run_held_by_its_server(
        tmp_path, tracking_uri):
    """The kernel hands a process's SIGTERM to any thread that does not block it (numpy's BLAS
    threads), e.g. when the main thread already has a signal pending (scancel sends SIGCONT, then
    SIGTERM). Sent straight to such a thread (tgkill) while the main thread waits on a request
    its tracking server holds: the run still ends KILLED within seconds, not after MLflow's
    120 s HTTP timeout (past SLURM's grace period, which then SIGKILLs it unrecorded)."""
    libc = ctypes.CDLL(None, use_errno=True)
    server = MlflowServer(tracking_uri, tmp_path / "artifacts", tmp_path / "server").start()
    try:
        with HoldingProxy(server.uri, lambda r: "activation" in r.params) as proxy:
            # (two BLAS threads: the main one and a worker thread, however many cores)
            env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": proxy.uri,
                   "OPENBLAS_NUM_THREADS": "2"}
            proc = subprocess.Popen(command("epochs=20000", "mlflow.experiment=held"),
                                    cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                run_id = proxy.wait_held(240, proc)
                threads = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task"))
                others = [t for t in threads if t != proc.pid]
                assert len(others) >= 2, others  # at least BLAS's and the one that wakes main
                other = others[0]  # the first made: BLAS's, started as numpy is imported
                assert libc.tgkill(proc.pid, other, signal.SIGTERM) == 0, ctypes.get_errno()
                sent = time.monotonic()
                out, err = proc.communicate(timeout=200)
                took = time.monotonic() - sent
            finally:
                if proc.poll() is None:
                    proc.kill()
        assert proc.returncode == 143, err[-3000:]
        assert took < 60, f"the run ended {took:.0f} s after the SIGTERM"
        assert proxy.dropped.is_set()  # the held request was given up, not answered
        assert MlflowClient(server.uri).get_run(run_id).info.status == "KILLED"
        assert "interrupted by SIGTERM" in err
    finally:
        server.stop()


def _exists(experiment):
    return MlflowClient().get_experiment_by_name(experiment) is not None


@pytest.mark.usefixtures("tracking_uri")
def test_a_diverging_job_fails_its_run_and_the_sweep_goes_on(tmp_path):
    result = run(["-m", "activation=relu", "lr=1e6,0.1", "epochs=300", "mlflow.experiment=div",
                  "hydra.sweep.dir=d"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 failed" in result.stderr and "diverged: loss not finite at epoch" in result.stderr
    _, children = runs_of("div")
    by_lr = {c.data.params["lr"]: c for c in children}
    bad, good = by_lr["1000000.0"], by_lr["0.1"]
    assert bad.info.status == "FAILED" and bad.data.tags["diverged"] == "true"
    epoch = int(bad.data.tags["diverged_epoch"])
    steps = [m.step for m in MlflowClient().get_metric_history(bad.info.run_id, "train_loss")]
    assert steps and steps[-1] == epoch - 1  # the curve up to the last finite epoch
    assert good.info.status == "FINISHED"


def test_an_unreachable_server_is_reported_in_one_line_before_training(tmp_path):
    for args in (["epochs=5"], ["-m", "epochs=5,6"]):
        t0 = time.monotonic()
        result = run([*args, "mlflow.tracking_uri=http://127.0.0.1:9"], tmp_path, timeout=60)
        assert result.returncode != 0 and time.monotonic() - t0 < 30
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("tracking: tracking server http://127.0.0.1:9 is unreachable")
        assert "Traceback" not in result.stderr and " train " not in result.stdout


def test_a_rejected_config_creates_no_run(tmp_path, tracking_uri):
    result = run(["-m", "width=4,0", "mlflow.experiment=rejected"], tmp_path, timeout=60)
    assert result.returncode == 1 and "width" in result.stderr
    assert not _exists("rejected")


@pytest.mark.usefixtures("tracking_uri")
def test_a_single_run_trains_and_reproduce_takes_the_id_you_see(tmp_path):
    args = ["epochs=150", "dataset=spiral", "optimizer=adam", "lr=0.01", "batch_size=32",
            "mlflow.experiment=repro"]
    sweep = run(["-m", "seed=0,1", *args], tmp_path)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    # after the sweep: the experiment, the UI command and the report command
    assert "experiment 'repro'" in sweep.stderr and "make ui STUDY=repro" in sweep.stderr
    assert "python -m src.report repro" in sweep.stderr
    (parent,), children = runs_of("repro")
    first = next(c for c in children if c.data.params["seed"] == "0")
    # a single run of a configuration the sweep finished trains again, and says what it repeats
    single = run(["seed=0", *args], tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    assert "already FINISHED" not in single.stdout and " train " in single.stdout
    parents, runs = runs_of("repro")
    (again,) = [r for r in parents if r.info.run_id != parent.info.run_id]  # no parent: alone
    assert again.data.tags["repeats"] == first.info.run_id
    assert again.data.tags["config_hash"] == first.data.tags["config_hash"]
    assert f"run {again.info.run_id}" in single.stdout and "artifacts download" in single.stdout
    # reproduce by the 8 characters the report prints
    reproduced = run([again.info.run_id[:8]], tmp_path, module="netlab.reproduce")
    assert reproduced.returncode == 0, reproduced.stdout + reproduced.stderr[-3000:]
    assert "matches bit for bit" in reproduced.stdout
    client = MlflowClient()
    copies = client.search_runs([parent.info.experiment_id],
                                f"tags.reproduces = '{again.info.run_id}'")
    assert len(copies) == 1
    assert copies[0].data.tags["config_hash"] == again.data.tags["config_hash"]
    # a sweep's parent reproduces its sweep's runs
    whole = run([parent.info.run_id], tmp_path, module="netlab.reproduce")
    assert whole.returncode == 0, whole.stdout + whole.stderr[-3000:]
    assert whole.stdout.count("matches bit for bit") == 2
    # every error is one line
    for wrong in ("0000", "not-an-id"):
        bad = run([wrong], tmp_path, module="netlab.reproduce")
        assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert bad.stderr.startswith("reproduce: ") and "Traceback" not in bad.stderr


@pytest.mark.usefixtures("tracking_uri")
def test_the_experiment_and_the_sweep_run_explain_themselves_in_their_notes(tmp_path):
    result = run(["-m", "+experiment=activations", "dataset=moons", "activation=tanh,relu",
                  "epochs=20", "seeds=3", "hydra.sweep.dir=m"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # '±' means a standard deviation only, and says so; intervals are written [low, high]
    assert re.search(r"\(3 seeds\): val \d\.\d{3} ± \d\.\d{3} sd  test \d\.\d{3} ± "
                     r"\d\.\d{3} sd  \(3 of 3 seeds\)", result.stdout), result.stdout
    client = MlflowClient()
    experiment = client.get_experiment_by_name("activations")
    (parent,), children = runs_of("activations")
    note = experiment.tags["mlflow.note.content"]
    question = design.question(design.study_file("activations"))
    assert question and question in note and "+experiment=activations" in note
    assert f"runs/{parent.info.run_id}/artifacts" in note and "`activation`" in note
    assert parent.data.params["sweep.activation"] == "tanh,relu"
    assert parent.data.params["epochs"] == "20"  # a fixed value
    table = parent.data.tags["mlflow.note.content"]
    assert "| configuration | n | val accuracy | test accuracy | runs |" in table
    rows = [line for line in table.splitlines() if line.startswith(("| tanh |", "| relu |"))]
    assert len(rows) == 2  # one row per configuration, its seeds pooled
    for activation in ("tanh", "relu"):
        values = [c.data.metrics["val_accuracy"] for c in children
                  if c.data.params["activation"] == activation]
        low, high = scipy.stats.t.interval(0.95, 2, loc=np.mean(values),
                                           scale=scipy.stats.sem(values))
        (row,) = [r for r in rows if r.startswith(f"| {activation} | 3 | ")]
        assert f"| {np.mean(values):.3f} [{low:.3f}, {high:.3f}] |" in row
        assert row.endswith("| 3 finished |")
