"""src/netlab/data/: every dataset, its split and standardisation, the three teaching sets, the
user's own files (CSV, Parquet, .npz), describe() and its one-line errors — in process and through
`python -m src.run`."""

import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from netlab import config, data
from netlab.data import files
from tests.conftest import copy_store

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
EXAMPLE = ROOT / "examples" / "leaves.csv"
BUILT_IN = sorted({**data.GENERATED, **data.TABLES})


# ---------------------------------------------------------------- files written per test
def table(n=(150, 90, 60), seed=0):
    """A frame of three unequal classes with string labels, two numeric columns and a text one."""
    rng = np.random.default_rng(seed)
    names = np.repeat(["setosa", "versicolor", "virginica"], n)
    centre = {"setosa": 0.0, "versicolor": 2.0, "virginica": 4.0}
    x1 = np.array([centre[k] for k in names]) + rng.normal(size=len(names))
    return pd.DataFrame({"x1": x1.round(6), "note": "seen", "x2": rng.normal(5, 2, len(names)),
                         "species": names}).sample(frac=1, random_state=seed)


def write(folder, kind, frame=None):
    """Write frame (default: table()) as kind (csv, parquet, npz) into folder; (name, params)."""
    frame = table() if frame is None else frame
    if kind == "csv":
        frame.to_csv(folder / "data.csv", index=False)
        return "csv", {"path": str(folder / "data.csv"), "label": "species"}
    if kind == "parquet":
        frame.to_parquet(folder / "data.parquet")
        return "csv", {"path": str(folder / "data.parquet"), "label": "species"}
    np.savez(folder / "data.npz", X=frame[["x1", "x2"]].to_numpy(),
             y=frame["species"].to_numpy().astype(str))
    return "npz", {"path": str(folder / "data.npz")}


def dataset(name, folder):
    """(name, params) of a built-in dataset, or of a file of table() for csv, parquet and npz."""
    return write(folder, name) if name in ("csv", "parquet", "npz") else (name, {})


# ---------------------------------------------------------------- every dataset
@pytest.mark.parametrize("kind", BUILT_IN + ["csv", "parquet", "npz"])
def test_every_dataset_splits_stratified_and_standardised_on_train(kind, tmp_path):
    name, params = dataset(kind, tmp_path)
    d = data.load(name, seed=3, **params)
    parts = [(d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)]
    rows = d.params["rows"]
    n_train, n_val, n_test = data.split_sizes(rows, 0.2, 0.2)
    assert [len(y) for _, y in parts] == [n_train, n_val, n_test]
    assert all(X.shape == (len(y), d.n_features) for X, y in parts)
    assert d.is_2d == (d.n_features == 2)
    # labels 0..k-1, every class in every part, in about the same proportion (stratified)
    assert set(np.unique(d.y_train)) == set(range(d.n_classes)) and len(d.classes) == d.n_classes
    share = np.bincount(d.y_train, minlength=d.n_classes) / n_train
    for _, y in parts[1:]:
        assert set(np.unique(y)) == set(range(d.n_classes))
        np.testing.assert_allclose(np.bincount(y, minlength=d.n_classes) / len(y), share, atol=0.1)
    # the scaler is fitted on the training part only; a table's one-hot columns (its text
    # column `note`) stay 0 and 1
    n = len(d.encoding.numeric) if d.encoding is not None else d.n_features
    np.testing.assert_allclose(d.X_train[:, :n].mean(axis=0), 0, atol=1e-9)
    std = d.X_train[:, :n].std(axis=0)
    np.testing.assert_allclose(std[std > 0], 1)
    assert abs(d.X_test[:, :n].mean()) > 1e-12  # not refitted on the test part
    assert set(np.unique(d.X_train[:, n:])) <= {0.0, 1.0}
    info = data.describe(name, **params)  # what describe() promised is what load() gave
    assert (info.n_rows, info.n_features, info.n_classes) == (rows, d.n_features, d.n_classes)
    assert info.bytes == data.LOADED_COPIES * rows * (d.n_features + 1) * 8
    assert info.content_hash == d.content_hash and (d.content_hash is None) == (kind in BUILT_IN)


