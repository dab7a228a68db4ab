"""Study reports built from real runs in temporary SQLite stores (no mocks).

`sweep`: a small real sweep through `python -m src.run -m` (2 datasets × 2 activations × 2 seeds).
`faults`: runs logged the way src/run.py logs them, with boundary snapshots attached, one finished,
one diverged, one failed, one from another commit and one dataset config that differs.
"""

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient
from PIL import Image

from src import job, report, snapshots
from src.report_data import aggregate_seeds, load_study
from src.snapshots import log_spaced_epochs
from src.tracking import store
from src.tracking.logger import RunLogger, new_client
from tests.conftest import copy_store

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["dataset=moons,xor", "activation=tanh,relu", "seed=0,1", "epochs=60",
         "dataset.n_samples=120"]


def assert_image_ok(path, min_frames=1):
    """The file decodes as an image (every frame of a GIF), is not blank, and has enough frames."""
    with Image.open(path) as image:
        frames = getattr(image, "n_frames", 1)
        assert frames >= min_frames, f"{path.name}: {frames} frames"
        image.seek(0)
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, f"{path.name} is nearly one colour"


def table_rows(text, heading):
    """The rows of the markdown table under `### heading`, as lists of cells."""
    section = text.split(f"### {heading}", 1)[1].split("\n\n#", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return header, [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


# ------------------------------------------------------------------ a real sweep
@pytest.fixture(scope="module")
def sweep(tmp_path_factory, empty_store):
    """A small sweep run by the real command line into a store of its own; then its report."""
    tmp = tmp_path_factory.mktemp("sweep")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "src.run", "-m", *SWEEP, f"mlflow.tracking_uri={uri}",
         "mlflow.experiment=mini", f"hydra.sweep.dir={tmp / 'multirun'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp / "report"
    done = subprocess.run([sys.executable, "-m", "src.report", "mini", "--tracking-uri", uri,
                           "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return uri, out


def test_sweep_report_has_its_files_and_they_decode(sweep):
    _, out = sweep
    text = (out / "report.md").read_text()
    for name in ("heatmap.png", "learning_curves.png", "decision_boundaries.png"):
        assert (out / name).is_file() and f"]({name})" in text
        assert_image_ok(out / name)
    linked = set(re.findall(r"\]\(([^)]+)\)", text))
    assert linked == {p.name for p in out.iterdir() if p.suffix in (".png", ".gif")}


def test_sweep_table_rows_match_the_runs_in_the_store(sweep):
    uri, out = sweep
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mini")
    runs = [r for r in client.search_runs([experiment.experiment_id])
            if r.data.tags.get("netlab.role") != "sweep"]
    assert len(runs) == 8
    header, rows = table_rows((out / "report.md").read_text(), "Every run")
    by_id = {row[header.index("run")].strip("`"): row for row in rows}
    assert len(rows) == len(by_id) == len(runs)
    for run in runs:
        row = by_id[run.info.run_id[:8]]
        assert row[header.index("val accuracy")] == f"{run.data.metrics['val_accuracy']:.3f}"
        assert row[header.index("test accuracy")] == f"{run.data.metrics['test_accuracy']:.3f}"
        assert row[header.index("activation")] == run.data.params["activation"]
        assert row[header.index("dataset.name")] == run.data.params["dataset.name"]
        assert row[header.index("seed")] == run.data.params["seed"]
        assert row[header.index("status")] == "finished"
        assert row[header.index("epochs")] == "60"
    vals = [float(row[header.index("val accuracy")]) for row in rows]
    assert vals == sorted(vals, reverse=True)


def test_seed_aggregation_gives_mean_std_and_n(sweep):
    uri, out = sweep
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mini")
    expected = {}
    for run in client.search_runs([experiment.experiment_id], "params.seed != ''"):
        key = (run.data.params["dataset.name"], run.data.params["activation"])
        expected.setdefault(key, []).append(run.data.metrics["val_accuracy"])
    study = load_study(uri, "mini")
    assert study.keys == ["dataset.name", "activation"]
    agg = aggregate_seeds(study.runs, study.keys)
    assert len(agg) == 4
    for _, row in agg.iterrows():
        values = expected[(row["dataset.name"], row["activation"])]
        assert row["n"] == len(values) == 2
        assert row["val_mean"] == pytest.approx(np.mean(values))
        assert row["val_std"] == pytest.approx(np.std(values, ddof=1))
    text = (out / "report.md").read_text()
    header, rows = table_rows(text, "Configurations, aggregated over seeds")
    assert len(rows) == 4
    for row in rows:
        key = (row[header.index("dataset.name")], row[header.index("activation")])
        mean = row[header.index("val accuracy (mean ± std)")].split(" ± ")[0]
        assert mean == f"{np.mean(expected[key]):.3f}" and row[header.index("n")] == "2"


def test_sweep_report_is_logged_in_the_parent_run(sweep):
    uri, out = sweep
    study = load_study(uri, "mini")
    logged = {f.path for f in MlflowClient(uri).list_artifacts(study.parent.info.run_id, "report")}
    assert logged == {f"report/{p.name}" for p in out.iterdir()}


def test_runs_with_other_fixed_values_are_left_out_unless_asked(sweep, tmp_path):
    uri, _ = sweep
    copy_store(uri[len("sqlite:///"):], tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a copy: the other tests keep their 8 runs
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mini")
    first = client.search_runs([experiment.experiment_id], "params.seed = '0'")[0]
    params = dict(first.data.params)
    params["epochs"] = "5"  # a quick trial outside any sweep
    client = new_client(uri)
    with RunLogger(client, client.get_experiment_by_name("mini").experiment_id, run_name="quick",
                   params=params, tags={"config_hash": "quick"}) as run:
        run.log_metrics({"val_accuracy": 0.5, "test_accuracy": 0.5})
    study = load_study(uri, "mini")
    assert len(study.runs) == 8 and study.left_out == {"n": 1, "keys": {"epochs": ["5"]}}
    everything = load_study(uri, "mini", sweep="all")
    assert len(everything.runs) == 9 and "epochs" in everything.keys
    assert len(load_study(uri, "mini", sweep="latest").runs) == 8


# ------------------------------------------------------------------ finished, diverged, failed
def config(*overrides):
    """A composed config, as a job of `python -m src.run` gets it."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=["dataset.n_samples=160", *overrides])


def log_job(uri, parent_id, cfg, fail=None):
    """Train and log one job as a sweep's job does (src/job.py); `fail`: a run whose job raised."""
    if fail:
        client = new_client(uri)
        try:
            with RunLogger(client, client.get_experiment_by_name("faults").experiment_id,
                           run_name="failed", parent_run_id=parent_id,
                           params=job.identity_keys(cfg)) as run:
                raise RuntimeError(fail)
        except RuntimeError:
            return run.run_id
    context = job.JobContext(tracking_uri=uri, experiment="faults", multirun=True, force=True,
                             parent_run_id=parent_id, overrides=[f"lr={cfg.lr}"])
    return job.train_and_record(cfg, context).run_ids()[0]


@pytest.fixture(scope="module")
def faults(tmp_path_factory, empty_store):
    """An experiment whose sweep has a finished, a diverged, a failed and an odd run; its report."""
    tmp = tmp_path_factory.mktemp("faults")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client = store.open_store(uri)
    experiment_id = store.get_or_create_experiment(client, "faults")
    parent = client.create_run(experiment_id, run_name="faults sweep",
                               tags={"netlab.role": "sweep"}).info.run_id
    ids = {
        "good": log_job(uri, parent, config("activation=tanh", "lr=0.5", "epochs=200")),
        "diverged": log_job(uri, parent, config("activation=relu", "lr=1e6", "epochs=200")),
        "failed": log_job(uri, parent, config("activation=relu", "lr=0.1", "epochs=20"),
                          fail="the data went missing"),
        "old": log_job(uri, parent, config("activation=tanh", "lr=0.1", "epochs=200",
                                           "dataset.noise=0.3")),
    }
    client.set_tag(ids["old"], "git_commit", "0123456789abcdef")
    client.set_terminated(parent)
    path, study = report.build("faults", uri, out=tmp / "report")
    return uri, ids, path, study


def test_failed_and_diverged_runs_are_reported_as_such(faults):
    uri, ids, path, study = faults
    text = path.read_text()
    header, rows = table_rows(text, "Every run")
    status = {row[header.index("run")].strip("`"): row[header.index("status")] for row in rows}
    assert len(rows) == 4
    assert status[ids["good"][:8]] == "finished"
    assert re.fullmatch(r"diverged at epoch \d+", status[ids["diverged"][:8]])
    assert status[ids["failed"][:8]] == "failed: RuntimeError: the data went missing"
    run_order = [row[header.index("run")].strip("`") for row in rows]
    assert run_order[-2:] in ([ids["diverged"][:8], ids["failed"][:8]],
                              [ids["failed"][:8], ids["diverged"][:8]])
    for row in rows[-2:]:
        assert row[header.index("val accuracy")] == "—"
    conclusion = text.split("## Conclusion", 1)[1]
    assert "2 of 4 runs did not finish" in conclusion and "diverged at epoch" in conclusion


def test_the_winner_and_its_margin_come_from_the_numbers(faults):
    uri, ids, path, study = faults
    client = MlflowClient(uri)
    good, old = (client.get_run(ids[k]).data.metrics["val_accuracy"] for k in ("good", "old"))
    conclusion = path.read_text().split("## Conclusion", 1)[1]
    winner, second = ("good", "old") if good > old else ("old", "good")
    margin = abs(good - old)
    if margin:
        assert f"{100 * max(good, old):.1f} %" in conclusion
        assert f"{100 * margin:.1f} percentage points" in conclusion
    else:
        assert "tie" in conclusion


def test_mixed_commits_and_dataset_configs_are_named(faults):
    text = faults[2].read_text()
    assert "0123456789" in text and "different code versions" in text
    assert "noise=0.3" in text and "noise=0.2" in text and "more than one config" in text


def test_boundary_snapshots_make_the_grid_and_the_gif(faults):
    uri, ids, path, study = faults
    gif = path.parent / "boundary_evolution.gif"
    assert_image_ok(gif, min_frames=5)
    assert_image_ok(path.parent / "decision_boundaries.png")
    with Image.open(gif) as image:  # the frames differ: the boundary moves during training
        image.seek(0)
        first = np.asarray(image.convert("RGB"), dtype=int)
        image.seek(image.n_frames - 1)
        last = np.asarray(image.convert("RGB"), dtype=int)
    assert np.abs(first - last).mean() > 1
    snap = snapshots.load(MlflowClient(uri).download_artifacts(
        ids["good"], snapshots.FILENAME, str(path.parent.parent)))
    assert list(snap["epochs"]) == log_spaced_epochs(200)
    assert snap["proba"].shape == (len(snap["epochs"]), 1, 80, 80)
    assert np.isfinite(snap["proba"]).all() and snap["X"].shape[1] == 2


def test_log_spaced_epochs():
    assert log_spaced_epochs(1) == [1]
    epochs = log_spaced_epochs(5000)
    assert epochs[0] == 1 and epochs[-1] == 5000 and 10 <= len(epochs) <= 20
    assert all(b > a for a, b in zip(epochs, epochs[1:], strict=False))
    assert not math.isnan(sum(epochs))
