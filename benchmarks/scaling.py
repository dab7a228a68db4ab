"""Runs per minute of each way out of one process, for docs/benchmarks.md's scaling section.

    .venv/bin/python -m pytest benchmarks/scaling.py -s -p no:cacheprovider [--write-docs [PATH]]

Not part of `make test` (minutes). It starts what the tests start (tests/servers.py: PostgreSQL, a
tracking server on it, a single-node SLURM cluster, a two-node Ray cluster) and times the same
sweep, the default study at `seeds=10` (12 jobs of 10 replicas: 120 runs), under each launcher,
every path logging to the same PostgreSQL-backed tracking server; then one Optuna study of 2 × 12
trials shared by two processes through a PostgreSQL storage, against one process alone.
"""

import time

from benchmarks import docs
from tests.clusters import start_sweep, sweep, sweep_runs
from tests.servers import RAY_ENV, mlflow_server, postgres, ray_cluster, slurm  # noqa: F401

SEEDS = 10
STUDY = ["-m", "+experiment=activations", f"seeds={SEEDS}"]
OPTUNA_TRIALS = 12


def timed(args, cwd, experiment, uri, **env):
    """Run a sweep into experiment on the server; returns (runs, wall seconds)."""
    t0 = time.perf_counter()
    code, out, err = sweep([*args, f"mlflow.tracking_uri={uri}", f"mlflow.experiment={experiment}",
                            f"hydra.sweep.dir={experiment}"], cwd, timeout=3600, **env)
    seconds = time.perf_counter() - t0
    assert code == 0, err[-3000:]
    _, children = sweep_runs(uri, experiment)
    assert all(r.info.status == "FINISHED" for r in children)
    return len(children), seconds


def row(name, runs, seconds):
    line = f"| {name} | {runs} | {seconds:.0f} | {runs / seconds * 60:.1f} |"
    print(line, flush=True)
    return line


def test_runs_per_minute(postgres, mlflow_server, slurm, ray_cluster, tmp_path,  # noqa: F811
                        pytestconfig):
    uri, _ = mlflow_server
    rows = ["| path | runs | wall s | runs/min |", "|---|---|---|---|"]
    paths = {
        "sequential (one process)": ["hydra.sweeper.workers=1"],
        "a sweep's default (every core, the grid sweeper's joblib workers)": [],
        "joblib, 2 processes": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        "SLURM, 1 node of 2 CPUs (submitit, one job per configuration)": [
            "hydra/launcher=submitit_slurm", "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.timeout_min=30"],
        "Ray, 2 nodes of 1 CPU": [
            "hydra/launcher=ray", f"hydra.launcher.ray.init.address={ray_cluster.address}",
            "+hydra.launcher.ray.init.object_store_memory=null"],
    }
    for k, (name, extra) in enumerate(paths.items()):
        env = {**slurm.env, **RAY_ENV} if "SLURM" in name or "Ray" in name else {}
        rows.append(row(name, *timed([*STUDY, *extra], tmp_path, f"scale-{k}", uri, **env)))

    # Optuna: one process alone, then two sharing a study in PostgreSQL
    optuna = ["-m", "+experiment=optuna", f"hydra.sweeper.n_trials={OPTUNA_TRIALS}"]
    alone = postgres.database("optuna_alone")
    rows.append(row(f"Optuna, 1 process, {OPTUNA_TRIALS} trials",
                    *timed([*optuna, f"hydra.sweeper.storage={alone}"], tmp_path, "scale-optuna1",
                           uri)))
    shared = postgres.database("optuna_shared")
    t0 = time.perf_counter()
    procs = []
    for k in (1, 2):
        log = open(tmp_path / f"optuna{k}.log", "w")
        procs.append(start_sweep([*optuna, f"hydra.sweeper.storage={shared}",
                                  f"hydra.sweeper.sampler.seed={k}", f"mlflow.tracking_uri={uri}",
                                  "mlflow.experiment=scale-optuna2", f"hydra.sweep.dir=o{k}"],
                                 tmp_path, log))
        if k == 1:
            time.sleep(20)  # the first creates the study's tables; the second joins it
    assert [p.wait(timeout=3600) for p in procs] == [0, 0]
    seconds = time.perf_counter() - t0
    _, children = sweep_runs(uri, "scale-optuna2")
    rows.append(row(f"Optuna, 2 processes sharing a PostgreSQL storage, 2 × {OPTUNA_TRIALS} trials",
                    len(children), seconds))
    print("\n" + "\n".join(rows))
    if pytestconfig.netlab_write_docs:
        settings = (f"the default study at `seeds={SEEDS}` (120 runs) under each launcher, and an "
                    f"Optuna study of {OPTUNA_TRIALS} trials a process; every path logging to one "
                    "PostgreSQL-backed `mlflow server` on this machine (tests/servers.py).")
        docs.write_section("scaling", docs.section(
            "Runs per minute of each way out of one process",
            "pytest benchmarks/scaling.py -s -p no:cacheprovider --write-docs", settings,
            "\n".join(rows)), pytestconfig.netlab_write_docs)
