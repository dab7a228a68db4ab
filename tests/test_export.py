"""Every run of a study as one table (netlab.export): the Parquet file `python -m src.export`
writes holds exactly what MLflow holds for every run (params, tags, final metrics, each curve
point by point), read back by pandas and by pyarrow alone; a later export reads only what changed;
netlab.load_study returns the same table; the report takes curves from it.
"""

import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from mlflow import MlflowClient

import netlab
from netlab.export import table as export
from netlab.paths import PROJECT_ROOT
from netlab.report.histories import histories
from tests.conftest import copy_store
from tests.logged_runs import log_numbers, new_sweep, train_and_log

FINALS = {"test_accuracy": 0.75, "test_loss": 0.4}
CURVE = {"val_accuracy": [0.5, 0.6, 0.7, 0.8], "train_loss": [0.7, 0.5, 0.4, 0.3]}


def logged_sweep(uri, experiment, n=4):
    """A sweep parent and n runs with chosen numbers: (client, parent id, run ids)."""
    client, parent = new_sweep(uri, experiment, params={"sweep.seed": "0,1,2,3"})
    ids = [log_numbers(uri, experiment, parent, {"activation": "tanh", "seed": seed}, FINALS,
                       curve={k: [v + seed / 100 for v in vs] for k, vs in CURVE.items()})
           for seed in range(n)]
    client.set_terminated(parent)
    return client, parent, ids


