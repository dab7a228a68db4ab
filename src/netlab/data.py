"""Datasets: scikit-learn's generators and bundled tables, three classic 2-D teaching sets, and the
user's own files (a CSV or Parquet table, an .npz of arrays X and y).

Every dataset is split the same way: a seeded, stratified train/validation/test split, then feature
standardisation fitted on the training part only. Labels of any type (strings too) become 0..k−1 in
sorted order; Dataset.classes keeps the original names. describe() says what a dataset will be —
rows, features, classes, content hash, memory — and checks it before anything runs, without
generating anything and reading a file at most once per process; load() builds it. A dataset that
cannot be used raises DatasetError, one line naming the key as a config spells it
(`dataset.label=species: no such column in iris.csv (columns: …)`). Nothing is downloaded.
Knows nothing of Hydra or MLflow.

Why one file of ~750 lines: it is the table of every dataset, with the one split and scaler they
all share; a dataset's generator, its description before loading and its checks belong together.
"""

import functools
import hashlib
import io
import math
import os
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a user's table is read
    import pandas


# ---------------------------------------------------------------- 2-D teaching sets
def make_flower(n_samples=400, noise=0.2, rng=None):
    """The 'planar' flower: an eight-petal rose, petals alternating between 2 classes.

    Returns X (2·(n_samples // 2), 2) and y of the same length.
    """
    rng = np.random.default_rng(rng)
    N, a = n_samples // 2, 4
    X, y = [], []
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + noise * rng.standard_normal(N)
        r = a * np.sin(4 * t) + noise * rng.standard_normal(N)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(N, j))
    return np.vstack(X), np.concatenate(y)


def make_xor(n_samples=500, noise=0.1, rng=None):
    """TensorFlow Playground's xor: the sign of x·y, labels flipped near the axes by noise.

    Returns X (n_samples, 2) and y (n_samples,).
    """
    rng = np.random.default_rng(rng)
    X = rng.uniform(-5, 5, (n_samples, 2))
    X += np.where(X > 0, 0.3, -0.3)  # padding: push points away from the axes
    shifted = X + noise * rng.uniform(-5, 5, (n_samples, 2))
    y = (shifted[:, 0] * shifted[:, 1] >= 0).astype(int)
    return X, y


def make_spiral(n_samples=500, noise=0.1, rng=None):
    """TensorFlow Playground's two interleaved spiral arms.

    Returns X (2·(n_samples // 2), 2) and y of the same length.
    """
    rng = np.random.default_rng(rng)
    N = n_samples // 2
    i = np.arange(N)
    X, y = [], []
    for j in range(2):
        r = 5 * i / N
        t = 1.75 * i / N * 2 * np.pi + j * np.pi
        x1 = r * np.sin(t) + noise * rng.uniform(-1, 1, N)
        x2 = r * np.cos(t) + noise * rng.uniform(-1, 1, N)
        X.append(np.column_stack([x1, x2]))
        y.append(np.full(N, j))
    return np.vstack(X), np.concatenate(y)


# ---------------------------------------------------------------- errors and descriptions
class DatasetError(ValueError):
    """A dataset that cannot be used; str() is one line: dataset.<key>=<value>: what is wrong."""

    def __init__(self, key, value, problem):
        self.key, self.value, self.problem = f"dataset.{key}", _shown(value), problem
        super().__init__(f"{self.key}={self.value}: {problem}")


