"""A dataset ready to train on (Dataset) and how it is made (load): the named dataset checked,
generated or read, its labels made 0..k−1, split and standardised, with what made it (params, to
log) and, for a user's file, its content hash."""

from dataclasses import dataclass

import numpy as np

from netlab.data.catalogue import check_params, describe, generate, source_of
from netlab.data.files import FILES, READERS, file_table
from netlab.data.split import check_classes, check_sizes, encode_labels, split_and_standardise


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split, standardised dataset: X_* (m_*, n_features), y_* (m_*,) integer labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_features: int
    n_classes: int
    is_2d: bool
    params: dict  # what made it: generator, its parameters, split sizes and seed (for logging)
    mean: np.ndarray | None = None  # the standardisation fitted on the training part:
    scale: np.ndarray | None = None  # X_* = (raw − mean) / scale
    classes: tuple = ()  # the original label of each class 0..k−1 (sorted; strings for a CSV's)
    content_hash: str | None = None  # a file's sha256 (16 hex digits); None: the config says it all
    feature_names: tuple | None = None  # a table's feature columns, in the order of X's columns


def load(name, seed=0, test_size=0.2, val_size=0.2, **params):
    """The named dataset, split train/val/test (stratified, seeded) and standardised on train.

    params override the generator's defaults (n_samples, noise, …), or name a file and its columns
    (path, label, features); seed fixes generation and split. Raises DatasetError (a ValueError).
    """
    source = source_of(name)
    check_params(name, source, params)
    check_sizes(test_size, val_size)
    if name not in FILES:
        describe(name, test_size, val_size, **params)  # a file is checked as it is read, below
    generate_seed, split_seed = np.random.SeedSequence(seed).generate_state(2)
    table = None
    if name in FILES:
        table = file_table(name, **params)
        key, value = ("label", params.get("label", "label")) if name == "csv" else ("path",
                                                                                    params["path"])
        X = table.X
        classes, y = encode_labels(table.labels, key, value, table.path.name)
        check_classes(np.bincount(y), classes, test_size, val_size, key, value, table.path.name)
    else:
        X, y = generate(name, int(generate_seed), **params)
        classes, y = np.unique(y, return_inverse=True)
        classes = tuple(classes.tolist())
    parts, scaler = split_and_standardise(X, y, split_seed, test_size, val_size)
    X_train, y_train, X_val, y_val, X_test, y_test = parts
    if table is not None:
        described = {"generator": READERS[table.kind], "path": str(table.path)}
        if name == "csv":
            described.update(label=params.get("label", "label"),
                             features=list(table.feature_names))
        described.update(content_hash=table.content_hash, classes=list(classes))
    else:
        described = {"generator": generator_name(source.function),
                     **({**source.defaults, **params} if source.generated else {})}
    return Dataset(
        name=name,
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test,
        n_features=X.shape[1], n_classes=int(y.max()) + 1, is_2d=X.shape[1] == 2,
        mean=scaler.mean_, scale=scaler.scale_,
        params={**described, "rows": X.shape[0], "test_size": test_size, "val_size": val_size,
                "seed": seed},
        classes=classes,
        content_hash=table.content_hash if table is not None else None,
        feature_names=table.feature_names if table is not None else None,
    )


def generator_name(function):
    """The public name a dataset's function is called by: sklearn.datasets.make_moons,
    netlab.data.make_flower."""
    module = function.__module__
    for package in ("sklearn.datasets", "netlab.data"):
        if module.startswith(package):
            module = package
    return f"{module}.{function.__name__}"
