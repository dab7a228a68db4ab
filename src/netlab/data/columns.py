"""A user's file made into checked features X (m, n) float64 and labels (m,): a table's columns
(CSV, TSV, Parquet) or an .npz's arrays X and y. Every problem is one DatasetError naming the column
or array and the first line or row where it is."""

import numpy as np

from netlab.data.errors import DatasetError


def _where(kind, row):
    """Where row (0-based, of the data) is in a file: a CSV's line, else the row index."""
    return f"line {row + 2}" if kind in ("csv", "tsv") else f"row {row}"


def _listing(names, most=12):
    names = [str(n) for n in names]
    return ", ".join(names[:most]) + (f", … ({len(names)} in all)" if len(names) > most else "")

def columns_of(frame, kind, given, file, label, features):
    """(X (m, n) float64, labels (m,), feature names) of a table; every check names the column."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if label not in columns:
        raise DatasetError("label", label,
                           f"no such column in {file} (columns: {_listing(columns)})")
    if features is not None:
        chosen = [features] if isinstance(features, str) else [str(c) for c in features]
        if not chosen:
            raise DatasetError("features", chosen, "must name at least one column (null: every "
                                                   "column but the label that is numeric)")
        for column in chosen:
            if column not in columns:
                raise DatasetError("features", chosen, f"no column {column!r} in {file} "
                                                       f"(columns: {_listing(columns)})")
            if column == label:
                raise DatasetError("features", chosen, f"{column!r} is the label column")
            if chosen.count(column) > 1:
                raise DatasetError("features", chosen, f"{column!r} is listed twice")
            text = _text_cell(frame[column])
            if text is not None:
                raise DatasetError("features", chosen, f"column {column!r} of {file} is not "
                                   f"numeric ({text[1]!r} on {_where(kind, text[0])})")
        key, value = "features", chosen
    else:
        chosen = []
        for column in columns:
            if column == label:
                continue
            text = _text_cell(frame[column])
            if text is None:
                chosen.append(column)
            elif _has_numbers(frame[column]):  # numbers and text: a typo, not a text column
                raise DatasetError("path", given, f"column {column!r} mixes numbers and text "
                                   f"({text[1]!r} on {_where(kind, text[0])}); fix it, or choose "
                                   "the feature columns with dataset.features=[…]")
        if not chosen:
            raise DatasetError("features", None, f"{file} has no numeric column besides the label "
                                                 f"{label!r} (columns: {_listing(columns)})")
        key, value = "path", given
    X = np.column_stack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in chosen])
    bad = ~np.isfinite(X)
    if bad.any():
        column = int(np.argmax(bad.any(axis=0)))
        row = int(np.argmax(bad[:, column]))
        count = int(bad[:, column].sum())
        raise DatasetError(key, value, f"column {chosen[column]!r} of {file} has {count} missing "
                           f"or infinite value{'s' * (count > 1)} (first on {_where(kind, row)})")
    labels = frame[label]
    empty = labels.isna().to_numpy()
    if empty.any():
        count = int(empty.sum())
        rows = f"{count} rows of {file} have" if count > 1 else f"1 row of {file} has"
        raise DatasetError("label", label, f"{rows} no {label!r} "
                           f"(first on {_where(kind, int(np.argmax(empty)))})")
    return X, labels.to_numpy(), tuple(chosen)


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
                               f"{_listing(arrays) or 'none'}); dataset=npz needs X (m, "
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
