"""A sweep with no launcher named runs on every core (the grid sweeper's joblib workers, one BLAS
thread each), says so in its first line, and logs what one job after another logs, bit for bit;
`hydra.sweeper.workers` or $NETLAB_WORKERS says how many at once, a named launcher (basic
included) runs the jobs itself, and a bad value is one line before anything runs."""

import joblib
import pytest

from netlab import resources
from tests.sweeps import run_sweep, runs_of
from tests.test_packing import composed, printed, results_of, runs_by_hash

pytestmark = pytest.mark.slow

# two networks (activation), each one packed job of lr × seeds (2 jobs on 2 cores; a pack is split
# so that every worker gets a job, up to one job per configuration: 4 on 4 cores)
SWEEP = ["activation=tanh,relu", "lr=0.1,1.0", "seeds=2", "epochs=60", "dataset.n_samples=120",
         "mlflow.experiment=cores"]


def first_line(err):
    return next(line for line in err.splitlines() if line.strip())


def test_every_core_by_default_logs_what_one_job_after_another_does(tmp_path, monkeypatch):
    """The default against Hydra's basic launcher named (which runs the jobs itself, one after
    another, even with $NETLAB_WORKERS at 0: the suite's own NETLAB_WORKERS=1 runs every other
    sweep of the suite one after another too)."""
    cores = joblib.cpu_count()
    uris = {name: f"sqlite:///{tmp_path / name}.db" for name in ("default", "one")}
    monkeypatch.delenv("NETLAB_WORKERS")  # the default a user has (tests/conftest.py sets 1)
    code, out, err = run_sweep([*SWEEP, f"mlflow.tracking_uri={uris['default']}",
                                "hydra.sweep.dir=default"], tmp_path)
    assert code == 0, err
    at_once = min(cores, 4)  # at most one worker per configuration of the grid
    if at_once > 1:  # packs split until each worker has a job: 2 (one per network) or more
        n_jobs = max(2, at_once)
        assert first_line(err) == (
            f"sweep: 8 runs in {n_jobs} jobs, {at_once} at once on joblib's workers (every core; "
            "hydra.sweeper.workers=1 runs them one after another)"), err
        assert f"Joblib.Parallel(n_jobs={at_once}," in out  # (Hydra logs to stdout)
    else:  # a machine of one core: one job after another, nothing to say
        assert first_line(err).startswith("tracking: sweep run")
    code, one, err_one = run_sweep([*SWEEP, f"mlflow.tracking_uri={uris['one']}",
                                    "hydra.sweep.dir=one", "hydra/launcher=basic"], tmp_path,
                                   NETLAB_WORKERS="0")
    assert code == 0, err_one
    assert first_line(err_one).startswith("tracking: sweep run")
    assert "Launching 2 jobs locally" in one and "Joblib" not in one
    assert printed(out) == printed(one)
    assert results_of(tmp_path / "default") == results_of(tmp_path / "one")
    default, apart = (runs_by_hash(uris[n], "cores") for n in ("default", "one"))
    assert len(default) == 8 and default.keys() == apart.keys()
    for chash, run in default.items():
        assert {k: repr(v) for k, v in run.data.metrics.items() if not k.endswith("_time_s")} \
            == {k: repr(v) for k, v in apart[chash].data.metrics.items()
                if not k.endswith("_time_s")}, chash


@pytest.mark.parametrize("value", ["-1", "two"])
def test_a_bad_number_of_workers_is_one_line_and_runs_nothing(tmp_path, tracking_uri, value):
    code, out, err = run_sweep([*SWEEP, f"hydra.sweeper.workers={value}"], tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("config error: ") and "hydra.sweeper.workers" in err, err
    assert runs_of("cores") == ([], [])


def test_the_workers_are_as_many_as_fit_in_the_memory_limit(tmp_path, tracking_uri):
    # a limit that holds one job of the sweep but not two, each in a worker process of its own
    # (WORKER_BYTES): one after another, nothing refused
    job = ["activation=tanh", "epochs=5", "mlflow.experiment=cores"]
    need = resources.estimate(composed(job)).total + resources.WORKER_BYTES
    limit = f"memory_limit={1.5 * need / resources.GB!r}"
    code, out, err = run_sweep(["activation=tanh,relu", *job[1:], limit,
                                "hydra.sweeper.workers=2"], tmp_path)
    assert code == 0, err
    assert "at once on joblib's workers" not in err and "Launching 2 jobs locally" in out, err
    # a limit that holds two: both at once (the limit is what lowered the count above)
    limit = f"memory_limit={2.5 * need / resources.GB!r}"
    code, out, err = run_sweep(["activation=tanh,relu", *job[1:], limit, "epochs=6",
                                "hydra.sweeper.workers=2"], tmp_path)
    assert code == 0, err
    assert first_line(err).startswith("sweep: 2 runs in 2 jobs, 2 at once"), err