@pytest.mark.parametrize("name", ["moons", "flower", "xor", "spiral", "iris", "csv"])
def test_same_seed_same_data_other_seed_other_data(name, tmp_path):
    name, params = dataset(name, tmp_path)
    a, b, c = (data.load(name, seed=s, **params) for s in (1, 1, 2))
    for part in ("X_train", "y_train", "X_val", "X_test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.X_train, c.X_train)


def test_the_bundled_tables_are_described_as_they_load():
    for name, source in data.TABLES.items():
        X, y = data.generate(name, 0)
        assert source.table == (X.shape[0], X.shape[1], tuple(np.bincount(y).tolist())), name


@pytest.mark.parametrize("params", [{}, {"n_samples": 401}, {"n_samples": 37, "noise": 0.3}])
def test_describe_knows_a_generated_dataset_without_generating_it(params, monkeypatch):
    for name, source in data.GENERATED.items():
        params = {k: v for k, v in params.items() if k in source.defaults}
        X, y = data.generate(name, 0, **params)
        # describe() must not call the generator
        monkeypatch.setitem(data.DATASETS, name, dataclasses.replace(source, function=None))
        info = data.describe(name, **params)
        monkeypatch.undo()
        assert (info.n_rows, info.n_features) == X.shape, name
        assert info.n_classes == len(np.unique(y)) and info.content_hash is None, name


# ---------------------------------------------------------------- the user's files
def test_labels_of_any_type_become_0_to_k_minus_1_in_sorted_order(tmp_path):
    frame = table()
    name, params = write(tmp_path, "csv", frame)
    d = data.load(name, seed=0, **params)
    assert d.classes == ("setosa", "versicolor", "virginica")
    assert d.params["classes"] == list(d.classes) and d.feature_names == ("x1", "x2", "note_seen")
    truth = {round(x1, 6): label for x1, label in zip(frame.x1, frame.species, strict=True)}
    for X, y in ((d.X_train, d.y_train), (d.X_test, d.y_test)):
        raw = X * d.scale + d.mean
        assert [truth[round(x1, 6)] for x1 in raw[:, 0]] == [d.classes[k] for k in y]
    # integer labels sort as numbers, not as text
    numbers = frame.assign(species=frame.species.map({"setosa": 10, "versicolor": 9,
                                                      "virginica": -1}))
    name, params = write(tmp_path, "csv", numbers)
    assert data.load(name, **params).classes == (-1, 9, 10)


def test_features_default_to_every_other_column_or_are_chosen(tmp_path):
    """The text column `note` is a feature too, one-hot (it was silently left out: issue 21)."""
    name, params = write(tmp_path, "csv")
    d = data.load(name, **params)
    assert d.params["features"] == ["x1", "note", "x2"]  # the file's order
    assert d.feature_names == ("x1", "x2", "note_seen")  # the numbers, then the one-hot columns
    chosen = data.load(name, features=["note", "x1"], **params)
    assert chosen.feature_names == ("x1", "note_seen") and chosen.params["features"] == ["note",
                                                                                         "x1"]
    d = data.load(name, features=["x2", "x1"], **params)
    assert d.feature_names == ("x2", "x1") and d.params["features"] == ["x2", "x1"]
    one = data.load(name, features=["x2"], **params)
    assert one.n_features == 1 and not one.is_2d


def test_a_relative_path_is_relative_to_the_working_directory_and_logged_absolute(tmp_path,
                                                                                   monkeypatch):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "csv")
    monkeypatch.chdir(tmp_path)
    d = data.load("csv", path="sub/data.csv", label="species")
    assert d.params["path"] == str(tmp_path / "sub" / "data.csv")
    assert data.describe("csv", path="sub/data.csv", label="species").path == d.params["path"]
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(data.DatasetError, match="no such file"):
        data.describe("csv", path="sub/data.csv", label="species")


def test_the_content_hash_is_the_sha256_of_the_bytes_and_an_edit_changes_it(tmp_path):
    name, params = write(tmp_path, "csv")
    path = Path(params["path"])
    before = data.describe(name, **params).content_hash
    assert before == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert data.load(name, **params).content_hash == before
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace("seen", "SEEN")  # one cell edited, the size unchanged
    stat = path.stat()
    path.write_text("\n".join(lines) + "\n")
    # file systems stamp times in ticks of a few ms: make the edit's time differ as a person's would
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert path.stat().st_size == stat.st_size
    after = data.describe(name, **params).content_hash
    assert after != before and after == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert data.load(name, **params).content_hash == after
    # the same bytes in another format are other bytes: another hash, the same data
    _, parquet = write(tmp_path, "parquet", pd.read_csv(path))
    assert data.describe("csv", **parquet).content_hash not in (before, after)