class Counting:
    """A real MlflowClient that counts the metric histories it is asked for."""

    def __init__(self, client):
        self.client, self.histories = client, 0

    def get_metric_history(self, *args, **kwargs):
        self.histories += 1
        return self.client.get_metric_history(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def same(value):
    """A number as compared here: NaN equal to NaN (MLflow keeps NaN)."""
    return "nan" if isinstance(value, float) and math.isnan(value) else float(value)


def assert_holds_what_mlflow_holds(runs, client, experiment):
    """Each row of the table equals the run in the store: its status, params, tags, final
    metrics, and each metric's whole history as its curve (a run's metric logged once has none)."""
    found = client.get_experiment_by_name(experiment)
    stored = client.search_runs([found.experiment_id], max_results=1000)
    assert sorted(runs["run_id"]) == sorted(r.info.run_id for r in stored)
    rows = runs.set_index("run_id")
    for run in stored:
        row = rows.loc[run.info.run_id]
        assert row["status"] == run.info.status
        assert row["end_time"] == pd.Timestamp(run.info.end_time, unit="ms", tz="UTC")
        assert {k: row[f"params.{k}"] for k in run.data.params} == run.data.params
        assert {k: row[f"tags.{k}"] for k in run.data.tags} == run.data.tags
        assert {k: same(row[f"metrics.{k}"]) for k in run.data.metrics} == \
            {k: same(v) for k, v in run.data.metrics.items()}
        extra = [c for c in rows.columns if c.split(".", 1)[0] in ("params", "tags", "metrics")
                 and c.split(".", 1)[1] not in {**run.data.params, **run.data.tags,
                                                **run.data.metrics}]
        assert all(row[c] is None or (isinstance(row[c], float) and math.isnan(row[c]))
                   for c in extra), {c: row[c] for c in extra}  # other runs' keys: empty
        for metric in run.data.metrics:
            history = sorted(client.get_metric_history(run.info.run_id, metric),
                             key=lambda p: (p.step, p.timestamp))
            if f"curves.{metric}" not in rows or not isinstance(row[f"curves.{metric}"],
                                                               (list, np.ndarray)):
                assert metric in export.ONCE or run.data.tags.get("netlab.role") == "sweep", \
                    (run.info.run_id, metric)
                continue
            # (points of one step in the order logged; MLflow orders ties of one millisecond
            # as it will: compared as sorted pairs)
            assert list(row[f"steps.{metric}"]) == [p.step for p in history], metric
            assert sorted((step, same(v)) for step, v in zip(
                row[f"steps.{metric}"], row[f"curves.{metric}"], strict=True)) \
                == sorted((p.step, same(p.value)) for p in history), metric


def test_the_table_holds_what_mlflow_holds_and_reads_back_through_parquet(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent, ids = logged_sweep(uri, "exported")
    for run_id in ids:  # a FINISHED run holds every point it logged in one file
        assert "metrics.npz" in {f.path for f in client.list_artifacts(run_id)}
    counting = Counting(client)
    path, runs, n_read, logged = export.export(counting, "exported", tmp_path / "t.parquet")
    assert logged == parent and n_read == 4  # the runs' curves; the parent has none
    assert counting.histories == 0  # read from the runs' files, not one request per curve
    assert_holds_what_mlflow_holds(runs, client, "exported")
    again = pd.read_parquet(path)  # pandas, through pyarrow
    assert_holds_what_mlflow_holds(again, client, "exported")
    plain = pq.read_table(path)  # pyarrow alone: typed columns, curves as lists of numbers
    assert str(plain.schema.field("curves.val_accuracy").type) == "list<element: double>"
    assert str(plain.schema.field("steps.val_accuracy").type) == "list<element: int64>"
    assert str(plain.schema.field("metrics.test_accuracy").type) == "double"
    # logged on the sweep's parent run, the same bytes
    (item,) = client.list_artifacts(parent, "export")
    copy = client.download_artifacts(parent, item.path, str(tmp_path / "down"))
    assert open(copy, "rb").read() == path.read_bytes()


def test_a_later_export_reads_only_the_runs_that_changed(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent, ids = logged_sweep(uri, "again")
    out = tmp_path / "t.parquet"
    still = client.create_run(client.get_experiment_by_name("again").experiment_id,
                              tags={"mlflow.parentRunId": parent}).info.run_id
    client.log_metric(still, "val_accuracy", 0.1, step=1)  # a run still RUNNING
    _, _, first, _ = export.export(client, "again", out, log=False)
    assert first == 5
    _, runs, second, _ = export.export(client, "again", out, log=False)
    assert second == 1  # the running one only: the ended runs' curves come from the file
    client.log_metric(still, "val_accuracy", 0.2, step=2)
    client.set_terminated(still)
    # val_accuracy's last point logged twice (the curve's, then the final figure's): MLflow
    # keeps one point where step, time and value are the same, and so does the run's file
    new = log_numbers(uri, "again", parent, {"activation": "relu", "seed": 0},
                      {**FINALS, "val_accuracy": CURVE["val_accuracy"][-1]}, curve=CURVE)
    _, runs, third, _ = export.export(client, "again", out, log=False)
    assert third == 2  # the run that ended since, and the new one
    assert list(runs.set_index("run_id").at[still, "curves.val_accuracy"]) == [0.1, 0.2]
    assert_holds_what_mlflow_holds(runs, client, "again")
    assert new in set(runs["run_id"])
    # a point logged to an ended run since (other code may): its curve is read again
    client.log_metric(new, "val_accuracy", 0.99, step=5)
    _, runs, fourth, _ = export.export(client, "again", out, log=False)
    assert fourth == 1 and list(runs.set_index("run_id").at[new, "curves.val_accuracy"])[-1] == 0.99
    assert_holds_what_mlflow_holds(runs, client, "again")
    # a file of the layout but other column types is not reused, and never stops the export
    naive = export.read(out)
    naive["end_time"] = naive["end_time"].dt.tz_localize(None)
    export.write(naive, out)
    _, _, fifth, _ = export.export(client, "again", out, log=False)
    assert fifth == 6  # every run's curves
    # a file that is not an export is not overwritten
    out.write_bytes(b"not parquet")
    with pytest.raises(FileExistsError):
        export.export(client, "again", out, log=False)
    assert out.read_bytes() == b"not parquet"


def test_a_run_of_other_code_whose_last_value_is_nan_keeps_its_curve(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent, _ = logged_sweep(uri, "nan", n=1)
    other = client.create_run(client.get_experiment_by_name("nan").experiment_id).info.run_id
    for step, value in enumerate((0.5, 0.4, float("nan")), start=1):
        client.log_metric(other, "val_loss", value, step=step)
    client.set_terminated(other)
    _, runs, _, _ = export.export(client, "nan", tmp_path / "t.parquet", log=False)
    row = runs.set_index("run_id").loc[other]
    assert math.isnan(row["metrics.val_loss"]) and list(row["steps.val_loss"]) == [1, 2, 3]
    assert_holds_what_mlflow_holds(runs, client, "nan")


def test_load_study_is_the_table_and_the_report_reads_its_curves(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, _, ids = logged_sweep(uri, "loaded")
    path, runs, _, _ = export.export(client, "loaded", tmp_path / "t.parquet", log=False)
    loaded = netlab.load_study("loaded", tracking_uri=uri, path=path)
    pd.testing.assert_frame_equal(loaded, runs)
    # the report's curves come from the table: no store is asked (client None would fail)
    found = histories(None, ids, list(CURVE), table=loaded)
    for run_id, frame in zip(ids, found, strict=True):
        for metric in CURVE:
            history = client.get_metric_history(run_id, metric)
            assert frame.set_index("step")[metric].to_dict() == {p.step: p.value
                                                                 for p in history}
    # a curve the table lacks is read from the run's metrics.npz (no history asked for), or,
    # for a run without one (made by other code), from the store's history
    bare = client.create_run(client.get_experiment_by_name("loaded").experiment_id).info.run_id
    for step, value in enumerate((0.3, 0.2, 0.1), start=1):
        client.log_metric(bare, "val_accuracy", value, step=step)
    client.set_terminated(bare)
    runs = export.search(client, client.get_experiment_by_name("loaded").experiment_id)
    counting = Counting(client)
    found = histories(counting, [ids[0], bare], ["val_accuracy"], table=runs)
    assert counting.histories == 1  # the bare run's
    for run_id, frame in zip([ids[0], bare], found, strict=True):
        assert frame.set_index("step")["val_accuracy"].to_dict() == {
            p.step: p.value for p in client.get_metric_history(run_id, "val_accuracy")}


def command(*args, env=None):
    """`python -m src.export *args` from the project root: the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "src.export", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, empty_store):
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    (tmp_path / "mine.csv").write_text("a,b\n1,2\n")
    logged_sweep(uri, "there", n=1)
    before = sorted(tmp_path.iterdir())
    for args, says in ((["nosuch", "--out", str(tmp_path / "x.parquet")], "no experiment"),
                       (["there", "--out", str(tmp_path / "mine.csv")], "is not an export"),
                       (["nosuch", "--out", str(tmp_path)], "is a folder"),
                       (["nosuch", "--tracking-uri", f"sqlite:///{tmp_path / 'typo.db'}"],
                        "no tracking store at")):
        done = command(*args, "--tracking-uri", uri) if "--tracking-uri" not in args else \
            command(*args)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("export: "), done.stderr
        assert says in done.stderr, done.stderr
    assert sorted(tmp_path.iterdir()) == before
    assert (tmp_path / "mine.csv").read_text() == "a,b\n1,2\n"


@pytest.mark.slow
def test_a_real_sweep_exports_every_run_as_mlflow_holds_it(tmp_path, empty_store):
    """Runs trained and logged by the harness's own code (curves, the training dynamics at their
    epochs), exported by the real command: the file holds every run as MLflow does."""
    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent = new_sweep(uri, "real", params={"sweep.activation": "tanh,relu"})
    for activation in ("tanh", "relu"):
        train_and_log(uri, "real", parent, [f"activation={activation}", "depth=2", "epochs=60",
                                            "dataset.n_samples=120"])
    client.set_terminated(parent)
    out = tmp_path / "real.parquet"
    done = command("real", "--tracking-uri", uri, "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"export: {out} (3 runs, ") and parent in done.stdout
    runs = pd.read_parquet(out)
    assert_holds_what_mlflow_holds(runs, client, "real")
    assert {"curves.val_loss", "curves.grad_norm_1"} <= set(runs.columns)
    assert MlflowClient(uri).list_artifacts(parent, "export")


def test_the_report_is_the_same_with_and_without_the_export(tmp_path, empty_store, monkeypatch):
    """The report reads its runs through the table: with the study's export there (its curves
    taken from it) the page is the one it writes from the store alone."""
    from netlab.report.build import build

    copy_store(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, parent, _ = logged_sweep(uri, "same")
    for seed in range(4):
        log_numbers(uri, "same", parent, {"activation": "relu", "seed": seed}, FINALS,
                    curve={k: [v - seed / 50 for v in vs] for k, vs in CURVE.items()})
    monkeypatch.setattr(export, "default_path", lambda experiment: tmp_path / "same.parquet")
    page, _ = build("same", uri, out=tmp_path / "out", log=False)
    without = page.read_text()
    export.export(client, "same", log=False)
    assert (tmp_path / "same.parquet").exists()
    page, _ = build("same", uri, out=tmp_path / "out", log=False)  # (its own files: replaced)
    assert page.read_text() == without