def _shown(value):
    """A value as the command line spells it: null, [a,b], 0.2."""
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset will be once loaded, known before loading it (see describe())."""

    name: str
    n_rows: int
    n_features: int
    n_classes: int
    bytes: int  # memory load() needs: float64 rows × (features + label) × LOADED_COPIES
    content_hash: str | None = None  # a file's sha256 (16 hex digits); None: generated or too large
    path: str | None = None  # a file's absolute path
    classes: tuple | None = None  # the label's values, sorted (a file's; None for the others)
    estimated: bool = False  # a file larger than LARGE_FILE: rows, classes and bytes from a sample


def missing(name, key):
    """The DatasetError for a required key left without a value (`???` in a config)."""
    if key == "path" and name in FILES:
        what = FILE_KINDS[name]
        return DatasetError(key, "???", f"missing: dataset={name} needs dataset.path=<{what}>, "
                                        "relative to the directory the command runs in")
    return DatasetError(key, "???", f"missing: give dataset.{key}=<value>")


# ---------------------------------------------------------------- the table of datasets
class _Sklearn:
    """A function of sklearn.datasets, imported when first called: scikit-learn takes seconds to
    import, and describing a dataset (checking a config) needs only the table below."""

    def __init__(self, name):
        self.__module__, self.__name__ = "sklearn.datasets", name  # as the function names itself

    def __call__(self, *args, **kwargs):
        from sklearn import datasets

        return getattr(datasets, self.__name__)(*args, **kwargs)


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: its generator (or loader) and default parameters."""

    function: object
    defaults: dict = field(default_factory=dict)
    generated: bool = True  # False: a bundled table or a file (no n_samples)
    seeded_by: str | None = "random_state"  # how the function takes its seed: random_state, rng
    rows: object = None  # rows the generator makes for n_samples (None: n_samples)
    table: tuple | None = None  # a bundled table's (rows, features, rows of each class)


def _pairs(n_samples):
    return 2 * (n_samples // 2)


GENERATED = {
    "moons": Source(_Sklearn("make_moons"), {"n_samples": 500, "noise": 0.2}),
    "circles": Source(_Sklearn("make_circles"), {"n_samples": 500, "noise": 0.1, "factor": 0.5}),
    "blobs": Source(_Sklearn("make_blobs"),
                    {"n_samples": 500, "n_features": 2, "centers": 3, "cluster_std": 1.0}),
    "classification": Source(
        _Sklearn("make_classification"),
        {"n_samples": 500, "n_features": 2, "n_informative": 2, "n_redundant": 0,
         "n_classes": 2, "n_clusters_per_class": 1, "class_sep": 1.0, "flip_y": 0.01},
    ),
    "gaussian_quantiles": Source(
        _Sklearn("make_gaussian_quantiles"), {"n_samples": 500, "n_features": 2, "n_classes": 3}
    ),
    "flower": Source(make_flower, {"n_samples": 400, "noise": 0.2}, seeded_by="rng", rows=_pairs),
    "xor": Source(make_xor, {"n_samples": 500, "noise": 0.1}, seeded_by="rng"),
    "spiral": Source(make_spiral, {"n_samples": 500, "noise": 0.1}, seeded_by="rng", rows=_pairs),
}
TABLES = {  # with (rows, features, rows of each class), so configs are checked without loading
    "iris": Source(_Sklearn("load_iris"), generated=False, seeded_by=None,
                   table=(150, 4, (50, 50, 50))),
    "wine": Source(_Sklearn("load_wine"), generated=False, seeded_by=None,
                   table=(178, 13, (59, 71, 48))),
    "breast_cancer": Source(_Sklearn("load_breast_cancer"), generated=False, seeded_by=None,
                            table=(569, 30, (212, 357))),
    "digits": Source(_Sklearn("load_digits"), generated=False, seeded_by=None,
                     table=(1797, 64, (178, 182, 177, 183, 181, 182, 181, 179, 174, 180))),
}


def read_table(path, label="label", features=None):
    """A CSV, TSV or Parquet file's features X (m, n_features) and labels y (m,), as in the file."""
    table = _file_table("csv", path, label=label, features=features)
    return table.X, table.labels


def read_arrays(path):
    """An .npz file's arrays X (m, n_features) and y (m,) (allow_pickle=False)."""
    table = _file_table("npz", path)
    return table.X, table.labels


FILES = {  # the user's own data: path is required, relative to the directory the command runs in
    "csv": Source(read_table, {"path": None, "label": "label", "features": None}, generated=False,
                  seeded_by=None),
    "npz": Source(read_arrays, {"path": None}, generated=False, seeded_by=None),
}
FILE_KINDS = {"csv": "a .csv, .tsv or .parquet file", "npz": "an .npz file of arrays X and y"}
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}
READERS = {"csv": "pandas.read_csv", "tsv": "pandas.read_csv", "parquet": "pandas.read_parquet",
           "npz": "numpy.load"}
