"""Ctrl-C and SIGTERM in the middle of a real sweep (issue 8, item 5).

A terminal's Ctrl-C sends SIGINT to the whole foreground process group; `timeout`, SLURM and
Kubernetes send SIGTERM to the main process. Either way: one line on stderr (no traceback), the
runs in flight KILLED, the sweep's parent run KILLED, exit status 130 or 143; the same command
then resumes the same parent run and trains exactly the configurations that are missing. Each
sweep is a real process on the test's own SQLite store (MLFLOW_TRACKING_URI, tests/conftest.py),
its jobs sized to last about a second, so the signal lands while a job is training.
"""

import re
import signal

import pytest

from tests.sweeps import (
    JOBLIB,
    SECOND,
    Sweep,
    assert_complete,
    count,
    integrity_check,
    job_lines,
    lines,
    run_sweep,
    runs_of,
    seeds,
    wait_for_children,
)

pytestmark = pytest.mark.slow

OPENING = re.compile(r"tracking: (resuming )?sweep run [0-9a-f]{32} in \S+$")


def interrupt_line(stderr, what, parent):
    """The sweep's stderr is its opening line and exactly one line for the interrupt."""
    found = lines(stderr)
    assert "Traceback" not in stderr, stderr
    assert len(found) == 2 and OPENING.match(found[0]), stderr
    assert found[1].startswith(f"interrupted by {what}; sweep run {parent} KILLED ("), found[1]
    assert found[1].endswith("); the same command resumes it"), found[1]


def interrupt(args, cwd, uri, experiment, moment, signum, what, to_group, code):
    """Start the sweep, send signum (to its process group, else to its main process) at the
    moment(children) the store shows, and check how it ends: exit status `code`, one line, the
    runs in flight KILLED saying why, the parent KILLED, nothing RUNNING. Returns the parent."""
    with Sweep(args, cwd) as sweep:
        children = wait_for_children(uri, experiment, moment, sweep, "the moment to interrupt")
        in_flight = {c.info.run_id for c in children if c.info.status == "RUNNING"}
        (sweep.signal_group if to_group else sweep.signal_main)(signum)
        assert sweep.wait(120) == code, sweep.stderr
    (parent,), children = runs_of(experiment, uri)
    interrupt_line(sweep.stderr, what, parent.info.run_id)
    assert parent.info.status == "KILLED"
    by_id = {c.info.run_id: c for c in children}
    for run_id in in_flight:  # the job in flight says why it ended
        assert by_id[run_id].info.status == "KILLED"
        assert by_id[run_id].data.tags["killed_reason"] == f"interrupted by {what}"
    assert count(children, "RUNNING") == 0
    return parent


def test_a_sweep_interrupted_by_ctrl_c_then_sigterm_resumes_and_completes(tmp_path, tracking_uri):
    """Ctrl-C to the process group while job 1 trains; the same command resumes the parent,
    skips job 0 and is stopped by SIGTERM to its main process while job 2 trains; the same
    command again trains exactly jobs 2 and 3, and the parent ends FINISHED."""
    n, experiment = 4, "interrupted"
    args = [seeds(n), *SECOND, f"mlflow.experiment={experiment}", "hydra.sweep.dir=multirun"]
    first = interrupt(args, tmp_path, tracking_uri, experiment,
                      lambda runs: count(runs, "FINISHED") == 1 and count(runs, "RUNNING") == 1,
                      signal.SIGINT, "Ctrl-C", True, 130)
    again = interrupt(args, tmp_path, tracking_uri, experiment,
                      lambda runs: count(runs, "FINISHED") == 2 and count(runs, "RUNNING") == 1,
                      signal.SIGTERM, "SIGTERM", False, 143)
    assert again.info.run_id == first.info.run_id  # resumed

    code, out, err = run_sweep(args, tmp_path)  # the same command, once more
    assert code == 0, err
    assert lines(err)[0] == f"tracking: resuming sweep run {first.info.run_id} in {tracking_uri}"
    trained = [line for line in job_lines(out) if "already FINISHED" not in line]
    assert len(job_lines(out)) == n and len(trained) == 2, out
    (parent,), finished = assert_complete(tracking_uri, experiment, n)
    assert parent.info.status == "FINISHED"
    assert sorted(r.data.params["seed"] for r in finished) == [str(s) for s in range(n)]
    assert integrity_check(tracking_uri.removeprefix("sqlite:///")) == [("ok",)]


@pytest.mark.parametrize("signum, what, to_group, code", [
    (signal.SIGINT, "Ctrl-C", True, 130),
    (signal.SIGTERM, "SIGTERM", False, 143),
], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_joblib_sweep_ends_its_workers_runs_killed(
        tmp_path, tracking_uri, signum, what, to_group, code):
    experiment = f"interrupted-joblib-{what.lower()}"
    args = [seeds(3), *SECOND, *JOBLIB, f"mlflow.experiment={experiment}",
            "hydra.sweep.dir=multirun"]
    with Sweep(args, tmp_path) as sweep:
        children = wait_for_children(tracking_uri, experiment,
                                     lambda runs: count(runs, "RUNNING") >= 1, sweep,
                                     "a worker was training")
        in_flight = {c.info.run_id for c in children if c.info.status == "RUNNING"}
        (sweep.signal_group if to_group else sweep.signal_main)(signum)
        assert sweep.wait(120) == code, sweep.stderr
    (parent,), children = runs_of(experiment, tracking_uri)
    interrupt_line(sweep.stderr, what, parent.info.run_id)
    assert parent.info.status == "KILLED"
    by_id = {c.info.run_id: c for c in children}
    for run_id in in_flight:  # each worker's run ended KILLED, saying why
        assert by_id[run_id].info.status == "KILLED"
        assert by_id[run_id].data.tags["killed_reason"].startswith(f"interrupted by {what}")
    assert count(children, "RUNNING") == 0
    assert integrity_check(tracking_uri.removeprefix("sqlite:///")) == [("ok",)]
