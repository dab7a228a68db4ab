"""Study reports built from real runs in temporary SQLite stores (no mocks).

`sweep`: a small real sweep through `python -m src.run -m` (2 datasets × 2 activations × 2 seeds),
reported by the real command line. `faults`: trained runs logged as src/netlab/run.py logs them, one
finished, one diverged, one failed, one from another commit and dataset config. `helps`: runs
logged with chosen numbers (12 seeds × 3 values of l2, one draw of the data) and a study file
naming a baseline. `depths` and `rates`: trained runs that also log the per-layer dynamics.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from mlflow import MlflowClient
from PIL import Image

from netlab import identity, snapshots
from netlab.config import identity_keys
from netlab.paths import PROJECT_ROOT
from netlab.report.build import build
from netlab.report.output import MANIFEST, default_folder
from netlab.report.study import load_study
from netlab.snapshots import log_spaced_epochs
from netlab.tracking.logger import RunLogger, new_client
from tests.conftest import copy_store
from tests.logged_runs import config, log_numbers, new_sweep, train_and_log

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


def section(text, heading):
    """The text under a markdown heading (## or ###), up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, re.S | re.M)
    assert match, f"no section {heading!r}"
    return match.group(1).strip()


def table_rows(text, heading):
    """The rows of the markdown table under a heading, as lists of cells."""
    lines = [line for line in section(text, heading).splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return header, [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def finished_children(uri, experiment):
    """The experiment's child runs (not the sweep's parent)."""
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return [r for r in client.search_runs([found.experiment_id], max_results=1000)
            if r.data.tags.get("netlab.role") != "sweep"]


# ------------------------------------------------------------------ a real sweep, the real command
@pytest.fixture(scope="module")
def sweep(tmp_path_factory, empty_store):
    """A small sweep run by the real command line into a store of its own; then its report."""
    tmp = tmp_path_factory.mktemp("sweep")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "src.run", "-m", *SWEEP, f"mlflow.tracking_uri={uri}",
         "mlflow.experiment=mini", f"hydra.sweep.dir={tmp / 'multirun'}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp / "report"
    command = ["python", "-m", "src.report", "mini", "--tracking-uri", uri, "--out", str(out)]
    done = subprocess.run([sys.executable, *command[1:]], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return uri, out, done, " ".join(command)


@pytest.mark.slow
def test_sweep_report_has_its_files_and_they_decode(sweep):
    _, out, _, _ = sweep
    text = (out / "report.md").read_text()
    for name in ("heatmap.png", "learning_curves.png", "decision_boundaries.png",
                 "hidden_units.png", "boundary_evolution.gif", "performance_profiles.png"):
        assert (out / name).is_file() and f"]({name})" in text
        assert_image_ok(out / name)
    linked = set(re.findall(r"\]\(([^)]+)\)", text))
    assert linked == {p.name for p in out.iterdir() if p.suffix in (".png", ".gif")}
    written = set(json.loads((out / MANIFEST).read_text())["files"])
    assert written == linked | {"report.md"}


@pytest.mark.slow
def test_the_command_line_prints_one_line_no_warning_and_the_footer_repeats_it(sweep):
    _, out, done, command = sweep
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("report: ")
    footer = (out / "report.md").read_text().rsplit("---", 1)[1]
    assert f"`{command}`" in footer


@pytest.mark.slow
def test_sweep_table_rows_match_the_runs_in_the_store(sweep):
    uri, out, _, _ = sweep
    runs = finished_children(uri, "mini")
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


@pytest.mark.slow
def test_configurations_give_the_mean_the_95_percent_interval_and_n(sweep):
    uri, out, _, _ = sweep
    expected = {}
    for run in finished_children(uri, "mini"):
        key = (run.data.params["dataset.name"], run.data.params["activation"])
        expected.setdefault(key, []).append(run.data.metrics["val_accuracy"])
    text = (out / "report.md").read_text()
    header, rows = table_rows(text, "Configurations, aggregated over seeds")
    assert len(rows) == 4
    for row in rows:
        values = expected[(row[header.index("dataset.name")], row[header.index("activation")])]
        assert row[header.index("n")] == "2"
        low, high = scipy.stats.t.interval(0.95, 1, loc=np.mean(values),
                                           scale=scipy.stats.sem(values))
        cell = row[header.index("val accuracy")]
        if np.std(values) == 0:
            assert cell == f"{np.mean(values):.3f} [{np.mean(values):.3f}, {np.mean(values):.3f}]"
        else:  # the interval in brackets: '±' is kept for a standard deviation
            half = (high - low) / 2
            assert cell == (f"{np.mean(values):.3f} [{np.mean(values) - half:.3f}, "
                            f"{np.mean(values) + half:.3f}]")
    assert "Seeds 0, 1 (2 seeds per configuration): each seed draws its own data" in text


@pytest.mark.slow
def test_sweep_report_is_logged_in_the_parent_run(sweep):
    uri, out, _, _ = sweep
    study = load_study(uri, "mini")
    logged = {f.path for f in MlflowClient(uri).list_artifacts(study.parent.info.run_id, "report")}
    written = json.loads((out / MANIFEST).read_text())["files"]
    assert logged == {f"report/{name}" for name in written}


@pytest.mark.slow
def test_dynamics_figures_follow_the_metrics_the_runs_recorded(sweep):
    _, out, _, _ = sweep
    text = (out / "report.md").read_text()
    assert (out / "gradient_norms.png").is_file() and "](gradient_norms.png)" in text
    assert_image_ok(out / "gradient_norms.png")
    assert not any(out.glob("unit_share_vs_lr.*"))  # no lr was swept: nothing to draw against


@pytest.mark.slow
def test_runs_with_other_fixed_values_are_left_out_unless_asked(sweep, tmp_path):
    uri, _, _, _ = sweep
    copy_store(uri[len("sqlite:///"):], tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a copy: the other tests keep their 8 runs
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("mini")
    first = client.search_runs([experiment.experiment_id], "params.seed = '0'")[0]
    trial = client.create_run(experiment.experiment_id, start_time=first.info.start_time - 60_000,
                              tags={"netlab.role": "sweep"}).info.run_id  # an earlier sweep
    params = dict(first.data.params, epochs="5")  # a quick trial, in a sweep of its own
    log_numbers(uri, "mini", trial, params, {"val_accuracy": 0.5, "test_accuracy": 0.5})
    params = dict(first.data.params, seed="7")  # a single run, outside any sweep
    log_numbers(uri, "mini", None, params, {"val_accuracy": 0.5, "test_accuracy": 0.5})
    study = load_study(uri, "mini")
    assert len(study.runs) == 8
    assert study.left_out == {"own": 1, "other": 1, "keys": {"epochs": ["5"]}}
    everything = load_study(uri, "mini", sweep="all")
    assert len(everything.runs) == 10 and "epochs" in everything.keys
    assert len(load_study(uri, "mini", sweep="latest").runs) == 8
    assert len(load_study(uri, "mini", sweep=["latest", trial]).runs) == 9


@pytest.mark.slow
def test_the_report_replaces_only_the_files_it_wrote(sweep, tmp_path):
    uri, _, _, _ = sweep
    out = tmp_path / "shared"
    out.mkdir()
    (out / "precious.png").write_bytes(b"not a report's")
    (out / "notes.gif").write_bytes(b"mine")
    command = ["python", "-m", "src.report", "mini", "--tracking-uri", uri, "--out", str(out),
               "--no-log", "--format", "svg", "--dpi", "72"]
    done = subprocess.run([sys.executable, *command[1:]], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    text = (out / "report.md").read_text()
    assert "](heatmap.svg)" in text and (out / "heatmap.svg").read_text().lstrip().startswith("<")
    assert f"`{' '.join(command)}`" in text
    build("mini", uri, out=out, log=False)  # again as PNG: the SVGs it wrote go, nothing else
    assert (out / "precious.png").read_bytes() == b"not a report's"
    assert (out / "notes.gif").read_bytes() == b"mine"
    assert not any(out.glob("*.svg")) and (out / "heatmap.png").is_file()


def test_committed_studies_and_ad_hoc_experiments_go_to_different_folders():
    assert default_folder("width") == PROJECT_ROOT / "experiments" / "width"
    assert default_folder("vanishing_gradients") == (PROJECT_ROOT / "experiments"
                                                    / "vanishing_gradients")
    assert default_folder("netlab") == PROJECT_ROOT / "reports" / "netlab"
    mapped = default_folder("my trial/2")  # not my-trial-2's: a name of its own, hash added
    assert mapped.parent == PROJECT_ROOT / "reports" and mapped.name.startswith("my-trial-2+")
    ignored = subprocess.run(["git", "check-ignore", "-q", "reports/netlab/report.md"],
                             cwd=PROJECT_ROOT)
    assert ignored.returncode == 0


@pytest.mark.slow
@pytest.mark.usefixtures("tracking_uri")
def test_an_unknown_experiment_is_one_line():
    done = subprocess.run([sys.executable, "-m", "src.report", "no-such-study", "--no-log"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("report: no experiment 'no-such-study'")
    assert done.stderr.count("\n") == 1


# ------------------------------------------------------------------ finished, diverged, failed
@pytest.fixture(scope="module")
def faults(tmp_path_factory, empty_store):
    """An experiment whose sweep has a finished, a diverged, a failed and an odd run; its report."""
    tmp = tmp_path_factory.mktemp("faults")
    copy_store(empty_store, tmp / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    client, parent = new_sweep(uri, "faults")
    common = ["dataset.n_samples=160"]
    ids = {
        "good": train_and_log(uri, "faults", parent, [*common, "activation=tanh", "lr=0.5",
                                                      "epochs=200"]),
        "diverged": train_and_log(uri, "faults", parent, [*common, "activation=relu", "lr=1e6",
                                                          "epochs=200"]),
        "old": train_and_log(uri, "faults", parent, [*common, "activation=tanh", "lr=0.1",
                                                     "epochs=200", "dataset.noise=0.3"]),
    }
    params = identity_keys(config(*common, "activation=relu", "lr=0.1", "epochs=20"))
    experiment_id = client.get_experiment_by_name("faults").experiment_id
    with pytest.raises(RuntimeError, match="the data went missing"):
        with RunLogger(new_client(uri), experiment_id, params=params, parent_run_id=parent,
                       tags={"config_hash": identity.config_hash(params)}) as run:
            ids["failed"] = run.run_id
            raise RuntimeError("the data went missing")
    client.set_tag(ids["old"], "git_commit", "0123456789abcdef")
    client.set_terminated(parent)
    path, study = build("faults", uri, out=tmp / "report")
    return uri, ids, path, study


def test_failed_and_diverged_runs_are_reported_as_such(faults):
    uri, ids, path, study = faults
    text = path.read_text()
    header, rows = table_rows(text, "Every run")
    status = {row[header.index("run")].strip("`"): row[header.index("status")] for row in rows}
    assert len(rows) == 4
    assert status[ids["good"][:8]] == "finished"
    assert re.fullmatch(r"diverged: loss not finite at epoch \d+", status[ids["diverged"][:8]])
    assert status[ids["failed"][:8]] == "failed: RuntimeError: the data went missing"
    run_order = [row[header.index("run")].strip("`") for row in rows]
    assert set(run_order[-2:]) == {ids["diverged"][:8], ids["failed"][:8]}
    for row in rows[-2:]:
        assert row[header.index("val accuracy")] == "—"
    conclusion = section(text, "Conclusion")
    assert "2 of 4 runs did not finish" in conclusion
    assert "diverged: loss not finite at epoch" in conclusion


def test_a_single_seed_names_the_leader_but_cannot_separate_it(faults):
    uri, ids, path, study = faults
    client = MlflowClient(uri)
    val = {k: client.get_run(ids[k]).data.metrics["val_accuracy"] for k in ("good", "old")}
    names = {"good": "lr=0.5", "old": "lr=0.1"}
    conclusion = section(path.read_text(), "Conclusion")
    first_sentence = conclusion.split(". ")[0]
    assert f"has the highest validation accuracy, {100 * max(val.values()):.1f} %" in first_sentence
    if val["good"] == val["old"]:
        assert any(name in first_sentence for name in names.values())
        assert "It ties with" in conclusion
    else:
        leader, second = sorted(val, key=val.get, reverse=True)
        assert names[leader] in first_sentence
        ahead = f"{100 * (val[leader] - val[second]):.1f} points ahead of the runner-up"
        assert ahead in conclusion
        assert names[second] in conclusion.split("runner-up", 1)[1].split(".")[0]
    assert "a single seed cannot separate them" in conclusion
    assert "separate the two" not in conclusion  # no paired test was possible


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
    assert log_spaced_epochs(0) == []
    epochs = log_spaced_epochs(5000)
    assert epochs[0] == 1 and epochs[-1] == 5000 and 10 <= len(epochs) <= 20
    assert all(b > a for a, b in zip(epochs, epochs[1:], strict=False))
    assert all(type(e) is int for e in epochs)


# ------------------------------------------------------------------ where code and data came from
def test_runs_from_different_code_or_data_are_named(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    finals = {"val_accuracy": 0.8, "train_accuracy": 0.9, "test_accuracy": 0.8}
    _, parent = new_sweep(uri, "own_data")
    for seed in range(4):  # a user's CSV file, edited between the third and the fourth run
        log_numbers(uri, "own_data", parent,
                    {"activation": "tanh", "dataset.name": "csv", "dataset.path": "/data/mine.csv",
                     "seed": seed}, finals,
                    tags={"code_hash": "aaaa" if seed < 2 else "bbbb",
                          "data_hash": "d1" if seed < 3 else "d2"})
    text = build("own_data", uri, out=tmp_path / "own", log=False)[0].read_text()
    assert "- Training code (content hash): `aaaa` (2 runs), `bbbb` (2 runs)." in text
    assert "**Warning: the runs were trained by different code**" in text
    assert "**Warning: the same dataset config gave different data**" in text
    assert "These runs mix training code and data" in section(text, "Conclusion")
    _, parent = new_sweep(uri, "generated")
    for seed in range(3):  # generated data: each seed draws its own, so its own hash
        log_numbers(uri, "generated", parent,
                    {"activation": "tanh", "dataset.name": "moons", "seed": seed}, finals,
                    tags={"code_hash": "aaaa", "data_hash": f"d{seed}"})
    text = build("generated", uri, out=tmp_path / "gen", log=False)[0].read_text()
    assert "- Training code (content hash): `aaaa` (3 runs)." in text
    assert "Warning" not in text and "These runs mix" not in text