DATASETS = {**GENERATED, **TABLES, **FILES}

LARGE_FILE = 128 * 2**20  # bytes: describe() reads a larger file only in part (a sample, a header)
SAMPLE_BYTES = 2**20  # how much of a large CSV describe() reads to estimate its rows
CACHE_BYTES = 512 * 2**20  # files kept parsed in this process (least recently used dropped first)
LOADED_COPIES = 3  # float64 copies of the data load() holds at once: raw, split, standardised


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


# ---------------------------------------------------------------- reading the user's files
@dataclass(frozen=True, eq=False)
class _Contents:
    """A file as read: its table (pandas) or arrays (npz), the sha256 of its bytes, its rows."""

    content_hash: str | None
    frame: "pandas.DataFrame | None" = None
    arrays: dict | None = None
    n_rows: int = 0
    estimated: bool = False  # a sample of a large file: n_rows estimated (or from its header)


@dataclass(frozen=True, eq=False)
class _Table:
    """A file's usable content: features X (m, n), labels (m,) as in the file, and provenance."""

    kind: str  # csv, tsv, parquet or npz
    path: Path
    X: np.ndarray
    labels: np.ndarray
    feature_names: tuple | None
    content_hash: str | None
    n_rows: int
    estimated: bool


_CACHE = OrderedDict()  # (path, mtime, size) -> _Contents of the whole file


def _resolve(name, path):
    """The absolute path of a dataset file, checked to exist and to have a known suffix."""
    if path is None or path == "???":  # ???: OmegaConf's mark of a missing value
        raise missing(name, "path")
    full = Path(os.path.abspath(os.path.expanduser(str(path))))
    if not full.exists():
        raise DatasetError("path", path, f"no such file (looked for {full})")
    if not full.is_file():
        raise DatasetError("path", path, f"is not a file ({full})")
    kind = SUFFIXES.get(full.suffix.lower())
    if kind is None or (kind == "npz") != (name == "npz"):
        other = "npz" if kind == "npz" else "csv"
        hint = f"; dataset={other} reads it" if kind is not None else ""
        raise DatasetError("path", path, f"dataset={name} reads {FILE_KINDS[name]}{hint}")
    return full, kind


def _sha256(data):
    return hashlib.sha256(data).hexdigest()[:16]


def _streamed_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**24):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _file_hash(path, mtime_ns, size):
    return _streamed_sha256(path)


def file_hash(path):
    """The content hash of a file (sha256 of its bytes, 16 hex digits), computed once per
    version of the file in a process: what describe() leaves out for a large file."""
    stat = Path(path).stat()
    return _file_hash(str(path), stat.st_mtime_ns, stat.st_size)


def _first_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _parse(kind, source):
    """The table (DataFrame) or arrays (dict) in source, a path or a file-like object."""
    import pandas as pd  # here: a run on a built-in dataset does not import pandas (~0.4 s)

    if kind == "npz":
        with np.load(source, allow_pickle=False) as npz:
            return None, {key: npz[key] for key in npz.files}
    if kind == "parquet":
        return pd.read_parquet(source), None
    return pd.read_csv(source, sep="\t" if kind == "tsv" else ","), None


def _read(path, kind, given, whole=False):
    """A file's contents, parsed once per process (cached by path, mtime and size).

    A file larger than LARGE_FILE is read whole only when whole=True (load()), and then not kept;
    otherwise only a sample of it (see _sample).
    """
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    large = stat.st_size > LARGE_FILE
    try:
        if large and not whole:
            return _sample(path, kind, stat.st_size)
        if large:
            content_hash, source = _streamed_sha256(path), path
        else:
            raw = path.read_bytes()
            content_hash, source = _sha256(raw), io.BytesIO(raw)
        frame, arrays = _parse(kind, source)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        problem = f"cannot be read as {kind}: {_first_line(error)}"
        raise DatasetError("path", given, problem) from None
    n_rows = len(frame) if frame is not None else _npz_rows(arrays)
    contents = _Contents(content_hash, frame, arrays, n_rows)
    if not large:
        _CACHE[key] = contents
        while sum(k[2] for k in _CACHE) > CACHE_BYTES and len(_CACHE) > 1:
            _CACHE.popitem(last=False)
    return contents


