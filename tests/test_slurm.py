"""Sweeps on a real SLURM cluster with Hydra's submitit launcher (`hydra/launcher=submitit_slurm`),
into an `mlflow server` backed by PostgreSQL: the cluster is a single node started from Debian's
packages by the `slurm` fixture (tests/servers.py). Without SLURM the tests skip, saying why; with
CI=true they fail.
"""

import time

import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from tests.clusters import (
    LONG,
    N_JOBS,
    STUDY,
    check_sweep,
    start_sweep,
    sweep,
    sweep_runs,
)
from tests.hooks import HoldingProxy

pytestmark = pytest.mark.slow

SLURM = ["hydra/launcher=submitit_slurm", "hydra.launcher.cpus_per_task=1",
         "hydra.launcher.timeout_min=10"]


def test_the_default_study_runs_as_slurm_jobs_and_matches_the_sequential_launcher(
        slurm, mlflow_server, sequential_study, tmp_path):
    uri, _ = mlflow_server
    code, out, err = sweep([*STUDY, *SLURM, "hydra.sweep.dir=slurm", f"mlflow.tracking_uri={uri}",
                            "mlflow.experiment=slurm-study"], tmp_path, **slurm.env)
    assert code == 0, err[-3000:]
    assert "sweep summary: 4 runs (4 finished)" in err
    children = check_sweep(uri, "slurm-study", tmp_path / "slurm", sequential_study)
    # every job ran as a SLURM job: one array, a task and a job id of its own per job
    tags = [r.data.tags for r in children]
    assert all("slurm.job_id" in t and t.get("slurm.node") == "localhost" for t in tags)
    assert len({t["slurm.job_id"] for t in tags}) == N_JOBS
    (array,) = {t["slurm.array_job_id"] for t in tags}
    assert sorted(int(t["slurm.array_task_id"]) for t in tags) == list(range(N_JOBS))
    assert (tmp_path / "slurm" / ".submitit" / array).is_dir()  # submitit's folder of the array
    for t in tags:  # each job's submitit log names the SLURM job that ran it
        task = f"{array}_{t['slurm.array_task_id']}"
        log = (tmp_path / "slurm" / ".submitit" / task / f"{task}_0_log.out").read_text()
        assert f"#{t['job_num']} [" in log and "Job completed successfully" in log


def test_a_cancelled_slurm_job_ends_killed_and_a_rerun_trains_exactly_it(
        slurm, mlflow_server, tmp_path):
    server, _ = mlflow_server
    experiment = "slurm-preempted"
    # the victim: relu's run; its requests after its params are held (tests/hooks.py), so it is
    # still in its run when cancelled, however fast it trains
    with HoldingProxy(server, lambda run: run.params.get("activation") == "relu") as proxy:
        args = ["-m", "activation=tanh,relu", *LONG, *SLURM, f"mlflow.tracking_uri={proxy.uri}",
                f"mlflow.experiment={experiment}"]
        with open(tmp_path / "first.log", "w") as log:
            proc = start_sweep([*args, "hydra.sweep.dir=first"], tmp_path, log, **slurm.env)
            try:
                victim = MlflowClient(server).get_run(proxy.wait_held(300, proc))
                assert victim.info.status == "RUNNING"
                tags = victim.data.tags
                task = f"{tags['slurm.array_job_id']}_{tags['slurm.array_task_id']}"
                slurm.run("scancel", task)
                assert wait_after_cancel(proc, slurm, task, tmp_path / "first") == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
        # SIGTERM ended the job's held request (never answered); its run then ended KILLED
        assert proxy.dropped.is_set()
        text = (tmp_path / "first.log").read_text()
        assert "sweep summary: 2 runs (1 finished, 1 killed)" in text, text[-3000:]
        assert "  KILLED   relu: interrupted by SIGTERM" in text
        client = MlflowClient(server)
        killed = client.get_run(victim.info.run_id)
        assert killed.info.status == "KILLED"
        assert killed.data.tags["killed_reason"] == "interrupted by SIGTERM"
        (parent,), children = sweep_runs(server, experiment)
        assert parent.info.status == "FINISHED" and parent.data.metrics["n_killed"] == 1
        assert sorted((r.data.params["activation"], r.info.status) for r in children) == [
            ("relu", "KILLED"), ("tanh", "FINISHED")]
        assert "KILLED by SIGTERM" in (tmp_path / "first" / ".submitit").joinpath(
            f"{tags['slurm.array_job_id']}_{tags['slurm.array_task_id']}",
            f"{tags['slurm.array_job_id']}_{tags['slurm.array_task_id']}_0_log.out").read_text()

        # the same command again: the sweep resumes its parent and trains relu only
        since = int(time.time() * 1000)
        code, out, err = sweep([*args, "hydra.sweep.dir=rerun"], tmp_path, **slurm.env)
    assert code == 0, err[-3000:]
    assert f"resuming sweep run {parent.info.run_id}" in err
    assert "sweep summary: 1 runs (1 finished), 1 skipped: 1 finished before" in err
    (again,), children = sweep_runs(server, experiment)
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    new = [r for r in children if r.info.start_time >= since]
    assert [(r.data.params["activation"], r.info.status) for r in new] == [("relu", "FINISHED")]
    tanh, relu = (OmegaConf.load(tmp_path / "rerun" / str(job) / "results.yaml") for job in (0, 1))
    assert not tanh.trained and relu.trained  # tanh skipped, relu trained


