"""A user's file made into checked features and labels (m,): a table's columns (CSV, TSV, Parquet)
— numbers X (m, n) float64 and text T (m, n_text) — or an .npz's arrays X and y. Rows with empty
cells are refused or dropped (dataset.missing), text features kept for one-hot encoding or refused
(dataset.categorical). Every problem is one DatasetError naming the key that decides it, the column
or array, and the first line or row where it is."""

from dataclasses import dataclass

import numpy as np

from netlab.data.errors import DatasetError

MISSING = ("error", "drop")  # dataset.missing: what a row with an empty cell gets
CATEGORICAL = ("onehot", "error")  # dataset.categorical: what a text feature gets


@dataclass(frozen=True, eq=False)
class Columns:
    """A table's usable columns: numbers X (m, n_numeric) float64, text T (m, n_text) of str,
    labels (m,), and the rows dropped for an empty cell."""

    X: np.ndarray
    T: np.ndarray
    labels: np.ndarray
    numeric: tuple  # the numeric feature columns, in the file's order (X's columns)
    text: tuple  # the text feature columns, in the file's order (T's columns)
    features: tuple  # every feature column, in the file's (or dataset.features') order
    dropped: int = 0


def _where(kind, row):
    """Where row (0-based, of the data) is in a file: a CSV's line, else the row index."""
    return f"line {row + 2}" if kind in ("csv", "tsv") else f"row {row}"


def listing(names, most=12):
    names = [str(n) for n in names]
    return ", ".join(names[:most]) + (f", … ({len(names)} in all)" if len(names) > most else "")


def check_choices(missing, categorical):
    """DatasetError for a value of dataset.missing or dataset.categorical that is not allowed."""
    for key, value, allowed in (("missing", missing, MISSING),
                                ("categorical", categorical, CATEGORICAL)):
        if value not in allowed:
            raise DatasetError(key, value, f"must be one of {', '.join(sorted(allowed))}")


def columns_of(frame, kind, given, file, label, features, missing="error", categorical="onehot"):
    """The Columns of a table; every check names the key that decides it and the column."""
    check_choices(missing, categorical)
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if label not in columns:
        raise DatasetError("label", label,
                           f"no such column in {file} (columns: {listing(columns)})")
    text_hint = ("dataset.categorical=onehot one-hot encodes it" + (
        "" if features is not None else ", dataset.features=[…] leaves it out"))
    if features is not None:
        chosen = [features] if isinstance(features, str) else [str(c) for c in features]
        if not chosen:
            raise DatasetError("features", chosen, "must name at least one column (null: every "
                                                   "column but the label)")
        for column in chosen:
            if column not in columns:
                raise DatasetError("features", chosen, f"no column {column!r} in {file} "
                                                       f"(columns: {listing(columns)})")
            if column == label:
                raise DatasetError("features", chosen, f"{column!r} is the label column")
            if chosen.count(column) > 1:
                raise DatasetError("features", chosen, f"{column!r} is listed twice")
        key, value = "features", chosen
    else:
        chosen = [c for c in columns if c != label]
        if not chosen:
            raise DatasetError("features", None, f"{file} has no column besides the label "
                                                 f"{label!r}")
        key, value = "path", given
    numeric, text = [], []
    for column in chosen:
        cell = _text_cell(frame[column])
        if cell is None:
            numeric.append(column)
            continue
        if _has_numbers(frame[column]):  # numbers and text: a typo, not a text column
            raise DatasetError(key, value, f"column {column!r} mixes numbers and text "
                               f"({cell[1]!r} on {_where(kind, cell[0])}); fix it, or choose "
                               "the feature columns with dataset.features=[…]")
        if categorical == "error":
            raise DatasetError("categorical", categorical, f"column {column!r} of {file} is text "
                               f"({cell[1]!r} on {_where(kind, cell[0])}); {text_hint}")
        text.append(column)
    used = [*chosen, label]
    empty = frame[used].isna().to_numpy()
    rows = empty.any(axis=1)
    if rows.any() and missing == "error":
        first = int(np.argmax(rows))
        column = used[int(np.argmax(empty[first]))]
        cells, n = int(empty.sum()), int(rows.sum())
        raise DatasetError("missing", missing, f"{file} has {cells} missing value"
                           f"{'s' * (cells > 1)} in {n} row{'s' * (n > 1)} (first: column "
                           f"{column!r}, {_where(kind, first)}); dataset.missing=drop drops "
                           "those rows")
    if rows.all():
        raise DatasetError("missing", missing, f"every row of {file} has an empty cell in "
                           f"{listing(used)}: nothing is left to train on")
    kept = frame.loc[~rows, used] if rows.any() else frame[used]
    X = (np.column_stack([kept[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in numeric])
         if numeric else np.empty((len(kept), 0)))
    infinite = np.isinf(X)
    if infinite.any():
        column = int(np.argmax(infinite.any(axis=0)))
        row = np.flatnonzero(~rows)[int(np.argmax(infinite[:, column]))]
        count = int(infinite[:, column].sum())
        raise DatasetError(key, value, f"column {numeric[column]!r} of {file} has {count} "
                           f"infinite value{'s' * (count > 1)} (first on {_where(kind, row)})")
    T = kept[text].astype(str).to_numpy(dtype=object).reshape(len(kept), len(text))
    return Columns(X, T, kept[label].to_numpy(), tuple(numeric), tuple(text), tuple(chosen),
                   int(rows.sum()))


def _text_cell(column):
    """(row, value) of the first cell of a column that is not a number, or None if it is numeric."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return None
    if pd.api.types.is_string_dtype(column) or column.dtype == object:
        numbers = pd.to_numeric(column, errors="coerce")
        text = (numbers.isna() & column.notna()).to_numpy()
        if text.any():
            row = int(np.argmax(text))
            return row, column.iloc[row]
        return None if numbers.notna().any() or len(column) == 0 else (0, column.iloc[0])
    return (0, column.iloc[0]) if len(column) else (0, str(column.dtype))


def _has_numbers(column):
    import pandas as pd

    if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
        return False
    return bool(pd.to_numeric(column, errors="coerce").notna().any())


def arrays_of(arrays, estimated, given):
    """(X (m, n) float64, y (m,), None) of an .npz file's arrays {name: array}; estimated: a
    sample of a large file's (the lengths of X and y not compared). Every check names the array."""
    for key in ("X", "y"):
        if key not in arrays:
            raise DatasetError("path", given, f"has no array {key!r} (arrays: "
                               f"{listing(arrays) or 'none'}); dataset=npz needs X (m, "
                               "n_features) and y (m,)")
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2:
        raise DatasetError("path", given, f"X must be 2-D (m, n_features), not of shape {X.shape}")
    if y.ndim != 1:
        raise DatasetError("path", given, f"y must be 1-D (m,), not of shape {y.shape}")
    if not estimated and len(y) != len(X):
        raise DatasetError("path", given, f"X has {len(X)} rows but y has {len(y)}")
    if X.dtype.kind not in "biuf":
        raise DatasetError("path", given, f"X must be numeric, not of dtype {X.dtype}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        column = int(np.argmax(bad.any(axis=0)))
        row = int(np.argmax(bad[:, column]))
        count = int(bad[:, column].sum())
        raise DatasetError("path", given, f"column {column} of X has {count} missing or infinite "
                           f"value{'s' * (count > 1)} (first in row {row})")
    if y.dtype.kind == "f" and np.isnan(y).any():
        empty = np.isnan(y)
        raise DatasetError("path", given, f"y has {int(empty.sum())} missing labels "
                           f"(first in row {int(np.argmax(empty))})")
    return X, y, None
