"""Which runs a report covers: a sweep's (or several sweeps'), not every run of its experiment.

`swept`: a real sweep (`python -m src.run -m lr=0.1,0.5,1 seeds=3`) and, beside it in the same
experiment, a real single run (`python -m src.run lr=0.7`), both by the real command line into a
store of their own. `logged`: sweeps and a single run logged with chosen numbers (no training),
for the wording that depends on how many seeds each configuration has.
"""

import subprocess
import sys

import pytest
from mlflow import MlflowClient

from netlab.paths import PROJECT_ROOT
from netlab.report.__main__ import main
from netlab.report.build import build
from netlab.report.study import load_study
from tests.conftest import copy_store
from tests.logged_runs import log_numbers, new_sweep
from tests.test_report import section

QUICK = ["epochs=30", "dataset.n_samples=120"]


def run(*args, uri, tmp):
    """`python -m src.run ARGS` into the store at uri; asserts it succeeded."""
    done = subprocess.run(
        [sys.executable, "-m", "src.run", *args, *QUICK, f"mlflow.tracking_uri={uri}",
         "mlflow.experiment=scope", f"hydra.sweep.dir={tmp / 'multirun'}",
         f"hydra.run.dir={tmp / 'outputs'}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, empty_store):
    """A sweep of three learning rates with three seeds each, and a single run at lr=0.7."""
    tmp = tmp_path_factory.mktemp("scope")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    run("-m", "lr=0.1,0.5,1", "seeds=3", uri=uri, tmp=tmp)
    run("lr=0.7", uri=uri, tmp=tmp)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("scope").experiment_id
    parent = client.search_runs([experiment], "tags.`netlab.role` = 'sweep'")[0].info.run_id
    single = client.search_runs([experiment], "params.lr = '0.7'")[0].info.run_id
    return uri, parent, single


@pytest.mark.slow
def test_a_single_run_beside_a_sweep_is_left_out_and_the_header_says_so(swept, tmp_path):
    uri, parent, single = swept
    study = load_study(uri, "scope")
    assert len(study.runs) == 9 and single not in set(study.runs["run_id"])
    text = build("scope", uri, out=tmp_path / "default", log=False)[0].read_text()
    covers = section(text, "What this report covers")
    assert "- Swept: `lr` ∈ {0.1, 0.5, 1}." in covers
    assert f"9 runs from sweep `{parent}`" in covers
    assert "1 run started on its own (no sweep) is left out; `--all` includes it." in covers
    assert "lr=0.7" not in text and "| 0.7 |" not in text  # nor in a table


@pytest.mark.slow
def test_all_takes_every_run_and_a_sweep_id_only_that_sweep(swept, tmp_path, capsys):
    uri, parent, single = swept
    main(["scope", "--tracking-uri", uri, "--all", "--out", str(tmp_path / "all"), "--no-log"])
    assert capsys.readouterr().out.startswith(f"report: {tmp_path / 'all' / 'report.md'} (10 runs)")
    text = (tmp_path / "all" / "report.md").read_text()
    covers = section(text, "What this report covers")
    assert "- Swept: `lr` ∈ {0.1, 0.5, 0.7, 1}." in covers
    assert "1 run started on its own (no sweep)" in covers
    assert "--all" in text.rsplit("---", 1)[1]  # the footer's command makes the same report
    chosen = load_study(uri, "scope", sweep=[parent])
    assert len(chosen.runs) == 9 and chosen.parent.info.run_id == parent
    with pytest.raises(SystemExit, match="--all and --sweep"):
        main(["scope", "--tracking-uri", uri, "--all", "--sweep", parent, "--no-log"])


# ------------------------------------------------------------------ chosen numbers, no training
PARAMS = {"activation": "tanh", "width": 8, "depth": 1, "epochs": 20, "dataset.name": "moons",
          "dataset.n_samples": 200, "dataset.val_size": 0.2}
VAL = {0.1: 0.80, 0.5: 0.90, 1: 0.70, 0.7: 0.88}


def finals(lr, seed):
    """The chosen final metrics of one run."""
    val = VAL[lr] + 0.01 * seed
    return {"val_accuracy": val, "test_accuracy": val - 0.01, "train_accuracy": val + 0.02}


@pytest.fixture(scope="module")
def logged(tmp_path_factory, empty_store):
    """Two sweeps of lr: `lr=0.1,0.5 seed=0,1,2`, then the grid extended, `lr=0.1,0.5,1
    seed=0,1,2`, which skips what finished before and so has runs of lr=1 only; and a single run
    at lr=0.7 with seed 0, close behind the leader lr=0.5."""
    tmp = tmp_path_factory.mktemp("logged")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    sweeps = []
    for grid, rates in (("0.1,0.5", (0.1, 0.5)), ("0.1,0.5,1", (1,))):
        client, parent = new_sweep(uri, "lrs", params={"sweep.lr": grid, "sweep.seed": "0,1,2",
                                                       **PARAMS})
        for lr in rates:
            for seed in range(3):
                log_numbers(uri, "lrs", parent, {**PARAMS, "lr": lr, "seed": seed},
                            finals(lr, seed))
        client.set_terminated(parent)
        sweeps.append(parent)
    single = log_numbers(uri, "lrs", None, {**PARAMS, "lr": 0.7, "seed": 0}, finals(0.7, 0))
    return uri, sweeps, single


def test_every_sweep_is_covered_and_named_but_not_the_single_run(logged, tmp_path):
    uri, sweeps, single = logged
    text = build("lrs", uri, out=tmp_path / "r", log=False)[0].read_text()
    covers = section(text, "What this report covers")
    assert "- Swept: `lr` ∈ {0.1, 0.5, 1}." in covers
    assert f"6 runs from sweep `{sweeps[0]}`" in covers and f"3 runs from sweep `{sweeps[1]}`" \
        in covers
    assert "1 run started on its own (no sweep) is left out" in covers
    only = load_study(uri, "lrs", sweep=[sweeps[1], sweeps[0]])
    assert len(only.runs) == 9 and only.parent.info.run_id == sweeps[1]  # the newer one
    assert len(load_study(uri, "lrs", sweep=["latest"]).runs) == 3
    assert len(load_study(uri, "lrs", sweep="all").runs) == 10


def test_a_leader_with_three_seeds_is_not_said_to_have_one(logged, tmp_path):
    uri, _, _ = logged
    text = build("lrs", uri, out=tmp_path / "r", log=False, sweep="all")[0].read_text()
    conclusion = section(text, "Conclusion")
    assert "`lr=0.5` has the highest mean validation accuracy, 91.0 %" in conclusion
    assert "n = 3)" in conclusion.split(". ")[0]
    assert "single seed each" not in conclusion and "from a single seed" not in conclusion
    # the runner-up lr=0.7 has one seed: its value is given without an interval, and the one seed
    # the two share is too few for a paired comparison
    assert "runner-up `lr=0.7` (88.0 %, n = 1: one seed, no interval)" in conclusion
    assert "the two share only one seed: too few for a paired comparison" in conclusion
    covers = section(text, "What this report covers")
    assert "1 to 3 seeds per configuration" in covers
    assert "(Student's t); 1 configuration has a single seed and so no interval." in covers


def test_a_study_of_single_seeds_still_says_so(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent = new_sweep(uri, "once")
    for lr in (0.1, 0.5):
        log_numbers(uri, "once", parent, {**PARAMS, "lr": lr, "seed": 0}, finals(lr, 0))
    client.set_terminated(parent)
    conclusion = section(build("once", uri, out=tmp_path / "r", log=False)[0].read_text(),
                         "Conclusion")
    assert "from a single seed each: a single seed cannot separate them" in conclusion


def test_an_experiment_without_a_sweep_is_reported_whole_and_says_so(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for lr in (0.1, 0.5):
        log_numbers(uri, "alone", None, {**PARAMS, "lr": lr, "seed": 0}, finals(lr, 0))
    path, study = build("alone", uri, out=tmp_path / "r", log=False)
    assert len(study.runs) == 2 and study.parent is None
    covers = section(path.read_text(), "What this report covers")
    assert "- Every run of the experiment, one per configuration and seed: it has no sweep." \
        in covers
    assert "  - 2 runs started on their own (no sweep)" in covers and "left out" not in covers
    with pytest.raises(LookupError, match="--sweep 'latest': experiment 'alone' has no sweep"):
        load_study(uri, "alone", sweep=["latest"])