def wait_after_cancel(proc, slurm, task, sweep_dir, timeout=300, grace=90):
    """The sweep's exit status once the cancelled task is gone. Without accounting (the test
    cluster has none), submitit learns a task ended only from the result it writes: a task SLURM
    had to SIGKILL (it did not end within KillWait) leaves none and the sweep would wait forever,
    so that fails here, after `grace` s, with the task's logs."""
    deadline, gone_at = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc.returncode
        if gone_at is None and task not in slurm.jobs():
            gone_at = time.monotonic()
        if gone_at is not None and time.monotonic() - gone_at > grace:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                              for p in sorted((sweep_dir / ".submitit" / task).glob("*_log.*")))
            pytest.fail(f"task {task} ended {grace} s ago without a result (killed?):\n{logs}")
        time.sleep(1)
    pytest.fail(f"the sweep did not end within {timeout} s of the cancel")


def test_a_study_packs_replicas_into_jobs_and_limits_the_array(slurm, mlflow_server, tmp_path):
    uri, _ = mlflow_server
    experiment = "slurm-packed"
    # 2 configurations x 3 seeds: 2 SLURM jobs of 3 runs each, at most one job running at a time
    code, out, err = sweep(["-m", "activation=tanh,relu", "seeds=3", "epochs=50",
                            "dataset.n_samples=120", *SLURM, "hydra.launcher.array_parallelism=1",
                            "hydra.sweep.dir=packed", f"mlflow.tracking_uri={uri}",
                            f"mlflow.experiment={experiment}"], tmp_path, **slurm.env)
    assert code == 0, err[-3000:]
    _, children = sweep_runs(uri, experiment)
    assert len(children) == 6 and all(r.info.status == "FINISHED" for r in children)
    jobs = {}
    for run in children:
        jobs.setdefault(run.data.tags["slurm.job_id"], []).append(run)
    assert sorted(len(runs) for runs in jobs.values()) == [3, 3]
    for runs in jobs.values():  # one configuration per job, its three seeds
        assert len({r.data.params["activation"] for r in runs}) == 1
        assert sorted(int(r.data.params["seed"]) for r in runs) == [0, 1, 2]
    (array,) = {r.data.tags["slurm.array_job_id"] for r in children}
    script = next((tmp_path / "packed" / ".submitit").glob(f"{array}*/*_submission.sh"))
    assert "#SBATCH --array=0-1%1" in script.read_text()  # array_parallelism=1
    first, second = sorted(jobs.values(), key=lambda runs: min(r.info.start_time for r in runs))
    assert max(r.info.end_time for r in first) <= min(r.info.start_time for r in second)