def _npz_rows(arrays):
    X = arrays.get("X")
    return len(X) if X is not None and X.ndim >= 1 else 0


def _sample(path, kind, size):
    """The start of a large file, with its rows: exact from a Parquet footer or an .npz header,
    estimated from the size of a CSV (the bytes per row of its first SAMPLE_BYTES)."""
    if kind == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=10_000), None)
        frame = (batch if batch is not None else parquet.schema_arrow.empty_table()).to_pandas()
        return _Contents(None, frame, n_rows=parquet.metadata.num_rows, estimated=True)
    if kind == "npz":
        with zipfile.ZipFile(path) as archive:
            arrays, rows = {}, {}
            for member in archive.namelist():
                with archive.open(member) as f:
                    arrays[member.removesuffix(".npy")], rows[member] = _npy_head(f, 10_000)
        n_rows = rows.get("X.npy", 0)
        return _Contents(None, arrays=arrays, n_rows=n_rows, estimated=True)
    with open(path, "rb") as f:
        head = f.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1]
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(head), sep="\t" if kind == "tsv" else ",")
    header = head.find(b"\n") + 1
    per_row = (len(head) - header) / max(len(frame), 1)
    return _Contents(None, frame, n_rows=round((size - header) / per_row), estimated=True)


def _npy_head(f, rows):
    """(the first rows of the .npy array in file f, its number of rows), reading no further."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    n = shape[0] if shape else 1
    if fortran or not shape:
        return np.empty((0, *shape[1:]), dtype), n
    k = min(rows, n)
    per_row = dtype.itemsize * math.prod(shape[1:])
    return np.frombuffer(f.read(k * per_row), dtype).reshape(k, *shape[1:]), n


def _where(kind, row):
    """Where row (0-based, of the data) is in a file: a CSV's line, else the row index."""
    return f"line {row + 2}" if kind in ("csv", "tsv") else f"row {row}"


def _listing(names, most=12):
    names = [str(n) for n in names]
    return ", ".join(names[:most]) + (f", … ({len(names)} in all)" if len(names) > most else "")


def _file_table(name, path, label="label", features=None, whole=True):
    """The checked features and labels of the file dataset=name reads (DatasetError if unusable)."""
    full, kind = _resolve(name, path)
    contents = _read(full, kind, path, whole=whole)
    if kind == "npz":
        X, labels, feature_names = _arrays_of(contents, path)
    else:
        X, labels, feature_names = _columns_of(contents.frame, kind, path, full.name, label,
                                               features)
    return _Table(kind, full, X, labels, feature_names, contents.content_hash, contents.n_rows,
                  contents.estimated)


def _columns_of(frame, kind, given, file, label, features):
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


def _arrays_of(contents, given):
    """(X (m, n) float64, y (m,), None) of an .npz file's arrays; every check names the array."""
    arrays = contents.arrays
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
    if not contents.estimated and len(y) != len(X):
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


def _classes(labels, key, value, file):
    """(sorted classes, labels as 0..k−1) of labels of any type; at least two classes."""
    try:
        classes, y = np.unique(labels, return_inverse=True)
    except TypeError:  # mixed types (numbers and text): compare them as text
        classes, y = np.unique(labels.astype(str), return_inverse=True)
    if len(classes) < 2:
        only = f" ({classes[0]!r})" if len(classes) else ""
        raise DatasetError(key, value, f"one class only{only} in {file}: needs at least 2")
    return tuple(classes.tolist()), y.reshape(-1)


