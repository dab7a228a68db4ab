"""A user's table as it really comes (issue 21, item 10): rows with empty cells
(`dataset.missing=error|drop`), text features one-hot encoded on the training part
(`dataset.categorical=onehot|error`), the logged pyfunc model doing the same from raw columns, and
every run saying which features, rows and classes it trained on. examples/fruit.csv is the table:
two numeric features, two text ones, a text label and four empty cells."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient

from netlab import config, data, experiment, job

ROOT = Path(__file__).resolve().parents[1]
FRUIT = ROOT / "examples" / "fruit.csv"
BASE = {"path": str(FRUIT), "label": "fruit"}


def compose_config(*overrides):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def fruit_overrides(*extra):
    return ["dataset=csv", f"dataset.path={FRUIT}", "dataset.label=fruit", "epochs=60",
            "lr=0.5", "width=6", *extra]


# ---------------------------------------------------------------- what the table gave before
def test_the_raw_table_trains_instead_of_being_refused():
    """Before: `column 'weight_g' … has 2 missing or infinite values`, and with that fixed,
    `column 'colour' … is not numeric` or the text columns silently left out."""
    d = data.load("csv", missing="drop", **BASE)
    assert d.params["rows"] == 116 and d.params["rows_dropped"] == 4
    assert d.params["features"] == ["weight_g", "diameter_mm", "colour", "market"]
    assert d.classes == ("apple", "lemon", "orange")
    assert d.params["class_counts"] == {"apple": 40, "lemon": 37, "orange": 39}
    onehot = [n for n in d.feature_names if n.startswith(("colour_", "market_"))]
    assert len(onehot) == 4 + 3 and d.n_features == 2 + 7
    info = data.describe("csv", missing="drop", **BASE)  # what describe() promised, load() gave
    assert (info.n_rows, info.n_features, info.classes) == (116, d.n_features, d.classes)


def test_one_hot_columns_are_0_or_1_and_the_numbers_standardised_on_train():
    d = data.load("csv", seed=3, missing="drop", **BASE)
    numeric = [i for i, n in enumerate(d.feature_names) if n in ("weight_g", "diameter_mm")]
    onehot = [i for i in range(d.n_features) if i not in numeric]
    np.testing.assert_allclose(d.X_train[:, numeric].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(d.X_train[:, numeric].std(axis=0), 1)
    for X in (d.X_train, d.X_val, d.X_test):
        assert set(np.unique(X[:, onehot])) <= {0.0, 1.0}
    assert (d.mean[onehot] == 0).all() and (d.scale[onehot] == 1).all()
    # every row has exactly one colour and one market (all are known in this table)
    assert (d.X_train[:, onehot].sum(axis=1) == 2).all()


def test_the_encoder_is_fitted_on_the_training_part_only(tmp_path):
    """A colour seen in one row only: it has a column exactly when that row is in the training
    part; in the validation or test part it is an unknown category, all zeros."""
    rng = np.random.default_rng(0)
    n = 90
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "colour": rng.choice(["red", "blue"], n),
                          "label": np.repeat(["a", "b", "c"], n // 3)})
    frame.loc[40, "colour"] = "purple"
    frame.to_csv(tmp_path / "t.csv", index=False)
    seen = set()
    for seed in range(8):
        d = data.load("csv", seed=seed, path=str(tmp_path / "t.csv"))
        x = {part: np.round(X[:, 0] * d.scale[0] + d.mean[0]) for part, X in
             (("train", d.X_train), ("val", d.X_val), ("test", d.X_test))}
        in_train = 40 in x["train"]
        seen.add(in_train)
        assert ("colour_purple" in d.feature_names) == in_train, seed
        if not in_train:
            part = "val" if 40 in x["val"] else "test"
            X = {"val": d.X_val, "test": d.X_test}[part]
            row = X[list(x[part]).index(40)]
            assert (row[1:] == 0).all()  # neither red nor blue, and no column of its own
    assert seen == {True, False}


def test_the_defaults_refuse_in_one_line_naming_the_key_that_fixes_it(tmp_path):
    for function in (data.describe, data.load):
        with pytest.raises(data.DatasetError) as caught:
            function("csv", **BASE)
        line = str(caught.value)
        assert "\n" not in line and line.startswith("dataset.missing=error: "), line
        assert "fruit.csv has 4 missing values in 4 rows" in line
        assert line.endswith("dataset.missing=drop drops those rows"), line
        with pytest.raises(data.DatasetError) as caught:
            function("csv", missing="drop", categorical="error", **BASE)
        line = str(caught.value)
        assert "\n" not in line and line.startswith("dataset.categorical=error: "), line
        assert "column 'colour' of fruit.csv is text ('yellow' on line 2)" in line
        assert "dataset.categorical=onehot" in line


@pytest.mark.parametrize(("key", "value", "line"), [
    ("missing", "maybe", "config error: dataset.missing=maybe: must be one of drop, error"),
    ("categorical", "ordinal", "config error: dataset.categorical=ordinal: must be one of error, "
                               "onehot"),
])
def test_bad_values_of_the_new_keys_are_refused_before_any_run(key, value, line, tracking_uri,
                                                               tmp_path):
    cfg = compose_config(*fruit_overrides(f"dataset.{key}={value}"))
    with pytest.raises(config.ConfigError) as caught:
        config.validate(cfg)
    assert f"config error: {caught.value}" == line
    with pytest.raises(data.DatasetError) as caught:  # the library refuses it as well
        data.describe("csv", **{**BASE, key: value})
    assert str(caught.value) == line.removeprefix("config error: ")
    # the job refuses it before it creates a run (as the command line does, after validate())
    context = job.JobContext(tracking_uri=tracking_uri, experiment="own", force=True)
    with pytest.raises(config.ConfigError):
        job.train_and_record(cfg, context)
    assert MlflowClient(tracking_uri).search_runs(
        [e.experiment_id for e in MlflowClient(tracking_uri).search_experiments()]) == []


# ---------------------------------------------------------------- a run on it, and its model
@pytest.fixture(scope="module")
def trained(tmp_path_factory, empty_store):
    """A single run on fruit.csv (missing=drop) through the real job code, its model logged;
    (uri, its RunLogger, its Replica, what it printed)."""
    import contextlib
    import io

    from tests.conftest import copy_store

    folder = tmp_path_factory.mktemp("own")
    copy_store(empty_store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    overrides = fruit_overrides("dataset.missing=drop")
    cfg = compose_config(*overrides)
    config.validate(cfg)
    context = job.JobContext(tracking_uri=uri, experiment="own", overrides=overrides, force=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        outcome = job.train_and_record(cfg, context)
    return uri, outcome.loggers[0], outcome.replicas[0], printed.getvalue()


def test_a_run_prints_and_logs_its_features_rows_dropped_and_class_counts(trained):
    uri, run, replica, printed = trained
    assert run.status == "FINISHED"
    line = ("fruit.csv: 116 rows (4 with empty cells dropped); features weight_g, diameter_mm, "
            "colour (one-hot, 4), market (one-hot, 3); classes apple 40, lemon 37, orange 39")
    assert printed.splitlines() == [line]  # one line, before training (the job's comes later)
    logged = MlflowClient(uri).get_run(run.run_id)
    assert logged.data.tags["data_summary"] == line
    assert logged.data.params["dataset.missing"] == "drop"
    assert logged.data.params["dataset.categorical"] == "onehot"
    (source,) = {i.dataset.source for i in logged.inputs.dataset_inputs}
    described = json.loads(source)["tags"]  # the dataset's params, as the run logged them
    assert described["rows_dropped"] == "4" and described["rows"] == "116"
    assert described["features"] == "['weight_g', 'diameter_mm', 'colour', 'market']"
    assert described["class_counts"] == "{'apple': 40, 'lemon': 37, 'orange': 39}"


def test_the_logged_model_takes_raw_columns_and_handles_unknown_categories(trained):
    uri, run, replica, _ = trained
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{run.run_id}/model")
    d = replica.data
    # the test part's raw rows, found in the file by their numbers (unique in fruit.csv)
    frame = pd.read_csv(FRUIT).dropna()
    numbers = np.round(d.X_test[:, :2] * d.scale[:2] + d.mean[:2], 1)
    keyed = frame.set_index(["weight_g", "diameter_mm"])
    raw = pd.DataFrame([keyed.loc[tuple(row)] for row in numbers.tolist()]).reset_index()
    raw.columns = ["weight_g", "diameter_mm", *keyed.columns]
    expected = np.asarray(d.classes)[experiment.predict(replica, d.X_test)]
    features = raw[["weight_g", "diameter_mm", "colour", "market"]]
    np.testing.assert_array_equal(model.predict(features), expected)
    # a colour and a market it never saw, whole numbers (int64: MLflow's schema would refuse them
    # for a double column) and the columns in another order: still a prediction
    unknown = features.assign(colour="purple", market="west",
                              weight_g=features.weight_g.round().astype("int64"))[
        ["market", "colour", "diameter_mm", "weight_g"]]
    predicted = model.predict(unknown)
    assert len(predicted) == len(unknown) and set(predicted) <= set(d.classes)
    # an unknown category is all zeros: the network's prediction for the numbers and zeros (the
    # weights are whole grams, so int64 gives the very inputs training had)
    X = np.hstack([d.X_test[:, :2], np.zeros((len(d.X_test), d.n_features - 2))])
    np.testing.assert_array_equal(predicted,
                                  np.asarray(d.classes)[experiment.predict(replica, X)])
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"missing inputs \['market'\]"):
        model.predict(features.drop(columns="market"))


def test_the_encoding_saved_as_arrays_encodes_raw_rows_as_training_did(tmp_path):
    d = data.load("csv", seed=1, missing="drop", **BASE)
    np.savez(tmp_path / "e.npz", **d.encoding.arrays())
    with np.load(tmp_path / "e.npz", allow_pickle=False) as arrays:  # no pickle in it
        again = data.Encoding.of_arrays(arrays)
    assert again == d.encoding and again.names == d.feature_names
    frame = pd.read_csv(FRUIT).dropna()
    inputs = again.of_frame(frame.drop(columns="fruit"))
    assert inputs.shape == (116, d.n_features)
    np.testing.assert_array_equal(again.frame_of(inputs), frame.drop(columns="fruit").astype(
        {"weight_g": float}).reset_index(drop=True))
    for bad, message in ((frame.drop(columns="colour"), "the model needs the column 'colour'"),
                         (frame.assign(weight_g="heavy"), "must be numbers"),
                         (frame.assign(weight_g=np.nan), "column 'weight_g' has empty cells")):
        with pytest.raises(ValueError, match=message) as caught:
            again.of_frame(bad)
        assert "\n" not in str(caught.value)
    # an empty text cell is an unknown category: its columns all zeros
    empty = again.of_frame(frame.assign(colour=None))
    colour = [i for i, n in enumerate(again.names) if n.startswith("colour_")]
    assert (empty[:, colour] == 0).all()
