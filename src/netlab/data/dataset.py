"""A dataset ready to train on (Dataset) and how it is made (load): the named dataset checked,
generated or read, its labels made 0..k−1, split, a table's text columns one-hot encoded on the
training part, standardised, with what made it (params, to log) and, for a user's file, its content
hash and a one-line summary (features, rows dropped, class counts)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netlab.data.catalogue import check_params, describe, generate, source_of
from netlab.data.columns import listing
from netlab.data.encoding import Encoding
from netlab.data.files import FILES, READERS, file_table
from netlab.data.split import check_classes, check_sizes, encode_labels, split_indices, standardise


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
    feature_names: tuple | None = None  # a table's input columns, in the order of X's columns
    encoding: "Encoding | None" = None  # a table's: its columns made into X's (the model's too)

    def summary(self):
        """One line on a user's file as trained on ('fruit.csv: 116 rows (4 with empty cells
        dropped); features weight_g, …, colour (one-hot, 4); classes apple 39, …'); None for
        a dataset the config describes by itself."""
        if self.content_hash is None and "path" not in self.params:
            return None
        rows, dropped = self.params["rows"], self.params.get("rows_dropped", 0)
        line = f"{Path(self.params['path']).name}: {rows} rows"
        if dropped:
            line += f" ({dropped} with empty cells dropped)"
        if self.encoding is not None:
            sizes = dict(zip(self.encoding.text, map(len, self.encoding.categories), strict=True))
            features = [f"{c} (one-hot, {sizes[c]})" if c in sizes else c
                        for c in self.params["features"]]
        else:
            features = [f"X ({self.n_features} columns)"]  # an .npz's columns have no names
        counts = self.params["class_counts"]
        return (f"{line}; features {listing(features)}; classes "
                f"{listing(f'{k} {n}' for k, n in counts.items())}")


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
    table, encoding = None, None
    if name in FILES:
        table = file_table(name, **params)
        key, value = ("label", params.get("label", "label")) if name == "csv" else ("path",
                                                                                    params["path"])
        classes, y = encode_labels(table.labels, key, value, table.path.name)
        check_classes(np.bincount(y), classes, test_size, val_size, key, value, table.path.name)
    else:
        X, y = generate(name, int(generate_seed), **params)
        classes, y = np.unique(y, return_inverse=True)
        classes = tuple(classes.tolist())
    indices = split_indices(y, split_seed, test_size, val_size)
    if table is not None and table.kind != "npz":  # the text columns' categories: train's only
        encoding = Encoding.fit(table.feature_names, table.text, table.T[indices[0]])
        X = encoding.transform(table.X, table.T)
    elif table is not None:
        X = table.X
    (X_train, X_val, X_test), mean, scale = standardise(
        X, indices, len(encoding.numeric) if encoding is not None else None)
    y_train, y_val, y_test = (y[i] for i in indices)
    if table is not None:
        described = {"generator": READERS[table.kind], "path": str(table.path)}
        if name == "csv":
            described.update(label=params.get("label", "label"), features=list(table.features),
                             missing=params.get("missing", "error"),
                             categorical=params.get("categorical", "onehot"))
        counts = np.bincount(y, minlength=len(classes)).tolist()
        described.update(content_hash=table.content_hash, classes=list(classes),
                         rows_dropped=table.dropped,
                         class_counts=dict(zip(classes, counts, strict=True)))
    else:
        described = {"generator": generator_name(source.function),
                     **({**source.defaults, **params} if source.generated else {})}
    return Dataset(
        name=name,
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test,
        n_features=X.shape[1], n_classes=int(y.max()) + 1, is_2d=X.shape[1] == 2,
        mean=mean, scale=scale,
        params={**described, "rows": X.shape[0], "test_size": test_size, "val_size": val_size,
                "seed": seed},
        classes=classes,
        content_hash=table.content_hash if table is not None else None,
        feature_names=(encoding.names if encoding is not None
                       else table.feature_names if table is not None else None),
        encoding=encoding,
    )


def generator_name(function):
    """The public name a dataset's function is called by: sklearn.datasets.make_moons,
    netlab.data.make_flower."""
    module = function.__module__
    for package in ("sklearn.datasets", "netlab.data"):
        if module.startswith(package):
            module = package
    return f"{module}.{function.__name__}"
