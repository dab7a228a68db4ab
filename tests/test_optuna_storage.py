"""One Optuna study spread over two processes (as over two machines): both run the `optuna` study
against one Optuna storage in PostgreSQL (`hydra.sweeper.storage`, the same `study_name`) and log
to one `mlflow server`; optuna-dashboard then shows that study's trials. Without PostgreSQL the
test skips, saying why; with CI=true it fails.
"""

import contextlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.clusters import start_sweep, sweep_runs
from tests.servers import free_port, wait_until
from tests.test_run import ROOT

pytestmark = pytest.mark.slow

TRIALS = 2  # per process


def test_two_processes_share_one_study_each_trial_one_run(postgres, mlflow_server, tmp_path):
    uri, _ = mlflow_server
    storage = postgres.database("optuna_shared")
    args = ["-m", "+experiment=optuna", "seeds=1", f"hydra.sweeper.n_trials={TRIALS}", "epochs=5",
            f"hydra.sweeper.storage={storage}", f"mlflow.tracking_uri={uri}"]
    procs, logs = [], []
    try:
        # a sampler seed of its own per process, else both propose the same first trials
        for k in (1, 2):
            log = open(tmp_path / f"process{k}.log", "w")
            logs.append(log)
            procs.append(start_sweep([*args, f"hydra.sweeper.sampler.seed={k}",
                                      f"hydra.sweep.dir=process{k}"], tmp_path, log))
            if k == 1:  # the first creates the study (and its tables); the second joins it
                wait_until(lambda: has_trials(postgres), 300, "the first process's first trial",
                           procs[0])
        codes = [p.wait(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for log in logs:
            log.close()
    texts = [(tmp_path / f"process{k}.log").read_text() for k in (1, 2)]
    assert codes == [0, 0], [t[-3000:] for t in texts]

    trials = postgres.query("optuna_shared", "select t.number, t.state, v.value from trials t "
                            "join trial_values v on v.trial_id = t.trial_id order by t.number")
    numbers = [int(n) for n, _, _ in trials]
    assert numbers == list(range(2 * TRIALS))  # no trial number twice, the sum of both
    assert {state for _, state, _ in trials} == {"COMPLETE"}
    # one study, one sweep: the second process resumes the first one's parent run
    (parent,), children = sweep_runs(uri, "optuna")
    assert parent.info.status == "FINISHED"
    assert f"tracking: sweep run {parent.info.run_id}" in texts[0]
    assert f"tracking: resuming sweep run {parent.info.run_id}" in texts[1]
    assert len(children) == 2 * TRIALS and all(r.info.status == "FINISHED" for r in children)
    by_trial = {int(r.data.tags["optuna.trial"]): r for r in children}
    assert sorted(by_trial) == numbers  # every trial is one run
    assert {r.data.tags["optuna.study"] for r in children} == {"netlab-optuna-spiral"}
    for number, _, value in trials:  # the value Optuna holds is the run's validation accuracy
        assert float(value) == by_trial[int(number)].data.metrics["val_accuracy"]
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert sorted(r.data.tags["netlab.pid"] for r in children).count(
        children[0].data.tags["netlab.pid"]) == TRIALS  # each process ran its own trials

    # optuna-dashboard, on loopback against the same storage, shows the study and its trials
    with dashboard(storage, tmp_path) as base:
        studies = get_json(f"{base}/api/studies")["study_summaries"]
        (study,) = [s for s in studies if s["study_name"] == "netlab-optuna-spiral"]
        detail = get_json(f"{base}/api/studies/{study['study_id']}")
        shown = {t["number"]: t for t in detail["trials"]}
        assert sorted(shown) == numbers
        for number, _, value in trials:
            assert shown[int(number)]["state"] == "Complete"
            assert shown[int(number)]["values"] == [float(value)]
        assert {p["name"] for p in shown[0]["params"]} == {"lr", "width", "depth", "activation"}

    out = tmp_path / "report"
    report = subprocess.run([sys.executable, "-m", "src.report", "optuna", "--tracking-uri", uri,
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    text = (out / "report.md").read_text()
    assert f"- {2 * TRIALS} runs: {2 * TRIALS} finished" in text, text[:3000]


@contextlib.contextmanager
def dashboard(storage, folder):
    """optuna-dashboard serving storage on a free loopback port; yields its base URL."""
    port = free_port()
    with open(folder / "dashboard.log", "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("optuna-dashboard")),
                                 storage, "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/api/meta") is not None, 60, "optuna-dashboard",
                   proc, folder / "dashboard.log")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def has_trials(postgres):
    """Whether the study's storage holds a trial yet (its tables may not exist yet)."""
    tables = postgres.query("optuna_shared",
                            "select tablename from pg_tables where schemaname = 'public'")
    return ["trials"] in tables and postgres.query(
        "optuna_shared", "select count(*) from trials") != [["0"]]