def test_a_file_is_parsed_once_for_many_validations_and_the_load(tmp_path, monkeypatch):
    name, params = write(tmp_path, "csv")
    calls = []
    parse = files._parse
    monkeypatch.setattr(files, "_parse", lambda *a: calls.append(a) or parse(*a))
    for _ in range(100):
        data.describe(name, **params)
    data.load(name, seed=1, **params)
    assert len(calls) == 1
    data.describe(name, test_size=0.3, **params)
    assert len(calls) == 1


@pytest.mark.parametrize("kind", ["csv", "parquet", "npz"])
def test_a_large_file_is_described_from_a_sample_without_parsing_it(kind, tmp_path, monkeypatch):
    frame = table(n=(2000, 1500, 1000))
    name, params = write(tmp_path, kind, frame)
    monkeypatch.setattr(files, "LARGE_FILE", 10_000)  # every file above 10 kB is large
    monkeypatch.setattr(files, "SAMPLE_BYTES", 20_000)
    calls = []
    parse = files._parse
    monkeypatch.setattr(files, "_parse", lambda *a: calls.append(a) or parse(*a))
    info = data.describe(name, **params)
    assert calls == [] and info.estimated and info.content_hash is None
    assert info.n_features == (2 if kind == "npz" else 3) and info.n_classes == 3  # note_seen
    if kind == "csv":  # estimated from the bytes per row of the sample
        assert abs(info.n_rows - 4500) < 0.05 * 4500
    else:  # Parquet's footer, the .npy header: exact
        assert info.n_rows == 4500
    assert info.bytes == data.LOADED_COPIES * info.n_rows * (info.n_features + 1) * 8
    d = data.load(name, **params)  # load() reads it all, and hashes it all
    assert len(calls) == 1 and d.params["rows"] == 4500
    assert d.content_hash == hashlib.sha256(Path(params["path"]).read_bytes()).hexdigest()[:16]


def test_the_split_check_is_a_guarantee_for_any_seed(tmp_path):
    rng = np.random.default_rng(0)
    checked = refused = 0
    for trial in range(120):
        counts = rng.integers(3, 40, rng.integers(2, 6))
        test_size, val_size = rng.uniform(0.05, 0.4, 2)
        y = np.repeat(np.arange(len(counts)), counts)
        np.savez(tmp_path / "t.npz", X=rng.normal(size=(len(y), 2)), y=y)
        os.utime(tmp_path / "t.npz", ns=(trial, trial))  # a new file each trial
        least = data.least_per_part(counts, test_size, val_size)
        try:
            data.describe("npz", path=str(tmp_path / "t.npz"), test_size=test_size,
                          val_size=val_size)
        except data.DatasetError as error:
            assert (least < 1).any(), error
            assert str(error).startswith(("dataset.test_size=", "dataset.val_size="))
            refused += 1
            continue
        assert (least >= 1).all()
        for seed in range(4):
            d = data.load("npz", seed=seed, path=str(tmp_path / "t.npz"), test_size=test_size,
                          val_size=val_size)
            got = [np.bincount(p, minlength=len(counts)) for p in (d.y_train, d.y_val, d.y_test)]
            assert (np.array(got) >= least).all()
        checked += 1
    assert checked > 20 and refused > 20


