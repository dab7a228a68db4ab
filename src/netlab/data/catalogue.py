"""The table of datasets (DATASETS: the generated sets, the bundled tables, the user's files), and
what a named dataset is: describe() says what it will be — rows, features, classes, content hash,
memory — and checks it before anything runs, generating nothing and reading a file at most once per
process; generate() makes its raw data."""

from dataclasses import dataclass

import numpy as np

from netlab.data.bundled import TABLES
from netlab.data.errors import DatasetError
from netlab.data.files import FILES, file_table, missing_path
from netlab.data.generated import GENERATED, n_classes_of
from netlab.data.split import (
    check_classes,
    check_sizes,
    encode_labels,
    smallest_splittable,
    split_sizes,
)

DATASETS = {**GENERATED, **TABLES, **FILES}
LOADED_COPIES = 3  # float64 copies of the data load() holds at once: raw, split, standardised


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset will be once loaded, known before loading it (see describe())."""

    name: str
    n_rows: int
    n_features: int  # a table with text columns: at most (see _describe_file)
    n_classes: int
    bytes: int  # memory load() needs: float64 rows × (features + label) × LOADED_COPIES
    content_hash: str | None = None  # a file's sha256 (16 hex digits); None: generated or too large
    path: str | None = None  # a file's absolute path
    classes: tuple | None = None  # the label's values, sorted (a file's; None for the others)
    estimated: bool = False  # a file larger than LARGE_FILE: rows, classes and bytes from a sample


def missing(name, key):
    """The DatasetError for a required key left without a value (`???` in a config)."""
    if key == "path" and name in FILES:
        return missing_path(name)
    return DatasetError(key, "???", f"missing: give dataset.{key}=<value>")


def source_of(name):
    """The table's entry (a sources.Source) of the named dataset; DatasetError if there is none."""
    if name not in DATASETS:
        raise DatasetError("name", name, f"must be one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def check_params(name, source, params):
    """DatasetError for a parameter the named dataset does not take."""
    for key, value in params.items():
        if key not in source.defaults:
            if source.table is not None:
                raise DatasetError(key, value, f"{name} is a fixed table: it takes no {key} "
                                               "(only test_size, val_size)")
            takes = ", ".join([*source.defaults, "test_size", "val_size"])
            raise DatasetError(key, value, f"dataset={name} takes no {key} (it takes {takes})")


def _bytes(n_rows, n_features):
    return LOADED_COPIES * n_rows * (n_features + 1) * 8


def describe(name, test_size=0.2, val_size=0.2, **params):
    """What the named dataset will be once loaded (a DatasetInfo); raises DatasetError if unusable.

    Generates nothing; reads a file once per process (load() reuses it), a large one only in part.
    """
    source = source_of(name)
    check_params(name, source, params)
    check_sizes(test_size, val_size)
    if name in FILES:
        return _describe_file(name, test_size, val_size, **params)
    if source.table is not None:
        n_rows, n_features, counts = source.table
        classes = tuple(range(len(counts)))
        check_classes(counts, classes, test_size, val_size, "name", name, name)
        return DatasetInfo(name, n_rows, n_features, len(counts), _bytes(n_rows, n_features))
    kwargs = {**source.defaults, **params}
    n_samples, n_classes = kwargs["n_samples"], n_classes_of(name, kwargs)
    n_rows = (source.rows or int)(n_samples)
    if min(split_sizes(n_rows, test_size, val_size)) < n_classes:
        needed = smallest_splittable(n_classes, test_size, val_size, source.rows)
        raise DatasetError("n_samples", n_samples, f"must be at least {needed} to split "
                           f"test_size={test_size:g}, val_size={val_size:g} with all {n_classes} "
                           "classes in every part")
    n_features = kwargs.get("n_features", 2)
    return DatasetInfo(name, n_rows, n_features, n_classes, _bytes(n_rows, n_features))


def _describe_file(name, test_size, val_size, path=None, label="label", features=None,
                   missing="error", categorical="onehot"):
    table = file_table(name, path, label=label, features=features, missing=missing,
                       categorical=categorical, whole=False)
    key, value = ("label", label) if name == "csv" else ("path", path)
    if table.estimated and not len(table.labels):  # a Fortran-ordered .npz: no sample of y
        classes, y = (), None
    else:
        classes, y = encode_labels(table.labels, key, value, table.path.name)
    if not table.estimated:
        check_classes(np.bincount(y), classes, test_size, val_size, key, value, table.path.name)
    # a text column's categories in the whole file: its one-hot columns, at most (load() fits
    # them on the training part, which may miss a rare one)
    n_features = table.X.shape[1] + sum(len(set(column)) for column in (
        table.T.T if table.T is not None else ()))
    return DatasetInfo(name, table.n_rows, n_features, len(classes),
                       _bytes(table.n_rows, n_features), table.content_hash, str(table.path),
                       classes if not table.estimated else None, table.estimated)


def generate(name, seed, **params):
    """Raw (X (m, n_features), y (m,)) of the named dataset with params over its defaults."""
    source = DATASETS[name]
    if not source.generated:
        if name in FILES:
            return source.function(**params)
        return source.function(return_X_y=True)
    kwargs = {**source.defaults, **params}
    if source.seeded_by == "rng":
        kwargs["rng"] = np.random.default_rng(seed)
    else:
        kwargs["random_state"] = seed
    X, y = source.function(**kwargs)
    return X, y

