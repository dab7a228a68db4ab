"""Sweeps on a Ray cluster of two nodes (tests/servers.py: `ray start --head` and `ray start
--address` on 127.0.0.2 and 127.0.0.3, standing in for two machines) with Hydra's Ray launcher
(`hydra/launcher=ray`, `hydra.launcher.ray.init.address`), into an `mlflow server` backed by
PostgreSQL. The nodes are started without the sweep's environment: a job learns where to log and
under which parent run only from the `hydra.job.env_set` the harness puts in its config. Without
Ray (`make ray`) the tests skip, saying why; with CI=true they fail.
"""

import os
import time

import numpy as np
import pytest
from mlflow import MlflowClient

from tests.clusters import LONG, STUDY, check_sweep, start_sweep, sweep, sweep_runs
from tests.hooks import HoldingProxy
from tests.servers import HEAD_IP, RAY_ENV, WORKER_IP
from tests.test_run import ray_launcher_installed, read_jobs
from tests.test_run import run as run_command

pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("tracking_uri")
def test_the_ray_launcher_on_a_local_instance(tmp_path):
    if not ray_launcher_installed():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the Ray test: .ci/run installs the launcher with `make ray`")
        pytest.skip("hydra-ray-launcher is not installed: `make ray` (pip install -e '.[ray]')")
    args = ["-m", "activation=tanh,relu", "epochs=20", "optimizer=sgd", "batch_size=32"]
    code, out, err = run_command([*args, "hydra/launcher=ray",
                                  "+hydra.launcher.ray.init.num_cpus=2", "hydra.sweep.dir=ray"],
                                 tmp_path, timeout=300)
    assert code == 0, err
    # Ray forwards a worker's output ("(_run_job pid=…) #1 …") asynchronously: a line can be lost
    # when the sweep ends, so the job folders are what is checked
    assert 1 <= len([line for line in out.splitlines() if ": train " in line]) <= 2
    code, out, err = run_command([*args, "hydra.sweep.dir=sequential"], tmp_path,
                         MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'sequential.db'}")
    assert code == 0, err
    on_ray, sequential = read_jobs(tmp_path / "ray"), read_jobs(tmp_path / "sequential")
    assert sorted(on_ray) == [0, 1]
    for job in (0, 1):
        (r1, w1), (r2, w2) = on_ray[job], sequential[job]
        assert r1 == r2 and all(np.array_equal(w1[k], w2[k]) for k in w1)


def ray_args(cluster):
    # a driver joining a cluster must not size its object store (the launcher's default does)
    return ["hydra/launcher=ray", f"hydra.launcher.ray.init.address={cluster.address}",
            "+hydra.launcher.ray.init.object_store_memory=null"]


def test_a_sweep_runs_on_both_nodes_and_matches_the_sequential_launcher(
        ray_cluster, mlflow_server, sequential_study, tmp_path):
    uri, _ = mlflow_server
    # the tracking server only in the driver's environment, not on the command line
    code, out, err = sweep([*STUDY, *ray_args(ray_cluster), "hydra.sweep.dir=ray",
                            "mlflow.experiment=ray-study"], tmp_path,
                           MLFLOW_TRACKING_URI=uri, **RAY_ENV)
    assert code == 0, err[-3000:]
    assert "sweep summary: 4 runs (4 finished)" in err
    children = check_sweep(uri, "ray-study", tmp_path / "ray", sequential_study)
    nodes = [r.data.tags.get("ray.node_id") for r in children]
    assert set(nodes) == set(ray_cluster.nodes.values()), nodes  # jobs landed on each node
    assert len({r.data.tags["netlab.pid"] for r in children}) >= 2  # in worker processes
    assert all("slurm.job_id" not in r.data.tags for r in children)


def test_a_node_lost_mid_sweep_ends_its_jobs_killed_and_they_are_trained_again(
        ray_cluster, mlflow_server, tmp_path):
    server, _ = mlflow_server
    experiment = "ray-node-lost"
    worker = ray_cluster.nodes[WORKER_IP]
    # the victim: the first run on the second node; its requests after its params are held
    # (tests/hooks.py), so it cannot end before the node is stopped, however fast it trains
    with HoldingProxy(server, lambda run: run.tags.get("ray.node_id") == worker
                      and "activation" in run.params) as proxy:
        args = ["-m", "activation=tanh,relu", *LONG, *ray_args(ray_cluster),
                f"mlflow.tracking_uri={proxy.uri}", f"mlflow.experiment={experiment}"]
        with open(tmp_path / "first.log", "w") as log:
            proc = start_sweep([*args, "hydra.sweep.dir=first"], tmp_path, log, **RAY_ENV)
            try:
                victim = proxy.wait_held(300, proc)
                assert MlflowClient(server).get_run(victim).info.status == "RUNNING"
                ray_cluster.stop_worker()  # the machine is gone: its raylet and workers at once
                code = proc.wait(timeout=300)
            finally:
                if proc.poll() is None:
                    proc.kill()
        assert proxy.dropped.is_set()  # the held request died with the node, never answered
        text = (tmp_path / "first.log").read_text()
        assert code == 0, text[-3000:]
        client = MlflowClient(server)
        lost = client.get_run(victim)
        assert lost.info.status in ("KILLED", "FAILED"), lost.info.status
        assert f"  {lost.info.status:8} {lost.info.run_name}:" in text  # the summary lists it
        # Ray retries a task whose node died (max_retries): the retry ran on the head, else the
        # sweep ended without it and the rerun trains it
        (parent,), children = sweep_runs(server, experiment)
        finished = {r.data.params["activation"] for r in children if r.info.status == "FINISHED"}
        missing = {"tanh", "relu"} - finished
        rerun_since = int(time.time() * 1000)
        code, out, err = sweep([*args, "hydra.sweep.dir=rerun"], tmp_path, **RAY_ENV)
        assert code == 0, err[-3000:]
    (again,), children = sweep_runs(server, experiment)
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    new = [r for r in children if r.info.start_time >= rerun_since]
    assert sorted(r.data.params["activation"] for r in new) == sorted(missing)
    assert all(r.info.status == "FINISHED" for r in new)
    by_config = {}
    for run in children:
        by_config.setdefault(run.data.params["activation"], []).append(run)
    assert sorted(by_config) == ["relu", "tanh"]
    for runs in by_config.values():  # one FINISHED run per configuration, nothing twice
        assert [r.info.status for r in runs].count("FINISHED") == 1
    (done,) = [r for r in by_config[lost.data.params["activation"]]
               if r.info.status == "FINISHED"]
    assert done.data.tags["ray.node_id"] == ray_cluster.nodes[HEAD_IP]  # the node left