# ---------------------------------------------------------------- bad input: one line each
def bad_files(folder):
    """Files for the bad cases, written into folder."""
    good = table()
    good.to_csv(folder / "good.csv", index=False)
    good.assign(species="setosa").to_csv(folder / "one_class.csv", index=False)
    good.assign(x2=good.x2.astype(str).where(good.index != good.index[3], "n.a.")).to_csv(
        folder / "typo.csv", index=False)
    good.assign(x2=good.x2.where(good.index != good.index[3])).to_csv(folder / "nan.csv",
                                                                      index=False)
    good.assign(species=good.species.where(good.index != good.index[7])).to_csv(
        folder / "no_label.csv", index=False)
    rare = good.copy()
    rare.loc[rare.index[:2], "species"] = "rare"
    rare.to_csv(folder / "rare.csv", index=False)
    good[["note", "species"]].to_csv(folder / "text_only.csv", index=False)
    good[["species"]].to_csv(folder / "label_only.csv", index=False)
    good.assign(x2=good.x2.where(good.index != good.index[3], np.inf)).to_csv(
        folder / "inf.csv", index=False)
    good.assign(empty=np.nan).to_csv(folder / "empty_column.csv", index=False)
    (folder / "broken.csv").write_text('a,b,species\n1,2,x\n"3,4,y\n')
    (folder / "sheet.xlsx").write_bytes(b"PK")
    X, y = good[["x1", "x2"]].to_numpy(), good.species.to_numpy().astype(str)
    np.savez(folder / "no_y.npz", X=X, labels=y)
    np.savez(folder / "flat.npz", X=X[:, 0], y=y)
    np.savez(folder / "short.npz", X=X, y=y[:-1])
    np.savez(folder / "text.npz", X=X.astype(str), y=y)
    np.savez(folder / "nan.npz", X=np.where(np.arange(X.size).reshape(X.shape) == 9, np.nan, X),
             y=y)
    np.savez(folder / "objects.npz", X=X.astype(object), y=y)