# ---------------------------------------------------------------- describing and checking
def n_classes_of(name, params):
    """How many classes the named dataset has with these generator parameters."""
    source = DATASETS[name]
    if source.table is not None:
        return len(source.table[2])
    if name == "blobs":
        centers = params.get("centers", 3)
        return centers if isinstance(centers, int) else len(centers)
    return params.get("n_classes", 2)


def split_sizes(n_samples, test_size, val_size):
    """(n_train, n_val, n_test) for fractions test_size and val_size of n_samples."""
    n_test = math.ceil(test_size * n_samples)
    n_val = math.ceil(val_size * n_samples)
    return n_samples - n_test - n_val, n_val, n_test


def smallest_splittable(n_classes, test_size, val_size, rows=None):
    """The fewest n_samples whose split leaves every part at least n_classes rows."""
    n = 1
    while min(split_sizes((rows or int)(n), test_size, val_size)) < n_classes:
        n += 1
    return n


def least_per_part(counts, test_size, val_size):
    """Rows each class surely gets in (train, val, test), (3, k), of load()'s split, any seed.

    load() splits off the test part, then the validation part, each with scikit-learn's stratified
    split, which gives a class at least the floor of its share of a part's rows (its share rounded
    up at most).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    _, n_val, n_test = split_sizes(n, test_size, val_size)
    test = counts * n_test // n
    rest = counts - -(-counts * n_test // n)  # the least each class keeps for train and val
    n_rest = n - n_test
    val = rest * n_val // n_rest if n_rest else rest * 0
    train = rest * (n_rest - n_val) // n_rest if n_rest else rest * 0
    return np.stack([train, val, test])


def _check_sizes(test_size, val_size):
    for key, value in (("test_size", test_size), ("val_size", val_size)):
        if not (isinstance(value, int | float) and 0 < value < 1):
            raise DatasetError(key, value, "must be a number in (0, 1)")
    if test_size + val_size >= 1:
        raise DatasetError("val_size", val_size, f"must be less than 1 - test_size = "
                           f"{1 - test_size:g} (so the training part is not empty)")


def _check_classes(counts, classes, test_size, val_size, label_key, label_value, where):
    """DatasetError unless every class surely has a row in every part of the split."""
    counts = np.asarray(counts)
    n = int(counts.sum())
    sizes = dict(zip(("train", "validation", "test"), split_sizes(n, test_size, val_size),
                     strict=True))
    fewest = int(np.argmin(counts))
    if counts[fewest] < 3:
        raise DatasetError(label_key, label_value, f"class {classes[fewest]!r} has "
                           f"{counts[fewest]} of {n} rows in {where} ({len(counts)} classes): too "
                           "few for one in each of train, validation and test")
    least = least_per_part(counts, test_size, val_size)
    for part, key, value in (("test", "test_size", test_size),
                             ("validation", "val_size", val_size),
                             ("train", "val_size", val_size)):
        row = {"train": 0, "validation": 1, "test": 2}[part]
        short = np.flatnonzero(least[row] < 1)
        if len(short):
            i = short[np.argmin(counts[short])]
            raise DatasetError(key, value, f"the {part} part ({sizes[part]} of {n} rows) may get "
                               f"no row of class {classes[i]!r} ({counts[i]} rows in {where}); "
                               "every class needs one in train, validation and test")


def _check_params(name, source, params):
    """DatasetError for a parameter the named dataset does not take."""
    for key, value in params.items():
        if key not in source.defaults:
            if source.table is not None:
                raise DatasetError(key, value, f"{name} is a fixed table: it takes no {key} "
                                               "(only test_size, val_size)")
            takes = ", ".join([*source.defaults, "test_size", "val_size"])
            raise DatasetError(key, value, f"dataset={name} takes no {key} (it takes {takes})")


def _source(name):
    if name not in DATASETS:
        raise DatasetError("name", name, f"must be one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def _bytes(n_rows, n_features):
    return LOADED_COPIES * n_rows * (n_features + 1) * 8


def describe(name, test_size=0.2, val_size=0.2, **params):
    """What the named dataset will be once loaded (a DatasetInfo); raises DatasetError if unusable.

    Generates nothing; reads a file once per process (load() reuses it), a large one only in part.
    """
    source = _source(name)
    _check_params(name, source, params)
    _check_sizes(test_size, val_size)
    if name in FILES:
        return _describe_file(name, test_size, val_size, **params)
    if source.table is not None:
        n_rows, n_features, counts = source.table
        classes = tuple(range(len(counts)))
        _check_classes(counts, classes, test_size, val_size, "name", name, name)
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


def _describe_file(name, test_size, val_size, path=None, label="label", features=None):
    table = _file_table(name, path, label=label, features=features, whole=False)
    key, value = ("label", label) if name == "csv" else ("path", path)
    if table.estimated and not len(table.labels):  # a Fortran-ordered .npz: no sample of y
        classes, y = (), None
    else:
        classes, y = _classes(table.labels, key, value, table.path.name)
    if not table.estimated:
        _check_classes(np.bincount(y), classes, test_size, val_size, key, value, table.path.name)
    n_features = table.X.shape[1]
    return DatasetInfo(name, table.n_rows, n_features, len(classes),
                       _bytes(table.n_rows, n_features), table.content_hash, str(table.path),
                       classes if not table.estimated else None, table.estimated)


# ---------------------------------------------------------------- generating, splitting, loading
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


def load(name, seed=0, test_size=0.2, val_size=0.2, **params):
    """The named dataset, split train/val/test (stratified, seeded) and standardised on train.

    params override the generator's defaults (n_samples, noise, …), or name a file and its columns
    (path, label, features); seed fixes generation and split. Raises DatasetError (a ValueError).
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    source = _source(name)
    _check_params(name, source, params)
    _check_sizes(test_size, val_size)
    if name not in FILES:
        describe(name, test_size, val_size, **params)  # a file is checked as it is read, below
    generate_seed, split_seed = np.random.SeedSequence(seed).generate_state(2)
    table = None
    if name in FILES:
        table = _file_table(name, **params)
        key, value = ("label", params.get("label", "label")) if name == "csv" else ("path",
                                                                                    params["path"])
        X = table.X
        classes, y = _classes(table.labels, key, value, table.path.name)
        _check_classes(np.bincount(y), classes, test_size, val_size, key, value, table.path.name)
    else:
        X, y = generate(name, int(generate_seed), **params)
        classes, y = np.unique(y, return_inverse=True)
        classes = tuple(classes.tolist())
    n_classes = int(y.max()) + 1
    _, n_val, n_test = split_sizes(X.shape[0], test_size, val_size)
    split_rng = np.random.RandomState(int(split_seed))
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=n_test, stratify=y, random_state=split_rng
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=n_val, stratify=y_rest, random_state=split_rng
    )
    for part, labels in (("train", y_train), ("validation", y_val), ("test", y_test)):
        if len(np.unique(labels)) < n_classes:  # the stratified split's guarantee, made sure of
            raise DatasetError("test_size" if part == "test" else "val_size",
                               test_size if part == "test" else val_size,
                               f"leaves the {part} part without a row of every class")
    scaler = StandardScaler().fit(X_train)
    X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))
    if table is not None:
        described = {"generator": READERS[table.kind], "path": str(table.path)}
        if name == "csv":
            described.update(label=params.get("label", "label"),
                             features=list(table.feature_names))
        described.update(content_hash=table.content_hash, classes=list(classes))
    else:
        function = source.function
        module = function.__module__
        if module.startswith("sklearn"):
            module = "sklearn.datasets"
        described = {"generator": f"{module}.{function.__name__}",
                     **({**source.defaults, **params} if source.generated else {})}
    return Dataset(
        name=name,
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test, y_test=y_test,
        n_features=X.shape[1], n_classes=n_classes, is_2d=X.shape[1] == 2,
        mean=scaler.mean_, scale=scaler.scale_,
        params={**described, "rows": X.shape[0], "test_size": test_size, "val_size": val_size,
                "seed": seed},
        classes=classes,
        content_hash=table.content_hash if table is not None else None,
        feature_names=table.feature_names if table is not None else None,
    )
