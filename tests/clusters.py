"""What the cluster tests share: the shortened default study, its run under the sequential launcher
(the reference every cluster's results must equal bit for bit), and the checks of a sweep's runs.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from tests.test_run import ROOT, read_jobs

# the default study, shortened: two of its datasets and two of its activations (four jobs: two
# rounds on two cores), short runs
STUDY = ["-m", "+experiment=activations", "seeds=1", "dataset=moons,xor",
         "activation=sigmoid,relu", "epochs=200", "dataset.n_samples=120"]
N_JOBS = 4
# jobs long enough (seconds of training) to be stopped while they train
LONG = ["dataset.n_samples=120", "epochs=20000"]
NOT_COMPARED = {"train_time_s", "tracking_time_s"}  # timings differ from run to run


def sweep(args, cwd, timeout=600, **env):
    """Run `python -m src.run *args` in cwd with env added; returns (code, stdout, stderr)."""
    full = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT)
    p = subprocess.run([sys.executable, "-m", "src.run", *args], cwd=cwd, env=full,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start_sweep(args, cwd, log, **env):
    """Start `python -m src.run *args` in cwd, its output to the file log; returns the Popen."""
    full = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=cwd, env=full,
                            stdout=log, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="session")
def sequential_study(tmp_path_factory):
    """The shortened study under the sequential launcher, into a SQLite store of its own:
    (its sweep folder, {config_hash: final metrics})."""
    folder = tmp_path_factory.mktemp("sequential")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    code, out, err = sweep([*STUDY, "hydra.sweep.dir=sweep"], folder, MLFLOW_TRACKING_URI=uri)
    assert code == 0, err[-3000:]
    _, children = sweep_runs(uri, "activations")
    assert len(children) == N_JOBS and all(r.info.status == "FINISHED" for r in children)
    return folder / "sweep", {r.data.tags["config_hash"]: final_metrics(r) for r in children}


def final_metrics(run):
    return {k: v for k, v in run.data.metrics.items() if k not in NOT_COMPARED}


def sweep_runs(uri, experiment):
    """(the parent runs, the child runs) of an experiment in the store at uri."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {uri}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    return parents, [r for r in runs if "mlflow.parentRunId" in r.data.tags]


def check_sweep(uri, experiment, sweep_dir, reference):
    """The sweep's runs are right and equal the sequential reference bit for bit: one parent
    FINISHED, one FINISHED child per job under it, the same configs with the same final metrics,
    the same results.yaml and weights.npz in every job folder, the same weights.npz artifacts.
    Returns the child runs."""
    reference_dir, reference_metrics = reference
    (parent,), children = sweep_runs(uri, experiment)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["n_finished"] == N_JOBS and parent.data.metrics["n_killed"] == 0
    assert len(children) == N_JOBS
    assert all(r.info.status == "FINISHED" for r in children)
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert {r.data.tags["config_hash"]: final_metrics(r) for r in children} == reference_metrics
    here, there = read_jobs(sweep_dir), read_jobs(reference_dir)
    assert sorted(here) == sorted(there) == list(range(N_JOBS))
    for job in here:
        (r1, w1), (r2, w2) = here[job], there[job]
        assert r1 == r2, job
        assert w1 and w1.keys() == w2.keys() and all(np.array_equal(w1[k], w2[k]) for k in w1)
    client = MlflowClient(uri)
    with tempfile.TemporaryDirectory() as downloads:
        for run in children:  # the weights the server stored are the sequential run's
            job = int(run.data.tags["job_num"])
            dst = Path(downloads, str(job))
            dst.mkdir()
            path = client.download_artifacts(run.info.run_id, "weights.npz", str(dst))
            stored = dict(np.load(path))
            assert stored.keys() == there[job][1].keys()
            assert all(np.array_equal(stored[k], there[job][1][k]) for k in stored)
    return children