BAD = {  # case: (dataset, params, the line's start, a part of the rest)
    "no path": ("csv", {"path": None}, "dataset.path=???:", "missing: dataset=csv needs"),
    "missing file": ("csv", {"path": "nope.csv"}, "dataset.path=nope.csv:", "no such file"),
    "a folder": ("csv", {"path": "."}, "dataset.path=.:", "is not a file"),
    "not a table": ("csv", {"path": "sheet.xlsx"}, "dataset.path=sheet.xlsx:", ".parquet file"),
    "npz for a csv": ("npz", {"path": "good.csv"}, "dataset.path=good.csv:", "dataset=csv reads"),
    "unparseable": ("csv", {"path": "broken.csv"}, "dataset.path=broken.csv:", "cannot be read"),
    "no label column": ("csv", {"path": "good.csv"}, "dataset.label=label:",
                        "no such column in good.csv (columns: x1, note, x2, species)"),
    "one class": ("csv", {"path": "one_class.csv", "label": "species"}, "dataset.label=species:",
                  "one class only ('setosa') in one_class.csv: needs at least 2"),
    "a class of two rows": ("csv", {"path": "rare.csv", "label": "species"},
                            "dataset.label=species:", "class 'rare' has 2 of 300 rows"),
    "empty label": ("csv", {"path": "no_label.csv", "label": "species"}, "dataset.missing=error:",
                    "no_label.csv has 1 missing value in 1 row (first: column 'species', line 9)"
                    "; dataset.missing=drop drops those rows"),
    "text feature": ("csv", {"path": "good.csv", "label": "species", "features": ["x1", "note"],
                             "categorical": "error"}, "dataset.categorical=error:",
                     "column 'note' of good.csv is text ('seen' on line 2); "
                     "dataset.categorical=onehot one-hot encodes it"),
    "unknown feature": ("csv", {"path": "good.csv", "label": "species", "features": ["x3"]},
                        "dataset.features=[x3]:", "no column 'x3' in good.csv"),
    "no features": ("csv", {"path": "good.csv", "label": "species", "features": []},
                    "dataset.features=[]:", "must name at least one column"),
    "label as feature": ("csv", {"path": "good.csv", "label": "species", "features": ["species"]},
                         "dataset.features=[species]:", "is the label column"),
    "number column with text": ("csv", {"path": "typo.csv", "label": "species"},
                                "dataset.path=typo.csv:",
                                "column 'x2' mixes numbers and text ('n.a.' on line 5)"),
    "NaN": ("csv", {"path": "nan.csv", "label": "species"}, "dataset.missing=error:",
            "nan.csv has 1 missing value in 1 row (first: column 'x2', line 5); "
            "dataset.missing=drop drops those rows"),
    "infinity": ("csv", {"path": "inf.csv", "label": "species", "missing": "drop"},
                 "dataset.path=inf.csv:",
                 "column 'x2' of inf.csv has 1 infinite value (first on line 5)"),
    "every row empty": ("csv", {"path": "empty_column.csv", "label": "species", "missing": "drop"},
                        "dataset.missing=drop:", "every row of empty_column.csv has an empty "
                        "cell in x1, note, x2, empty, species: nothing is left to train on"),
    "a text column, categorical=error": ("csv", {"path": "text_only.csv", "label": "species",
                                                 "categorical": "error"},
                                         "dataset.categorical=error:",
                                         "dataset.categorical=onehot one-hot encodes it, "
                                         "dataset.features=[…] leaves it out"),
    "no feature column": ("csv", {"path": "label_only.csv", "label": "species"},
                          "dataset.features=null:", "label_only.csv has no column besides the "
                          "label 'species'"),
    "missing: unknown": ("csv", {"path": "good.csv", "label": "species", "missing": "fill"},
                         "dataset.missing=fill:", "must be one of drop, error"),
    "categorical: unknown": ("csv", {"path": "good.csv", "label": "species",
                                     "categorical": "ordinal"},
                             "dataset.categorical=ordinal:", "must be one of error, onehot"),
    "test part too small": ("csv", {"path": "good.csv", "label": "species", "test_size": 0.01},
                            "dataset.test_size=0.01:", "may get no row of class 'virginica'"),
    "npz without y": ("npz", {"path": "no_y.npz"}, "dataset.path=no_y.npz:",
                      "has no array 'y' (arrays: X, labels)"),
    "npz X 1-D": ("npz", {"path": "flat.npz"}, "dataset.path=flat.npz:", "X must be 2-D"),
    "npz rows differ": ("npz", {"path": "short.npz"}, "dataset.path=short.npz:",
                        "X has 300 rows but y has 299"),
    "npz X text": ("npz", {"path": "text.npz"}, "dataset.path=text.npz:", "X must be numeric"),
    "npz NaN": ("npz", {"path": "nan.npz"}, "dataset.path=nan.npz:",
                "column 1 of X has 1 missing or infinite value (first in row 4)"),
    "npz objects": ("npz", {"path": "objects.npz"}, "dataset.path=objects.npz:",
                    "cannot be read as npz"),
    "a table's split": ("digits", {"test_size": 0.001}, "dataset.test_size=0.001:",
                        "the test part (2 of 1797 rows) may get no row of class 8"),
    "too few samples": ("blobs", {"n_samples": 8}, "dataset.n_samples=8:", "must be at least 11"),
    "a file's key for moons": ("moons", {"path": "x.csv"}, "dataset.path=x.csv:",
                               "dataset=moons takes no path"),
    "a table's parameter": ("iris", {"noise": 0.1}, "dataset.noise=0.1:", "iris is a fixed table"),
    "unknown dataset": ("mnist", {}, "dataset.name=mnist:", "must be one of"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_describe_and_load_refuse_bad_input_in_one_line_naming_the_key(case, tmp_path,
                                                                       monkeypatch):
    bad_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    name, params, start, part = BAD[case]
    for function in (data.describe, data.load):
        with pytest.raises(data.DatasetError) as caught:
            function(name, **params)
        line = str(caught.value)
        assert "\n" not in line and line.startswith(start + " ") and part in line, line
        assert isinstance(caught.value, ValueError) and line.startswith(caught.value.key + "=")


# ---------------------------------------------------------------- the config and the command line
@pytest.fixture(scope="module")
def hydra_ready():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def test_the_yaml_defaults_are_the_generators_defaults():
    for name, source in data.DATASETS.items():
        cfg = OmegaConf.load(CONF / "dataset" / f"{name}.yaml")
        skip = ("defaults", "name", "test_size", "val_size")
        required = {k for k in cfg if OmegaConf.is_missing(cfg, k)}
        given = {k: cfg[k] for k in cfg if k not in skip and k not in required}
        assert given == {k: v for k, v in source.defaults.items() if k not in required}, name
        assert required == ({"path"} if name in data.FILES else set()), name
        assert cfg.name == name


def test_the_file_datasets_compose_typed_and_hydra_rejects_a_misspelt_key(hydra_ready):
    cfg = compose("config", overrides=["dataset=csv", f"dataset.path={EXAMPLE}",
                                       "dataset.label=tree", "dataset.features=[width_mm]"])
    assert OmegaConf.get_type(cfg.dataset) is config.CsvConfig
    info = config.describe_dataset(cfg.dataset)
    assert (info.n_rows, info.n_features, info.classes) == (300, 1, ("birch", "oak", "willow"))
    npz = compose("config", overrides=["dataset=npz"])
    assert OmegaConf.get_type(npz.dataset) is config.NpzConfig
    assert OmegaConf.is_missing(npz.dataset, "path")
    for override in ("dataset.labl=tree", "dataset.features=3"):
        with pytest.raises(ConfigCompositionException):
            compose("config", overrides=["dataset=csv", override])
    with pytest.raises(ConfigCompositionException):
        compose("config", overrides=["dataset=npz", "dataset.label=tree"])


def test_the_example_is_what_its_script_writes(tmp_path):
    shutil.copy(ROOT / "examples" / "make_example.py", tmp_path)
    subprocess.run([sys.executable, str(tmp_path / "make_example.py")], check=True,
                   capture_output=True)
    assert (tmp_path / "leaves.csv").read_bytes() == EXAMPLE.read_bytes()
    assert (tmp_path / "fruit.csv").read_bytes() == (ROOT / "examples" / "fruit.csv").read_bytes()
    frame = pd.read_csv(EXAMPLE)
    assert list(frame.columns) == ["length_mm", "width_mm", "tree"] and len(frame) == 300


def command(args, cwd, uri):
    """Start `python -m src.run *args` in cwd, tracking to uri; the Popen (output piped)."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update(MLFLOW_TRACKING_URI=uri, PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH",
                                                                                    ""))
    return subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def runs_in(store):
    with closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT status FROM runs").fetchall()


REJECTED = {  # case: (overrides, the one line on stderr)
    "no path": (["dataset=csv"], "config error: dataset.path=???: missing: dataset=csv needs "
                "dataset.path=<a .csv, .tsv or .parquet file>, relative to the directory the "
                "command runs in"),
    "one class": (["dataset=csv", "dataset.path=one_class.csv", "dataset.label=species"],
                  "config error: dataset.label=species: one class only ('setosa') in "
                  "one_class.csv: needs at least 2"),
    "a table's split (issue 8, item 7)": (["dataset=digits", "dataset.test_size=0.001"],
                                          "config error: dataset.test_size=0.001: the test part "
                                          "(2 of 1797 rows) may get no row of class 8 (174 rows "
                                          "in digits); every class needs one in train, "
                                          "validation and test"),
    "a row with an empty cell (issue 21, item 10)": (
        ["dataset=csv", "dataset.path=nan.csv", "dataset.label=species"],
        "config error: dataset.missing=error: nan.csv has 1 missing value in 1 row (first: column "
        "'x2', line 5); dataset.missing=drop drops those rows"),
    "a bad dataset.categorical": (["dataset=csv", "dataset.path=good.csv", "dataset.label=species",
                                   "dataset.categorical=ordinal"],
                                  "config error: dataset.categorical=ordinal: must be one of "
                                  "error, onehot"),
    "a sweep's bad job": (["-m", "dataset=csv", "dataset.label=species",
                           "dataset.path=good.csv,one_class.csv"],
                          "config error: in job [dataset=csv dataset.label=species "
                          "dataset.path=one_class.csv]: dataset.label=species: one class only "
                          "('setosa') in one_class.csv: needs at least 2"),
}


@pytest.fixture(scope="module")
def rejected(tmp_path_factory, empty_store):
    """Start every bad command at once (they only check and exit), then collect them."""
    started = {}
    for case, (args, _) in REJECTED.items():
        cwd = tmp_path_factory.mktemp("bad")
        bad_files(cwd)
        store = cwd.parent / f"{cwd.name}.db"
        copy_store(empty_store, store)
        started[case] = (command(args, cwd, f"sqlite:///{store}"), cwd, store)
    results = {}
    for case, (p, cwd, store) in started.items():
        out, err = p.communicate(timeout=180)
        results[case] = (p.returncode, out, err, cwd, store)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", list(REJECTED))
def test_the_command_line_refuses_bad_data_in_one_line_and_runs_nothing(rejected, case):
    code, out, err, cwd, store = rejected[case]
    assert code == 1, err
    assert err.strip().splitlines() == [REJECTED[case][1].format(cwd=cwd)]
    assert "Launching" not in out and not (cwd / "outputs").exists()
    assert not (cwd / "multirun").exists()
    assert runs_in(store) == []


@pytest.mark.slow
def test_a_csv_trains_end_to_end_and_its_run_logs_the_file(tmp_path, tracking_uri):
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "examples")
    args = ["dataset=csv", "dataset.path=examples/leaves.csv", "dataset.label=tree", "epochs=300"]
    p = command(args, tmp_path, tracking_uri)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    (line,) = [line for line in out.splitlines() if " train " in line]
    assert line.startswith("dataset=csv dataset.path=examples/leaves.csv dataset.label=tree")
    store = tracking_uri.removeprefix("sqlite:///")
    assert runs_in(store) == [("FINISHED",)]
    with closing(sqlite3.connect(store)) as db:
        params = dict(db.execute("SELECT key, value FROM params"))
        (source,) = {s for (s,) in db.execute("SELECT dataset_source FROM datasets")}
    assert params["dataset.path"] == "examples/leaves.csv" and params["dataset.label"] == "tree"
    logged = json.loads(source)["tags"]  # the dataset's params, as the run logged them
    digest = hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()[:16]
    assert logged["path"] == str(tmp_path / "examples" / "leaves.csv")
    assert logged["content_hash"] == digest and logged["features"] == "['length_mm', 'width_mm']"
    assert float(line.split(" test ")[1].split()[0]) > 0.8


# ---------------------------------------------------------------- the teaching sets
def test_teaching_sets_never_touch_numpy_global_state():
    for make in (data.make_flower, data.make_xor, data.make_spiral):
        np.random.seed(0)
        X1, y1 = make(rng=7)
        np.random.seed(1)
        X2, y2 = make(rng=7)
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)


def test_flower_follows_the_course_definition():
    rng = np.random.default_rng(5)
    X, y = data.make_flower(400, 0.2, np.random.default_rng(5))
    N = 200
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + 0.2 * rng.standard_normal(N)
        r = 4 * np.sin(4 * t) + 0.2 * rng.standard_normal(N)
        expected = np.column_stack([r * np.sin(t), r * np.cos(t)])
        np.testing.assert_array_equal(X[j * N:(j + 1) * N], expected)
        assert (y[j * N:(j + 1) * N] == j).all()


def test_xor_pads_coordinates_and_labels_by_quadrant():
    X, y = data.make_xor(1000, noise=0.0, rng=0)
    assert X.shape == (1000, 2) and (np.abs(X) >= 0.3).all() and (np.abs(X) <= 5.3).all()
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    _, noisy = data.make_xor(1000, noise=0.5, rng=0)
    assert 0 < (noisy != y).mean() < 0.5  # noise flips some labels, coordinates stay clean


def test_spiral_has_two_interleaved_arms():
    X, y = data.make_spiral(500, noise=0.0, rng=0)
    N = 250
    i = np.arange(N)
    r, t = 5 * i / N, 1.75 * i / N * 2 * np.pi
    np.testing.assert_allclose(X[:N], np.column_stack([r * np.sin(t), r * np.cos(t)]))
    np.testing.assert_allclose(X[N:], -X[:N], atol=1e-12)  # the second arm is turned by π
    assert (y[:N] == 0).all() and (y[N:] == 1).all()


def test_params_name_the_generator_and_its_parameters(tmp_path):
    d = data.load("circles", seed=4, noise=0.05)
    assert d.params["generator"] == "sklearn.datasets.make_circles"
    assert d.params["noise"] == 0.05 and d.params["factor"] == 0.5 and d.params["seed"] == 4
    assert data.load("digits").params["generator"] == "sklearn.datasets.load_digits"
    for kind, reader in (("csv", "pandas.read_csv"), ("parquet", "pandas.read_parquet"),
                         ("npz", "numpy.load")):
        name, params = write(tmp_path, kind)
        d = data.load(name, seed=4, **params)
        assert d.params["generator"] == reader and d.params["path"] == params["path"]
        assert d.params["content_hash"] == d.content_hash and d.params["rows"] == 300
